/**
 * QRESYNC after the expunge log was pruned (store.change_log_days): a client whose modseq is
 * older than the kept history still learns every expunged uid (RFC 7162 §3.2.5.2: VANISHED
 * (EARLIER) may name uids the client never had), and never a uid that still exists.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { seed, startServer, type TestServer } from "./helpers.ts";

describe("IMAP QRESYNC with a pruned expunge log", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  it("SELECT (QRESYNC) and UID FETCH (VANISHED) from before the pruned range report every absent uid", async () => {
    await t.store.createMailbox(t.accountId, "Pr");
    await seed(t, "Pr", 6);
    const a = await t.login();
    await a.cmd("ENABLE QRESYNC");
    let r = await a.cmd("SELECT Pr");
    // expunged before the client's state: known to it, but no longer provably so once pruned
    await a.cmd("UID STORE 1 +FLAGS.SILENT (\\Deleted)");
    await a.cmd("EXPUNGE");
    r = await a.cmd("SELECT Pr");
    const uidv = /UIDVALIDITY (\d+)/.exec(r.text)![1]!;
    const base = /HIGHESTMODSEQ (\d+)/.exec(r.text)![1]!;
    await a.cmd("UID STORE 2,4 +FLAGS.SILENT (\\Deleted)");
    await a.cmd("EXPUNGE");
    r = await a.cmd("SELECT Pr");
    const mid = /HIGHESTMODSEQ (\d+)/.exec(r.text)![1]!;
    // before pruning the answer is exact: only what was expunged after `base`
    r = await a.cmd(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${base} VANISHED)`);
    assert.equal(r.lines[0], "* VANISHED (EARLIER) 2,4");
    await a.cmd("LOGOUT");
    await new Promise((res) => setTimeout(res, 5));
    await t.store.pruneHistory(new Date());

    const c = await t.login();
    await c.cmd("ENABLE QRESYNC");
    r = await c.cmd(`SELECT Pr (QRESYNC (${uidv} ${base} 1:6))`);
    assert.ok(r.ok, r.text);
    // every uid below UIDNEXT that is gone, including 1 (expunged before `base`): the pruned
    // log cannot tell which of them the client already knows
    assert.ok(r.lines.includes("* VANISHED (EARLIER) 1:2,4"), r.text);
    r = await c.cmd(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${base} VANISHED)`);
    assert.equal(r.lines[0], "* VANISHED (EARLIER) 1:2,4");
    // from the state after the expunge (at the pruning floor) the answer is exact: nothing vanished
    r = await c.cmd(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${mid} VANISHED)`);
    assert.ok(!r.lines.some((l) => l.startsWith("* VANISHED")), r.text);
    // a later expunge is logged again and reported precisely
    await c.cmd("UID STORE 6 +FLAGS.SILENT (\\Deleted)");
    await c.cmd("UID EXPUNGE 6");
    const d = await t.login();
    await d.cmd("ENABLE QRESYNC");
    r = await d.cmd(`SELECT Pr (QRESYNC (${uidv} ${mid}))`);
    assert.ok(r.lines.includes("* VANISHED (EARLIER) 6"), r.text);
  });
});
