/**
 * THREAD=REFS (draft-ietf-morg-inthread §4) transcripts: the REFERENCES links without subject
 * gathering, threads ordered by their newest message, search criteria, UID THREAD, ties, and the
 * error cases.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, startServer, type TestServer } from "./helpers.ts";
import { D, fill } from "./thread-fixtures.ts";

describe("IMAP THREAD=REFS", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer();
    c = await t.login();
    // the same messages as thread.test.ts's Thread mailbox (seq 1..8)
    await fill(t, "Thread", [
      /* 1 */ { subject: "lunch", date: D(3), id: "<1@x>" },
      /* 2 */ { subject: "Re: lunch", date: D(4), id: "<2@x>", refs: "<1@x>" },
      /* 3 */ { subject: "Re: lunch", date: D(6), id: "<3@x>", refs: "<1@x> <2@x>", flags: ["\\Seen"] },
      // 5 Jan 09:00 -0300 = 12:00 UTC: after seq 2, before seq 3
      /* 4 */ { subject: "Re: lunch", date: D(5, "09:00:00 -0300"), id: "<4@x>", irt: "<1@x>" },
      /* 5 */ { subject: "report", date: D(1), id: "<5@x>" },
      /* 6 */ { subject: "Re: gone", date: D(7), id: "<6@x>", refs: "<missing@x>" },
      /* 7 */ { subject: "Re: gone", date: D(8), id: "<7@x>", refs: "<missing@x>" },
      // no Date header: the internal date (2 Jan); same base subject as 5 but no reference
      /* 8 */ { subject: "RE: report", id: "<8@x>", internal: new Date(Date.UTC(2024, 0, 2)) },
    ]);
    // an old thread with a new reply, and a newer thread nobody answered
    await fill(t, "Active", [
      /* 1 */ { subject: "old", date: D(1), id: "<o@x>" },
      /* 2 */ { subject: "newer", date: D(2), id: "<n@x>" },
      /* 3 */ { subject: "Re: old", date: D(9), id: "<o2@x>", refs: "<o@x>" },
      // same newest date as seq 3: the tie goes by that message's mailbox order
      /* 4 */ { subject: "tie", date: D(9), id: "<t@x>" },
    ]);
    // uids 1..3 expunged first, so uids differ from sequence numbers
    await fill(t, "Uids", [
      { subject: "x", date: D(1), id: "<x1@x>" },
      { subject: "x", date: D(1), id: "<x2@x>" },
      { subject: "x", date: D(1), id: "<x3@x>" },
      { subject: "start", date: D(2), id: "<s@x>" },
      { subject: "other", date: D(4), id: "<u@x>" },
      { subject: "Re: start", date: D(5), id: "<r@x>", refs: "<s@x>" },
    ]);
    const u = (await t.store.getMailbox(t.accountId, "Uids"))!;
    await t.store.expunge(u.id, [1, 2, 3]);
  });
  after(async () => {
    await t.close();
  });

  it("advertises THREAD=REFS next to the RFC 5256 algorithms", async () => {
    const r = await c.cmd("CAPABILITY");
    assert.match(r.lines[0]!, / THREAD=REFERENCES THREAD=REFS /);
  });

  it("REFS: reference links as REFERENCES, no subject gathering, threads by their newest message", async () => {
    assert.ok((await c.cmd("SELECT Thread")).ok);
    const r = await c.cmd("THREAD REFS UTF-8 ALL");
    assert.ok(r.ok, r.tagged);
    // 5 (1 Jan) and 8 (2 Jan) share a base subject but no reference: two threads; the lunch
    // thread's newest message is 3 (6 Jan), the dummy's is 7 (8 Jan)
    assert.deepEqual(r.lines, ["* THREAD (5)(8)(1 (2 3)(4))((6)(7))"]);
    // the same mailbox under REFERENCES gathers 8 under 5 (step 5): the two really differ
    assert.deepEqual((await c.cmd("THREAD REFERENCES UTF-8 ALL")).lines, [
      "* THREAD (5 8)(1 (2 3)(4))((6)(7))",
    ]);
  });

  it("REFS: an old thread with a new reply sorts after a newer thread without one", async () => {
    assert.ok((await c.cmd("SELECT Active")).ok);
    const r = await c.cmd("THREAD REFS UTF-8 ALL");
    assert.deepEqual(r.lines, ["* THREAD (2)(1 3)(4)"]);
    // REFERENCES orders by the root's date instead
    assert.deepEqual((await c.cmd("THREAD REFERENCES UTF-8 ALL")).lines, ["* THREAD (1 3)(2)(4)"]);
  });

  it("REFS with search criteria threads the matches only (the newest among them)", async () => {
    assert.ok((await c.cmd("SELECT Thread")).ok);
    // without the \Seen 3, the lunch thread's newest is 4 (5 Jan 12:00 UTC)
    const r = await c.cmd("THREAD REFS UTF-8 UNSEEN");
    assert.deepEqual(r.lines, ["* THREAD (5)(8)(1 (2)(4))((6)(7))"]);
    const none = await c.cmd("THREAD REFS UTF-8 SUBJECT nothing-matches");
    assert.ok(none.ok);
    assert.deepEqual(none.lines, ["* THREAD"]);
  });

  it("UID THREAD REFS answers uids, THREAD REFS sequence numbers", async () => {
    assert.ok((await c.cmd("SELECT Uids")).ok);
    assert.deepEqual((await c.cmd("THREAD REFS UTF-8 ALL")).lines, ["* THREAD (2)(1 3)"]);
    assert.deepEqual((await c.cmd("UID THREAD REFS UTF-8 ALL")).lines, ["* THREAD (5)(4 6)"]);
  });

  it("errors: no charset BAD, unknown charset NO [BADCHARSET], no mailbox BAD", async () => {
    assert.match((await c.cmd("THREAD REFS")).tagged, /^\S+ BAD /);
    assert.match((await c.cmd("THREAD REFS UTF-8")).tagged, /^\S+ BAD /);
    assert.match((await c.cmd("THREAD REFS KOI8-R ALL")).tagged, /NO \[BADCHARSET \(UTF-8\)\]/);
    const other = await t.login();
    assert.match((await other.cmd("THREAD REFS UTF-8 ALL")).tagged, /^\S+ BAD /);
  });
});
