/**
 * \Recent transcripts (RFC 3501 §2.3.2, §6.3.1, §6.3.2, §6.4.4, §7.3.2): a message is recent in
 * exactly one session, the first read-write session that sees it; EXAMINE looks without
 * claiming; IMAP4rev2 sessions (RFC 9051) have no \Recent at all.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { message, seed, startServer, type TestServer } from "./helpers.ts";

let box = 0;

describe("IMAP \\Recent (RFC 3501)", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ limits: { maxConnectionsPerIp: 1000, maxConnectionsPerUser: 1000 } });
  });
  after(async () => {
    await t.close();
  });

  async function freshBox(n: number): Promise<string> {
    const name = `R${++box}`;
    await t.store.createMailbox(t.accountId, name);
    await seed(t, name, n);
    return name;
  }

  const mailboxId = async (name: string) => (await t.store.getMailbox(t.accountId, name))!.id;
  const recentLine = (lines: string[]) => lines.find((l) => / RECENT$/.test(l));

  it("the first SELECT gets RECENT n, a second session 0; STATUS RECENT counts unclaimed", async () => {
    const name = await freshBox(3);
    const s0 = await t.login();
    assert.match((await s0.cmd(`STATUS ${name} (RECENT MESSAGES)`)).lines[0]!, /RECENT 3 MESSAGES 3\)$/);
    const a = await t.login();
    const ra = await a.cmd(`SELECT ${name}`);
    assert.equal(recentLine(ra.lines), "* 3 RECENT");
    const b = await t.login();
    const rb = await b.cmd(`SELECT ${name}`);
    assert.equal(recentLine(rb.lines), "* 0 RECENT");
    assert.match((await s0.cmd(`STATUS ${name} (RECENT)`)).lines[0]!, /RECENT 0\)$/);
    // FETCH FLAGS shows \Recent in A only
    assert.deepEqual((await a.cmd("FETCH 1:2 (FLAGS)")).lines, [
      "* 1 FETCH (FLAGS (\\Recent))",
      "* 2 FETCH (FLAGS (\\Recent))",
    ]);
    assert.deepEqual((await b.cmd("FETCH 1:2 (FLAGS)")).lines, [
      "* 1 FETCH (FLAGS ())",
      "* 2 FETCH (FLAGS ())",
    ]);
    // the bulk path (UID FETCH 1:* (UID FLAGS)) agrees
    assert.deepEqual((await a.cmd("UID FETCH 1:* (UID FLAGS)")).lines, [
      "* 1 FETCH (UID 1 FLAGS (\\Recent))",
      "* 2 FETCH (UID 2 FLAGS (\\Recent))",
      "* 3 FETCH (UID 3 FLAGS (\\Recent))",
    ]);
    // a reselect in A: recent was used up by A's first SELECT
    const again = await a.cmd(`SELECT ${name}`);
    assert.equal(recentLine(again.lines), "* 0 RECENT");
    assert.deepEqual((await a.cmd("FETCH 1 (FLAGS)")).lines, ["* 1 FETCH (FLAGS ())"]);
  });

  it("EXAMINE shows \\Recent without claiming; a later SELECT still gets them", async () => {
    const name = await freshBox(2);
    const a = await t.login();
    const ex = await a.cmd(`EXAMINE ${name}`);
    assert.equal(recentLine(ex.lines), "* 2 RECENT");
    assert.deepEqual((await a.cmd("FETCH 1 (FLAGS)")).lines, ["* 1 FETCH (FLAGS (\\Recent))"]);
    const b = await t.login();
    assert.equal(recentLine((await b.cmd(`SELECT ${name}`)).lines), "* 2 RECENT");
    const c = await t.login();
    assert.equal(recentLine((await c.cmd(`EXAMINE ${name}`)).lines), "* 0 RECENT");
  });

  it("a delivery while two sessions are selected is recent in exactly one of them", async () => {
    const name = await freshBox(1);
    const a = await t.login();
    const b = await t.login();
    assert.equal(recentLine((await a.cmd(`SELECT ${name}`)).lines), "* 1 RECENT");
    assert.equal(recentLine((await b.cmd(`SELECT ${name}`)).lines), "* 0 RECENT");
    for (let i = 0; i < 3; i++)
      await t.store.append(t.accountId, await mailboxId(name), { raw: Buffer.from(message(`d${i}`)) });
    // both learn of the new messages; the RECENT counts add up to the number delivered
    const na = await a.cmd("NOOP");
    const nb = await b.cmd("NOOP");
    assert.ok(na.lines.includes("* 4 EXISTS"), na.text);
    assert.ok(nb.lines.includes("* 4 EXISTS"), nb.text);
    const ca = Number(/^\* (\d+) RECENT$/.exec(recentLine(na.lines) ?? "")?.[1]);
    const cb = Number(/^\* (\d+) RECENT$/.exec(recentLine(nb.lines) ?? "")?.[1]);
    assert.equal(ca - 1 + cb, 3, `${na.text}\n${nb.text}`);
    const ra = (await a.cmd("SEARCH RECENT")).lines[0]!;
    const rb = (await b.cmd("SEARCH RECENT")).lines[0]!;
    const set = (l: string) =>
      l
        .replace(/^\* SEARCH ?/, "")
        .split(" ")
        .filter(Boolean)
        .map(Number);
    const union = [...set(ra), ...set(rb)].sort((x, y) => x - y);
    assert.deepEqual(union, [1, 2, 3, 4], `${ra} / ${rb}`);
  });

  it("SEARCH NEW = RECENT UNSEEN, OLD = NOT RECENT; EXPUNGE lowers the count", async () => {
    const name = await freshBox(2);
    const a = await t.login();
    await a.cmd(`SELECT ${name}`);
    const mb = await mailboxId(name);
    await t.store.append(t.accountId, mb, { raw: Buffer.from(message("late")) });
    await t.store.append(t.accountId, mb, { raw: Buffer.from(message("late seen")), flags: ["\\Seen"] });
    const n = await a.cmd("NOOP");
    assert.deepEqual(
      n.lines.filter((l) => /EXISTS|RECENT/.test(l)),
      ["* 4 EXISTS", "* 4 RECENT"],
    );
    const b = await t.login();
    await b.cmd(`SELECT ${name}`);
    assert.deepEqual((await a.cmd("SEARCH NEW")).lines, ["* SEARCH 1 2 3"]);
    assert.deepEqual((await b.cmd("SEARCH NEW")).lines, ["* SEARCH"]);
    assert.deepEqual((await b.cmd("SEARCH OLD")).lines, ["* SEARCH 1 2 3 4"]);
    await a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    await a.cmd("EXPUNGE");
    const more = await t.store.append(t.accountId, mb, { raw: Buffer.from(message("one more")) });
    const r = await a.cmd("NOOP");
    assert.ok(r.lines.includes("* 4 EXISTS"), r.text);
    assert.ok(r.lines.includes("* 4 RECENT"), r.text); // 3 left + the new one
    assert.deepEqual((await a.cmd(`UID SEARCH UID ${more.uid} RECENT`)).lines, [`* SEARCH ${more.uid}`]);
  });

  it("IMAP4rev2 sessions have no \\Recent and claim nothing", async () => {
    const name = await freshBox(2);
    const a = await t.login();
    await a.cmd("ENABLE IMAP4rev2");
    const s = await a.cmd(`SELECT ${name}`);
    assert.equal(recentLine(s.lines), undefined);
    assert.deepEqual((await a.cmd("FETCH 1 (FLAGS)")).lines, ["* 1 FETCH (FLAGS ())"]);
    assert.deepEqual((await a.cmd("UID FETCH 1:* (FLAGS)")).lines, [
      "* 1 FETCH (UID 1 FLAGS ())",
      "* 2 FETCH (UID 2 FLAGS ())",
    ]);
    // a rev1 session afterwards still gets them
    const b = await t.login();
    assert.equal(recentLine((await b.cmd(`SELECT ${name}`)).lines), "* 2 RECENT");
  });

  it("bulk FETCH right after SELECT sees changes committed in between (SELECT rows reused only when current)", async () => {
    const name = await freshBox(3);
    const a = await t.login();
    const b = await t.login();
    await b.cmd("ENABLE IMAP4rev2");
    await b.cmd(`SELECT ${name}`);
    await a.cmd("ENABLE IMAP4rev2");
    await a.cmd(`SELECT ${name}`);
    await t.store.storeFlags(await mailboxId(name), [2], "add", ["\\Flagged"]);
    const f = await a.cmd("UID FETCH 1:* (FLAGS)");
    assert.ok(f.lines.includes("* 2 FETCH (UID 2 FLAGS (\\Flagged))"), f.text);
    // unchanged: the reused rows give the same answer as a fresh read
    await a.cmd(`SELECT ${name}`);
    const g = await a.cmd("UID FETCH 1:* (FLAGS)");
    await a.cmd("NOOP");
    const h = await a.cmd("UID FETCH 1:* (FLAGS)");
    assert.deepEqual(g.lines, h.lines);
    assert.deepEqual(g.lines, [
      "* 1 FETCH (UID 1 FLAGS ())",
      "* 2 FETCH (UID 2 FLAGS (\\Flagged))",
      "* 3 FETCH (UID 3 FLAGS ())",
    ]);
  });

  it("APPEND to the selected mailbox and the unsolicited FETCH carry \\Recent", async () => {
    const name = await freshBox(0);
    const a = await t.login();
    await a.cmd(`SELECT ${name}`);
    const ap = await a.append(name, message("mine"));
    assert.ok(ap.lines.includes("* 1 EXISTS"), ap.text);
    assert.ok(ap.lines.includes("* 1 RECENT"), ap.text);
    const b = await t.login();
    await b.cmd(`SELECT ${name}`);
    await b.cmd("STORE 1 +FLAGS (\\Flagged)");
    const n = await a.cmd("NOOP");
    assert.ok(n.lines.includes("* 1 FETCH (FLAGS (\\Flagged \\Recent))"), n.text);
  });
});
