/**
 * CATENATE (RFC 4469) over a real socket: TEXT parts, URLs of whole messages and of sections
 * (absolute path, full imap:// URL, relative to the selected mailbox), in MULTIAPPEND, and the
 * failures: [BADURL], [TOOBIG], [UNKNOWN-CTE], BAD for malformed syntax — none stores anything.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, startServer, type TestServer, USER } from "./helpers.ts";

/** a TEXT part as a non-synchronizing literal (RFC 7888) */
function text(s: string | Buffer, binary = false): string {
  return `TEXT ${binary ? "~" : ""}{${Buffer.byteLength(s)}+}\r\n${s.toString("latin1")}`;
}

const MULTI =
  "From: a@example.org\r\nSubject: multi\r\nMIME-Version: 1.0\r\n" +
  'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
  "--b1\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n" +
  "--b1\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n" +
  "--b1--\r\n";

async function appended(t: TestServer, mailbox: string, tagged: string): Promise<Buffer[]> {
  const m = /\[APPENDUID \d+ ([\d:,]+)\]/.exec(tagged);
  assert.ok(m, tagged);
  const mb = (await t.store.getMailbox(t.accountId, mailbox))!;
  const uids: number[] = [];
  for (const r of m[1]!.split(",")) {
    const [a, b] = r.split(":").map(Number);
    for (let u = a!; u <= (b ?? a!); u++) uids.push(u);
  }
  return Promise.all(uids.map(async (u) => Buffer.from(await t.store.readMessage(mb.id, u))));
}

async function count(t: TestServer, mailbox: string): Promise<number> {
  const mb = (await t.store.getMailbox(t.accountId, mailbox))!;
  return (await t.store.mailboxCounts(mb.id)).messages;
}

