import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { message, PASS, seed, startServer, type TestServer, USER } from "./helpers.ts";

describe("IMAP basic session", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  it("greets with capabilities and logs in", async () => {
    const c = await t.connect();
    assert.match(c.greeting, /^\* OK \[CAPABILITY [^\]]*IMAP4rev2[^\]]*AUTH=PLAIN/);
    const cap = await c.cmd("CAPABILITY");
    assert.ok(cap.ok);
    assert.match(cap.lines[0]!, /^\* CAPABILITY .*IMAP4rev1 IMAP4rev2/);
    assert.doesNotMatch(cap.lines[0]!, /IDLE/);
    const bad = await c.cmd(`LOGIN ${USER} wrong`);
    assert.match(bad.tagged, /NO \[AUTHENTICATIONFAILED\]/);
    const r = await c.cmd(`LOGIN ${USER} ${PASS}`);
    assert.match(r.tagged, /OK \[CAPABILITY [^\]]*IDLE[^\]]*QRESYNC/);
    const l = await c.cmd("LOGOUT");
    assert.match(l.lines[0]!, /^\* BYE/);
    assert.ok(l.ok);
  });

  it("selects INBOX and fetches", async () => {
    await seed(t, "INBOX", 3);
    const c = await t.login();
    const s = await c.cmd("SELECT INBOX");
    assert.ok(s.ok, s.text);
    assert.match(s.tagged, /\[READ-WRITE\]/);
    assert.ok(s.lines.includes("* 3 EXISTS"));
    // RFC 3501 §2.3.2: the first read-write session claims the new messages as \Recent
    assert.ok(s.lines.includes("* 3 RECENT"), s.text);
    assert.ok(s.lines.some((l) => /^\* OK \[UIDVALIDITY \d+\]/.test(l)));
    const f = await c.cmd("FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)");
    assert.ok(f.ok, f.text);
    assert.equal(f.lines.length, 3);
    assert.match(f.lines[0]!, /^\* 1 FETCH \(UID \d+ FLAGS \(\\Recent\) RFC822.SIZE \d+ ENVELOPE \(/);
    const b = await c.cmd("FETCH 2 BODY[]");
    assert.match(b.lines[0]!, /^\* 2 FETCH \(BODY\[\] \{\d+\}\r\nFrom: Alice/);
    assert.match(b.lines[0]!, /FLAGS \(\\Seen \\Recent\)\)$/);
    const a = await c.append("INBOX", message("appended"), "\\Flagged");
    assert.match(a.tagged, /OK \[APPENDUID \d+ 4\]/);
    assert.ok(a.lines.includes("* 4 EXISTS"), a.text);
  });

  it("ENVELOPE / BODYSTRUCTURE alone: UID and MODSEQ added as the session needs, expunged messages left out", async () => {
    await t.store.createMailbox(t.accountId, "Structures");
    await seed(t, "Structures", 3);
    const c = await t.login();
    await c.cmd("ENABLE CONDSTORE");
    assert.ok((await c.cmd("SELECT Structures")).ok);
    const f = await c.cmd("FETCH 1:3 (ENVELOPE BODYSTRUCTURE)");
    assert.ok(f.ok, f.text);
    assert.equal(f.lines.length, 3);
    // RFC 7162 §3.1.4.1: with CONDSTORE enabled every FETCH response carries MODSEQ
    assert.match(f.lines[1]!, /^\* 2 FETCH \(ENVELOPE \(.*\) BODYSTRUCTURE \(.*\) MODSEQ \(\d+\)\)$/);
    // UID FETCH adds UID when not asked for (RFC 9051 §6.4.9)
    const u = await c.cmd("UID FETCH 1:* (BODY)");
    assert.match(u.lines[0]!, /^\* 1 FETCH \(UID 1 BODY \(.*\) MODSEQ \(\d+\)\)$/);
    // another session expunges message 2; this one has not been told (FETCH may not announce it)
    const other = await t.login();
    await other.cmd("SELECT Structures");
    await other.cmd("STORE 2 +FLAGS (\\Deleted)");
    assert.ok((await other.cmd("EXPUNGE")).ok);
    const g = await c.cmd("FETCH 1:3 (ENVELOPE)");
    // RFC 9051 §7.1: the gone message is left out and the tagged OK says EXPUNGEISSUED
    assert.deepEqual(
      g.lines.filter((l) => l.includes("FETCH")).map((l) => l.slice(0, 12)),
      ["* 1 FETCH (E", "* 3 FETCH (E"],
    );
    assert.match(g.tagged, /^\S+ OK \[EXPUNGEISSUED\]/);
    const h = await c.cmd("UID FETCH 1:3 (ENVELOPE)");
    assert.doesNotMatch(h.tagged, /EXPUNGEISSUED/);
    await other.cmd("LOGOUT");
  });
});
