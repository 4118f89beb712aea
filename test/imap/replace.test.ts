/**
 * REPLACE and UID REPLACE (RFC 8508) over a real socket: same mailbox, across mailboxes, the UID
 * form, and the failures that must leave the original message in place.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, seed, startServer, type TestServer } from "./helpers.ts";

/** the command text with the message as a non-synchronizing literal (RFC 7888) */
function replaceCmd(head: string, msg: string): string {
  return `${head} {${Buffer.byteLength(msg)}+}\r\n${msg}`;
}

async function subjects(c: Client): Promise<string[]> {
  const r = await c.cmd("FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
  assert.ok(r.ok, r.text);
  const out: string[] = [];
  for (const l of r.text.split("\r\n")) {
    const uid = /UID (\d+)/.exec(l);
    if (uid) out.push(`uid ${uid[1]}`);
    const sub = /^Subject: (.*)$/.exec(l);
    if (sub) out[out.length - 1] += ` ${sub[1]}`;
  }
  return out;
}

describe("IMAP REPLACE (RFC 8508)", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer();
    await seed(t, "Drafts", 3);
    c = await t.login();
    assert.ok((await c.cmd("SELECT Drafts")).ok);
  });
  after(async () => {
    await t.close();
  });

  it("is advertised", async () => {
    const r = await c.cmd("CAPABILITY");
    assert.match(r.lines[0]!, / REPLACE( |$)/);
  });

  it("replaces within the selected mailbox: APPENDUID, then EXPUNGE, then EXISTS", async () => {
    const r = await c.cmd(
      replaceCmd("REPLACE 2 Drafts (\\Draft \\Seen)", message("draft v2", "new text\r\n")),
    );
    assert.ok(r.ok, r.text);
    assert.match(r.lines[0]!, /^\* OK \[APPENDUID \d+ 4\] /);
    assert.equal(r.lines[1], "* 2 EXPUNGE");
    assert.ok(r.lines.includes("* 3 EXISTS"), r.text);
    assert.deepEqual(await subjects(c), ["uid 1 msg 1", "uid 3 msg 3", "uid 4 draft v2"]);
    const f = await c.cmd("UID FETCH 4 (FLAGS)");
    assert.match(f.lines[0]!, /FLAGS \([^)]*\\Draft/);
    assert.match(f.lines[0]!, /FLAGS \([^)]*\\Seen/);
  });

  it("UID REPLACE names the message by UID", async () => {
    const r = await c.cmd(replaceCmd("UID REPLACE 4 Drafts", message("draft v3")));
    assert.ok(r.ok, r.text);
    assert.match(r.lines[0]!, /^\* OK \[APPENDUID \d+ 5\] /);
    assert.equal(r.lines[1], "* 3 EXPUNGE");
    assert.deepEqual(await subjects(c), ["uid 1 msg 1", "uid 3 msg 3", "uid 5 draft v3"]);
  });

  it("replaces across mailboxes: appended in the target, expunged from the source", async () => {
    const before = await c.cmd("STATUS Archive (MESSAGES UIDNEXT)");
    const next = Number(/UIDNEXT (\d+)/.exec(before.lines[0]!)![1]);
    const r = await c.cmd(replaceCmd("REPLACE 1 Archive", message("filed")));
    assert.ok(r.ok, r.text);
    assert.match(r.lines[0]!, new RegExp(`^\\* OK \\[APPENDUID \\d+ ${next}\\] `));
    assert.equal(r.lines[1], "* 1 EXPUNGE");
    assert.deepEqual(await subjects(c), ["uid 3 msg 3", "uid 5 draft v3"]);
    const st = await c.cmd("STATUS Archive (MESSAGES UIDNEXT)");
    assert.match(st.lines[0]!, new RegExp(`UIDNEXT ${next + 1}`));
    const w = await t.login();
    await w.cmd("EXAMINE Archive");
    assert.deepEqual((await subjects(w)).at(-1), `uid ${next} filed`);
  });

  it("a nonexistent target mailbox: NO [TRYCREATE], the original stays", async () => {
    const r = await c.cmd(replaceCmd("REPLACE 1 Nowhere", message("lost?")));
    assert.match(r.tagged, /NO \[TRYCREATE\]/);
    assert.deepEqual(r.lines, []);
    assert.deepEqual(await subjects(c), ["uid 3 msg 3", "uid 5 draft v3"]);
  });

  it("a failing append (over quota) leaves the original", async () => {
    const acc = (await t.store.getAccountById(t.accountId))!;
    await t.store.updateAccount("alice@example.com", { quotaBytes: acc.usedBytes + 10 });
    try {
      const big = message("too big", `${"x".repeat(2000)}\r\n`);
      const r = await c.cmd(replaceCmd("REPLACE 1 Drafts", big));
      assert.match(r.tagged, /NO \[OVERQUOTA\]/);
      assert.deepEqual(r.lines, []);
      assert.deepEqual(await subjects(c), ["uid 3 msg 3", "uid 5 draft v3"]);
      // the old message's octets count as freed: a replacement of the same size fits
      const same = await c.cmd(replaceCmd("UID REPLACE 3 Drafts", message("msg 3", "body number 3\r\n")));
      assert.ok(same.ok, same.text);
      assert.deepEqual(await subjects(c), ["uid 5 draft v3", "uid 6 msg 3"]);
    } finally {
      await t.store.updateAccount("alice@example.com", { quotaBytes: 0 });
    }
    assert.equal((await t.store.getAccountById(t.accountId))!.usedMessages, acc.usedMessages);
  });

  it("errors: sequence number out of range NO, unknown UID NO, read-only NO, malformed BAD", async () => {
    // RFC 8508 §3.2 Result: NO when the specified message cannot be removed
    let r = await c.cmd(replaceCmd("REPLACE 9 Drafts", message("x")));
    assert.match(r.tagged, /^\S+ NO \[NONEXISTENT\] /);
    r = await c.cmd(replaceCmd("UID REPLACE 999 Drafts", message("x")));
    assert.match(r.tagged, /^\S+ NO /);
    r = await c.cmd("REPLACE 1 Drafts");
    assert.match(r.tagged, /^\S+ BAD /);
    r = await c.cmd(replaceCmd("REPLACE 1:2 Drafts", message("x")));
    assert.match(r.tagged, /^\S+ BAD /);
    r = await c.cmd(replaceCmd("REPLACE 0 Drafts", message("x")));
    assert.match(r.tagged, /^\S+ BAD /);
    assert.deepEqual(await subjects(c), ["uid 5 draft v3", "uid 6 msg 3"]);
    const w = await t.login();
    r = await w.cmd(replaceCmd("REPLACE 1 Drafts", message("x")));
    assert.match(r.tagged, /^\S+ BAD /, "not in authenticated state");
    await w.cmd("EXAMINE Drafts");
    r = await w.cmd(replaceCmd("REPLACE 1 Drafts", message("x")));
    assert.match(r.tagged, /NO \[READ-ONLY\]/);
    assert.deepEqual(await subjects(c), ["uid 5 draft v3", "uid 6 msg 3"]);
  });

  it("under CONDSTORE the tagged OK carries HIGHESTMODSEQ (RFC 8508 §4.5, as UID EXPUNGE)", async () => {
    const k = await t.login();
    assert.ok((await k.cmd("SELECT Drafts (CONDSTORE)")).ok);
    const r = await k.cmd(replaceCmd("REPLACE 1 Drafts", message("draft v4")));
    assert.ok(r.ok, r.text);
    const hms = /OK \[HIGHESTMODSEQ (\d+)\] REPLACE completed/.exec(r.tagged);
    assert.ok(hms, r.tagged);
    const f = await k.cmd("FETCH 1:* (MODSEQ)");
    const highest = Math.max(...f.lines.map((l) => Number(/MODSEQ \((\d+)\)/.exec(l)?.[1] ?? 0)));
    assert.equal(Number(hms[1]), highest, f.text);
  });

  it("store.replace: the old message gone means nothing is appended", async () => {
    const mb = (await t.store.getMailbox(t.accountId, "Drafts"))!;
    await assert.rejects(
      t.store.replace(t.accountId, mb.id, 999, mb.id, { raw: Buffer.from(message("ghost")) }),
      /no such message/,
    );
    const after = (await t.store.getMailbox(t.accountId, "Drafts"))!;
    assert.equal(after.uidNext, mb.uidNext);
  });
});