describe("IMAP CATENATE (RFC 4469)", () => {
  let t: TestServer;
  let c: Client;
  let inbox: { id: number; uidValidity: number };
  let plainUid: number;
  let multiUid: number;
  const PLAIN = message("plain one", "plain body\r\n");
  before(async () => {
    t = await startServer();
    const mb = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    inbox = { id: mb.id, uidValidity: mb.uidValidity };
    plainUid = (await t.store.append(t.accountId, mb.id, { raw: Buffer.from(PLAIN), flags: [] })).uid;
    multiUid = (await t.store.append(t.accountId, mb.id, { raw: Buffer.from(MULTI), flags: [] })).uid;
    c = await t.login();
  });
  after(async () => {
    await t.close();
  });

  it("is advertised", async () => {
    const r = await c.cmd("CAPABILITY");
    assert.match(r.lines[0]!, / CATENATE( |$)/);
  });

  it("TEXT parts only: stored as their concatenation", async () => {
    const head = "From: x@example.org\r\nSubject: cat\r\n\r\n";
    const r = await c.cmd(`APPEND Drafts (\\Draft) CATENATE (${text(head)} ${text("body\r\n")})`);
    assert.ok(r.ok, r.text);
    assert.deepEqual((await appended(t, "Drafts", r.tagged)).map(String), [`${head}body\r\n`]);
  });

  it("TEXT + URL of a whole message (absolute path with UIDVALIDITY)", async () => {
    const head = "Subject: forwarded\r\nContent-Type: message/rfc822\r\n\r\n";
    const url = `/INBOX;UIDVALIDITY=${inbox.uidValidity}/;UID=${plainUid}`;
    const r = await c.cmd(`APPEND Drafts CATENATE (${text(head)} URL "${url}")`);
    assert.ok(r.ok, r.text);
    const raw = Buffer.from(await t.store.readMessage(inbox.id, plainUid));
    assert.deepEqual(await appended(t, "Drafts", r.tagged), [Buffer.concat([Buffer.from(head), raw])]);
  });

  it("URLs of sections: part body, part MIME header, top-level HEADER; full imap:// URL", async () => {
    const base = `imap://${encodeURIComponent(USER)}@imap.test/INBOX;UIDVALIDITY=${inbox.uidValidity}/;UID=${multiUid}`;
    const r = await c.cmd(
      `APPEND Drafts CATENATE (URL "/INBOX/;UID=${multiUid}/;SECTION=HEADER" ${text("--\r\n")} ` +
        `URL "${base}/;SECTION=2.MIME" URL "${base}/;SECTION=1" URL "/INBOX/;UID=${multiUid}/;SECTION=2/;PARTIAL=3.6")`,
    );
    assert.ok(r.ok, r.text);
    const [got] = await appended(t, "Drafts", r.tagged);
    const header = MULTI.slice(0, MULTI.indexOf("\r\n\r\n") + 4);
    assert.equal(got!.toString(), `${header}--\r\nContent-Type: text/html\r\n\r\nfirst partsecond`);
  });

  it("a relative URL resolves against the selected mailbox, and only with one selected", async () => {
    const w = await t.login();
    const before = await count(t, "Drafts");
    const n = await w.cmd(`APPEND Drafts CATENATE (URL ";UID=${plainUid}")`);
    assert.match(n.tagged, /^T\d+ NO \[BADURL ;UID=\d+\] /);
    assert.equal(await count(t, "Drafts"), before);
    assert.ok((await w.cmd("EXAMINE INBOX")).ok);
    const r = await w.cmd(`APPEND Drafts CATENATE (URL ";UID=${plainUid}/;SECTION=TEXT")`);
    assert.ok(r.ok, r.text);
    assert.deepEqual((await appended(t, "Drafts", r.tagged)).map(String), ["plain body\r\n"]);
  });

  it("a TEXT literal may be synchronizing: continuation requests inside the list", async () => {
    const tag = c.nextTag();
    c.write(`${tag} APPEND Drafts CATENATE (TEXT {12}\r\n`);
    assert.match(await c.readLine(), /^\+ /);
    c.write(`Subject: s\r\n TEXT {8}\r\n`);
    assert.match(await c.readLine(), /^\+ /);
    c.write("\r\nbody\r\n)\r\n");
    const r = await c.collect(tag);
    assert.ok(r.ok, r.text);
    assert.deepEqual((await appended(t, "Drafts", r.tagged)).map(String), ["Subject: s\r\n\r\nbody\r\n"]);
  });

  it("NO [BADURL] for a wrong UIDVALIDITY, a missing UID, section, mailbox, user or host, URLAUTH", async () => {
    const before = await count(t, "Drafts");
    const bad = [
      `/INBOX;UIDVALIDITY=${inbox.uidValidity + 1}/;UID=${plainUid}`,
      "/INBOX/;UID=9999",
      `/INBOX/;UID=${multiUid}/;SECTION=7`,
      `/NoSuchBox/;UID=${plainUid}`,
      `imap://bob%40example.com@imap.test/INBOX/;UID=${plainUid}`,
      `imap://${encodeURIComponent(USER)}@other.test/INBOX/;UID=${plainUid}`,
      `imap://${encodeURIComponent(USER)}@imap.test/INBOX/;UID=${plainUid};URLAUTH=anonymous:internal:0123`,
      "/INBOX/;UID=0",
      "not a url",
    ];
    for (const url of bad) {
      const r = await c.cmd(`APPEND Drafts CATENATE (${text("x: y\r\n\r\n")} URL "${url}")`);
      assert.match(r.tagged, /^T\d+ NO \[BADURL [^\]]+\] /, url);
    }
    const first = await c.cmd(`APPEND Drafts CATENATE (URL "${bad[0]}")`);
    assert.ok(first.tagged.includes(`[BADURL ${bad[0]}]`), first.tagged);
    assert.equal(await count(t, "Drafts"), before);
  });

  it("in MULTIAPPEND: all messages or none", async () => {
    const before = await count(t, "Drafts");
    const no = await c.cmd(
      `APPEND Drafts {${PLAIN.length}+}\r\n${PLAIN} CATENATE (${text("a: b\r\n\r\n")}) ` +
        `CATENATE (URL "/INBOX/;UID=9999")`,
    );
    assert.match(no.tagged, /NO \[BADURL /);
    assert.equal(await count(t, "Drafts"), before);
    const ok = await c.cmd(
      `APPEND Drafts {${PLAIN.length}+}\r\n${PLAIN} CATENATE (${text("a: b\r\n\r\n")} ` +
        `URL "/INBOX/;UID=${plainUid}/;SECTION=TEXT") (\\Seen) CATENATE (URL "/INBOX/;UID=${plainUid}")`,
    );
    assert.ok(ok.ok, ok.text);
    const got = await appended(t, "Drafts", ok.tagged);
    assert.deepEqual(got.map(String), [
      PLAIN,
      "a: b\r\n\r\nplain body\r\n",
      String(await t.store.readMessage(inbox.id, plainUid)),
    ]);
  });

  it("in REPLACE (RFC 8508 append-message): the replacement is assembled, the old one expunged", async () => {
    const w = await t.login();
    const first = await w.cmd(`APPEND Drafts CATENATE (${text("Subject: v1\r\n\r\nold\r\n")})`);
    const uid = /APPENDUID \d+ (\d+)/.exec(first.tagged)![1];
    assert.ok((await w.cmd("SELECT Drafts")).ok);
    const r = await w.cmd(
      `UID REPLACE ${uid} Drafts CATENATE (${text("Subject: v2\r\n\r\n")} URL "/INBOX/;UID=${plainUid}/;SECTION=TEXT")`,
    );
    assert.ok(r.ok, r.text);
    assert.deepEqual((await appended(t, "Drafts", r.lines[0]!)).map(String), [
      "Subject: v2\r\n\r\nplain body\r\n",
    ]);
    assert.ok(
      r.lines.some((l) => /^\* \d+ EXPUNGE$/.test(l)),
      r.text,
    );
    // a failing URL leaves the message in place
    const before = await count(t, "Drafts");
    const newUid = /APPENDUID \d+ (\d+)/.exec(r.lines[0]!)![1];
    const n = await w.cmd(`UID REPLACE ${newUid} Drafts CATENATE (URL "/INBOX/;UID=9999")`);
    assert.match(n.tagged, /NO \[BADURL /);
    assert.equal(await count(t, "Drafts"), before);
    w.destroy();
  });

  it("NO [UNKNOWN-CTE] for a NUL the message cannot hold (literal8 TEXT in the header)", async () => {
    const before = await count(t, "Drafts");
    const r = await c.cmd(`APPEND Drafts CATENATE (${text("X-A: a\0b\r\n\r\nbody\r\n", true)})`);
    assert.match(r.tagged, /NO \[UNKNOWN-CTE\]/);
    assert.equal(await count(t, "Drafts"), before);
  });

  it("BAD for malformed CATENATE syntax", async () => {
    for (const cmd of [
      "APPEND Drafts CATENATE ()",
      "APPEND Drafts CATENATE",
      'APPEND Drafts CATENATE (TEXT "not a literal")',
      "APPEND Drafts CATENATE (URL)",
      'APPEND Drafts CATENATE (FOO "x")',
      `APPEND Drafts CATENATE (URL "/INBOX/;UID=1"`,
      `APPEND Drafts CATENATE URL "/INBOX/;UID=1"`,
    ]) {
      // a fresh connection each: the session closes after maxBadCommands
      const w = await t.login();
      const r = await w.cmd(cmd);
      assert.match(r.tagged, /^T\d+ BAD /, cmd);
      w.destroy();
    }
  });
});

describe("IMAP CATENATE size limit", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer({ limits: { maxLiteralSize: 4096 } });
    const mb = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    await t.store.append(t.accountId, mb.id, {
      raw: Buffer.from(message("big", "z".repeat(3000))),
      flags: [],
    });
    c = await t.login();
  });
  after(async () => {
    await t.close();
  });

  it("NO [TOOBIG] when the assembled message passes the APPEND limit", async () => {
    const filler = `Subject: f\r\n\r\n${"y".repeat(2000)}`;
    const r = await c.cmd(`APPEND Drafts CATENATE (${text(filler)} URL "/INBOX/;UID=1")`);
    assert.match(r.tagged, /NO \[TOOBIG\]/);
    const s = await c.cmd(`APPEND Drafts CATENATE (${text(filler)} URL "/INBOX/;UID=1/;SECTION=TEXT")`);
    assert.match(s.tagged, /NO \[TOOBIG\]/);
    const three = await c.cmd(`APPEND Drafts CATENATE (${text(filler)} ${text(filler)} ${text(filler)})`);
    assert.match(three.tagged, /NO \[TOOBIG\]/);
    assert.equal((await c.cmd("STATUS Drafts (MESSAGES)")).lines[0], '* STATUS "Drafts" (MESSAGES 0)');
    const fits = await c.cmd(`APPEND Drafts CATENATE (${text(filler)} URL "/INBOX/;UID=1/;SECTION=HEADER")`);
    assert.ok(fits.ok, fits.text);
  });
});
