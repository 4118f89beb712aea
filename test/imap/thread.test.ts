/**
 * THREAD / UID THREAD (RFC 5256) transcripts: ORDEREDSUBJECT and REFERENCES, missing parents,
 * loops in References, search criteria, the error cases, and a 5,000-deep reply chain.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, startServer, type TestServer } from "./helpers.ts";
import { D, fill, type Msg } from "./thread-fixtures.ts";

describe("IMAP THREAD (RFC 5256)", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer();
    c = await t.login();
    // the Thread mailbox: seq 1..8
    await fill(t, "Thread", [
      /* 1 */ { subject: "lunch", date: D(3), id: "<1@x>" },
      /* 2 */ { subject: "Re: lunch", date: D(4), id: "<2@x>", refs: "<1@x>" },
      /* 3 */ { subject: "Re: lunch", date: D(6), id: "<3@x>", refs: "<1@x> <2@x>", flags: ["\\Seen"] },
      // an earlier sent date in another zone: 5 Jan 09:00 -0300 = 12:00 UTC, before seq 3
      /* 4 */ { subject: "Re: lunch", date: D(5, "09:00:00 -0300"), id: "<4@x>", irt: "<1@x>" },
      /* 5 */ { subject: "report", date: D(1), id: "<5@x>" },
      // parent never received: both replies hang under a dummy
      /* 6 */ { subject: "Re: gone", date: D(7), id: "<6@x>", refs: "<missing@x>" },
      /* 7 */ { subject: "Re: gone", date: D(8), id: "<7@x>", refs: "<missing@x>" },
      // no Date header: sorts by the internal date (2 Jan)
      /* 8 */ { subject: "RE: report", id: "<8@x>", internal: new Date(Date.UTC(2024, 0, 2)) },
    ]);
    // uids 1..3 expunged first, so uids differ from sequence numbers
    await fill(t, "Uids", [
      { subject: "x", date: D(1), id: "<x1@x>" },
      { subject: "x", date: D(1), id: "<x2@x>" },
      { subject: "x", date: D(1), id: "<x3@x>" },
      { subject: "start", date: D(2), id: "<s@x>" },
      { subject: "Re: start", date: D(3), id: "<r@x>", refs: "<s@x>" },
    ]);
    const u = (await t.store.getMailbox(t.accountId, "Uids"))!;
    await t.store.expunge(u.id, [1, 2, 3]);
  });
  after(async () => {
    await t.close();
  });

  it("advertises THREAD=ORDEREDSUBJECT and THREAD=REFERENCES", async () => {
    const r = await c.cmd("CAPABILITY");
    assert.match(r.lines[0]!, / THREAD=ORDEREDSUBJECT THREAD=REFERENCES /);
  });

  it("THREAD REFERENCES: links, In-Reply-To, sent-date order across zones, dummy for a missing parent", async () => {
    assert.ok((await c.cmd("SELECT Thread")).ok);
    const r = await c.cmd("THREAD REFERENCES UTF-8 ALL");
    assert.ok(r.ok, r.tagged);
    // report (1 Jan) gathers its reply 8 by subject; lunch: 2 → 3 and 4 (5 Jan 12:00 UTC < 6 Jan)
    assert.deepEqual(r.lines, ["* THREAD (5 8)(1 (2 3)(4))((6)(7))"]);
  });

  it("THREAD ORDEREDSUBJECT: grouped by base subject, threads by first sent date", async () => {
    const r = await c.cmd("THREAD ORDEREDSUBJECT US-ASCII ALL");
    assert.ok(r.ok, r.tagged);
    assert.deepEqual(r.lines, ["* THREAD (5 8)(1 (2)(4)(3))(6 7)"]);
  });

  it("THREAD with search criteria threads the matches only", async () => {
    const r = await c.cmd("THREAD REFERENCES UTF-8 UNSEEN SUBJECT lunch");
    assert.deepEqual(r.lines, ["* THREAD (1 (2)(4))"]);
    const none = await c.cmd("THREAD ORDEREDSUBJECT UTF-8 SUBJECT nothing-matches");
    assert.ok(none.ok);
    assert.deepEqual(none.lines, ["* THREAD"]);
  });

  it("UID THREAD answers uids, THREAD sequence numbers", async () => {
    assert.ok((await c.cmd("SELECT Uids")).ok);
    assert.deepEqual((await c.cmd("THREAD REFERENCES UTF-8 ALL")).lines, ["* THREAD (1 2)"]);
    assert.deepEqual((await c.cmd("UID THREAD REFERENCES UTF-8 ALL")).lines, ["* THREAD (4 5)"]);
    assert.deepEqual((await c.cmd("UID THREAD ORDEREDSUBJECT UTF-8 UID 5")).lines, ["* THREAD (5)"]);
  });

  it("errors: unknown algorithm BAD, unknown charset NO [BADCHARSET], malformed BAD, no mailbox BAD", async () => {
    const alg = await c.cmd("THREAD X-NOSUCH UTF-8 ALL");
    assert.match(alg.tagged, /^\S+ BAD /);
    assert.deepEqual(alg.lines, []);
    assert.match((await c.cmd("THREAD REFERENCES KOI8-R ALL")).tagged, /NO \[BADCHARSET \(UTF-8\)\]/);
    assert.match((await c.cmd("THREAD REFERENCES")).tagged, /^\S+ BAD /);
    assert.match((await c.cmd("THREAD REFERENCES UTF-8 NOSUCHKEY")).tagged, /^\S+ BAD /);
    const other = await t.login();
    assert.match((await other.cmd("THREAD REFERENCES UTF-8 ALL")).tagged, /^\S+ BAD /);
  });

  it("loops in References do not hang or lose messages", async () => {
    await fill(t, "Loops", [
      { subject: "a", date: D(1), id: "<a@x>", refs: "<b@x>" },
      { subject: "b", date: D(2), id: "<b@x>", refs: "<a@x>" },
      { subject: "c", date: D(3), id: "<c@x>", refs: "<c@x>" },
      { subject: "d", date: D(4), id: "<d@x>", refs: "<e@x> <d@x> <e@x>" },
    ]);
    assert.ok((await c.cmd("SELECT Loops")).ok);
    const r = await c.cmd("THREAD REFERENCES UTF-8 ALL");
    assert.ok(r.ok, r.tagged);
    assert.deepEqual(r.lines, ["* THREAD (2 1)(3)(4)"]);
  });

  it("a 5,000-deep reply chain is answered (no stack overflow)", async () => {
    const n = 5000;
    const msgs: Msg[] = [];
    for (let i = 1; i <= n; i++) {
      msgs.push({
        subject: i === 1 ? "deep" : "Re: deep",
        date: D(
          1,
          `${String(Math.floor(i / 3600) % 24).padStart(2, "0")}:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${String(i % 60).padStart(2, "0")} +0000`,
        ),
        id: `<d${i}@x>`,
        ...(i > 1 ? { irt: `<d${i - 1}@x>` } : {}),
      });
    }
    await fill(t, "Deep", msgs);
    assert.ok((await c.cmd("SELECT Deep")).ok);
    const r = await c.cmd("THREAD REFERENCES UTF-8 ALL", 60_000);
    assert.ok(r.ok, r.tagged);
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0], `* THREAD (${Array.from({ length: n }, (_, i) => i + 1).join(" ")})`);
    const o = await c.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL", 60_000);
    assert.match(o.lines[0]!, /^\* THREAD \(1 \(2\)\(3\)/);
  });
});
