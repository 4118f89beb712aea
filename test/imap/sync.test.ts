import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { message, seed, startServer, type TestServer } from "./helpers.ts";

describe("IMAP multi-session sync: expunge rules, IDLE, CONDSTORE/QRESYNC", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  it("EXPUNGE from another session is deferred during FETCH/STORE/SEARCH and delivered at NOOP", async () => {
    await t.store.createMailbox(t.accountId, "Sync1");
    await seed(t, "Sync1", 4);
    const a = await t.login();
    const b = await t.login();
    await a.cmd("SELECT Sync1");
    await b.cmd("SELECT Sync1");
    await b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)");
    const ex = await b.cmd("EXPUNGE");
    assert.deepEqual(ex.lines, ["* 2 EXPUNGE"]);
    // session A: no EXPUNGE while FETCH/STORE/SEARCH; old sequence numbers stay valid
    let r = await a.cmd("FETCH 1:4 (UID)");
    assert.ok(r.ok);
    assert.ok(!r.lines.some((l) => /EXPUNGE/.test(l)), r.text);
    assert.match(r.tagged, /OK/);
    assert.ok(r.lines.includes("* 4 FETCH (UID 4)"), r.text);
    r = await a.cmd("SEARCH ALL");
    assert.ok(!r.lines.some((l) => /EXPUNGE/.test(l)));
    assert.deepEqual(r.lines, ["* SEARCH 1 3 4"]); // 2 is gone from the store but its number is kept
    r = await a.cmd("STORE 4 +FLAGS (\\Seen)");
    assert.ok(!r.lines.some((l) => /EXPUNGE/.test(l)));
    assert.ok(
      r.lines.some((l) => /^\* 4 FETCH \(FLAGS \(\\Seen \\Recent\)\)$/.test(l)), // A selected first
      r.text,
    );
    // UID FETCH may deliver it
    r = await a.cmd("UID FETCH 1 (FLAGS)");
    assert.ok(r.lines.includes("* 2 EXPUNGE"), r.text);
    r = await a.cmd("FETCH 1:* (UID)");
    assert.deepEqual(r.lines, ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)", "* 3 FETCH (UID 4)"]);
    // and NOOP delivers the next one, flag changes and new messages
    await b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    await b.cmd("EXPUNGE");
    await b.cmd("STORE 1 +FLAGS.SILENT (\\Flagged)");
    await b.append("Sync1", message("new one"));
    r = await a.cmd("FETCH 1 UID");
    // EXISTS and flag changes may come during FETCH, EXPUNGE not
    assert.ok(!r.lines.some((l) => /EXPUNGE/.test(l)), r.text);
    assert.ok(r.lines.includes("* 4 EXISTS"), r.text);
    assert.ok(
      r.lines.some((l) => /^\* 2 FETCH \(FLAGS \(\\Flagged \\Recent\)\)$/.test(l)),
      r.text,
    );
    r = await a.cmd("NOOP");
    assert.deepEqual(r.lines, ["* 1 EXPUNGE"]);
    r = await a.cmd("FETCH 1:* (UID)");
    assert.deepEqual(r.lines, ["* 1 FETCH (UID 3)", "* 2 FETCH (UID 4)", "* 3 FETCH (UID 5)"]);
  });

  it("IDLE pushes EXISTS, FETCH and EXPUNGE from another session at once", async () => {
    await t.store.createMailbox(t.accountId, "Idle");
    await seed(t, "Idle", 2);
    const a = await t.login();
    const b = await t.login();
    await a.cmd("SELECT Idle");
    await b.cmd("SELECT Idle");
    a.write("I1 IDLE\r\n");
    assert.match(await a.readLine(), /^\+ /);
    await b.append("Idle", message("pushed"));
    assert.equal(await a.readLine(), "* 3 EXISTS");
    // A claimed 1 and 2 at SELECT; the new one goes to whichever session refreshes first
    assert.match(await a.readLine(), /^\* [23] RECENT$/);
    await b.cmd("STORE 1 +FLAGS (\\Answered)");
    assert.equal(await a.readLine(), "* 1 FETCH (FLAGS (\\Answered \\Recent))");
    await b.cmd("STORE 2 +FLAGS (\\Deleted)");
    assert.equal(await a.readLine(), "* 2 FETCH (FLAGS (\\Deleted \\Recent))");
    await b.cmd("EXPUNGE");
    assert.equal(await a.readLine(), "* 2 EXPUNGE");
    a.write("DONE\r\n");
    const done = await a.readLine();
    assert.match(done, /^I1 OK/);
    // IDLE answered with BAD for anything but DONE
    a.write("I2 IDLE\r\n");
    await a.readLine();
    a.write("NOPE\r\n");
    assert.match(await a.readLine(), /^I2 BAD/);
  });

  it("IDLE waits without a pending command: DONE split across packets, an over-long line, then the next command", async () => {
    await t.store.createMailbox(t.accountId, "Split");
    const mb = (await t.store.getMailbox(t.accountId, "Split"))!;
    const a = await t.login();
    await a.cmd("SELECT Split");
    a.write("S1 IDLE\r\n");
    assert.match(await a.readLine(), /^\+ /);
    // an over-long line (limit 8192) is refused, and the session is still in IDLE
    a.write(`${"x".repeat(9000)}\r\n`);
    assert.match(await a.readLine(), /^\* BAD/);
    await t.store.append(t.accountId, mb.id, { raw: Buffer.from(message("while idle")) });
    assert.equal(await a.readLine(), "* 1 EXISTS");
    assert.equal(await a.readLine(), "* 1 RECENT"); // IMAP4rev1 session
    a.write("DO");
    await new Promise((r) => setTimeout(r, 50));
    a.write("NE\r\nS2 NOOP\r\n");
    assert.match(await a.readLine(), /^S1 OK IDLE terminated/);
    assert.match(await a.readLine(), /^S2 OK/);
    // a second IDLE on the same connection works the same
    a.write("S3 IDLE\r\n");
    assert.match(await a.readLine(), /^\+ /);
    a.write("done\r\n");
    assert.match(await a.readLine(), /^S3 OK/);
  });

  it("IDLE pushes every committed append, in order (latency is measured by npm run bench)", async () => {
    await t.store.createMailbox(t.accountId, "Fast");
    const mb = (await t.store.getMailbox(t.accountId, "Fast"))!;
    const a = await t.login();
    await a.cmd("ENABLE IMAP4rev2");
    await a.cmd("SELECT Fast");
    a.write("P1 IDLE\r\n");
    await a.readLine();
    for (let i = 1; i <= 25; i++) {
      const raw = Buffer.from(message(`fast ${i}`));
      const r = await t.store.append(t.accountId, mb.id, { raw });
      assert.equal(await a.readLine(), `* ${i} EXISTS`);
      assert.ok(r.uid === i);
    }
    a.write("DONE\r\n");
    assert.match(await a.readLine(), /^P1 OK/);
  });

  it("CONDSTORE: MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ", async () => {
    await t.store.createMailbox(t.accountId, "Cond");
    await seed(t, "Cond", 3);
    const a = await t.login();
    let r = await a.cmd("SELECT Cond (CONDSTORE)");
    const hms = /HIGHESTMODSEQ (\d+)/.exec(r.text);
    assert.ok(hms);
    const base = BigInt(hms[1]!);
    r = await a.cmd("FETCH 1 (FLAGS)");
    assert.match(r.lines[0]!, /^\* 1 FETCH \(FLAGS \(\\Recent\) MODSEQ \(\d+\)\)$/);
    r = await a.cmd("STORE 2 +FLAGS (\\Seen)");
    const m2 = BigInt(/MODSEQ \((\d+)\)/.exec(r.lines[0]!)![1]!);
    assert.ok(m2 > base);
    r = await a.cmd(`FETCH 1:* (UID) (CHANGEDSINCE ${base})`);
    assert.deepEqual(r.lines, [`* 2 FETCH (UID 2 MODSEQ (${m2}))`]);
    r = await a.cmd(`STORE 1:2 (UNCHANGEDSINCE ${base}) +FLAGS (\\Flagged)`);
    assert.match(r.tagged, /OK \[MODIFIED 2\]/);
    assert.equal(r.lines.length, 1);
    assert.match(r.lines[0]!, /^\* 1 FETCH \(FLAGS \(\\Flagged \\Recent\) MODSEQ/);
    r = await a.cmd(`SEARCH MODSEQ ${m2}`);
    assert.match(r.lines[0]!, /^\* SEARCH 1 2 \(MODSEQ \d+\)$/);
    r = await a.cmd("STATUS Cond (HIGHESTMODSEQ MESSAGES)");
    assert.match(r.lines[0]!, /HIGHESTMODSEQ \d+ MESSAGES 3/);
  });

  it("QRESYNC: ENABLE, SELECT with VANISHED (EARLIER), UID FETCH VANISHED, VANISHED on expunge", async () => {
    await t.store.createMailbox(t.accountId, "Qr");
    await seed(t, "Qr", 5);
    const a = await t.login();
    let r = await a.cmd("SELECT Qr (QRESYNC (1 1))");
    assert.match(r.tagged, /BAD/);
    r = await a.cmd("ENABLE QRESYNC");
    assert.deepEqual(r.lines, ["* ENABLED QRESYNC"]);
    r = await a.cmd("SELECT Qr");
    const uidv = /UIDVALIDITY (\d+)/.exec(r.text)![1]!;
    const base = /HIGHESTMODSEQ (\d+)/.exec(r.text)![1]!;
    const b = await t.login();
    await b.cmd("SELECT Qr");
    await b.cmd("STORE 1:2 +FLAGS.SILENT (\\Deleted)");
    await b.cmd("EXPUNGE");
    assert.ok((await b.cmd("UID STORE 4 +FLAGS.SILENT (\\Seen)")).ok);
    r = await a.cmd("NOOP");
    assert.ok(r.lines.includes("* VANISHED 1:2"), r.text);
    assert.ok(
      r.lines.some((l) => /^\* 2 FETCH \(UID 4 FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)$/.test(l)),
      r.text,
    );
    r = await a.cmd(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${base} VANISHED)`);
    assert.equal(r.lines[0], "* VANISHED (EARLIER) 1:2");
    assert.match(r.lines[1]!, /^\* 2 FETCH \(UID 4 FLAGS \(\\Seen \\Recent\) MODSEQ/);
    // reconnect and resync
    const c = await t.login();
    await c.cmd("ENABLE QRESYNC");
    r = await c.cmd(`SELECT Qr (QRESYNC (${uidv} ${base} 1:5))`);
    assert.ok(r.ok, r.text);
    assert.ok(r.lines.includes("* VANISHED (EARLIER) 1:2"), r.text);
    assert.ok(
      r.lines.some((l) => /^\* 2 FETCH \(UID 4 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$/.test(l)),
      r.text,
    );
    // switching mailboxes announces CLOSED
    r = await c.cmd("SELECT INBOX");
    assert.equal(r.lines[0], "* OK [CLOSED] Previous mailbox closed");
    // own expunge answered with VANISHED
    await a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    r = await a.cmd("EXPUNGE");
    assert.ok(r.lines.includes("* VANISHED 3"), r.text);
    assert.match(r.tagged, /OK \[HIGHESTMODSEQ \d+\]/);
  });
});
