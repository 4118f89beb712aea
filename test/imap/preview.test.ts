/**
 * FETCH PREVIEW (RFC 8970) over a real socket: text/plain, HTML-only, multipart/alternative, no
 * text part, 8-bit charsets (literal unless UTF8=ACCEPT), the LAZY modifier and malformed forms.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, startServer, type TestServer } from "./helpers.ts";

const HDR = "From: a@example.org\r\nTo: b@example.com\r\nSubject: p\r\nMIME-Version: 1.0\r\n";

const PLAIN = `${HDR}Content-Type: text/plain\r\n\r\n  Hello,\r\n\r\n\tthis   is\r\nthe text.\r\n`;
const HTML =
  `${HDR}Content-Type: text/html; charset=utf-8\r\n\r\n` +
  "<html><head><title>T</title><style>p { color: red }</style></head>" +
  "<body><p>Hi &amp; <b>bye</b></p><div>next</div></body></html>\r\n";
const ALT =
  `${HDR}Content-Type: multipart/alternative; boundary=b\r\n\r\n` +
  "--b\r\nContent-Type: text/plain\r\n\r\nplain wins\r\n" +
  "--b\r\nContent-Type: text/html\r\n\r\n<p>html loses</p>\r\n--b--\r\n";
const NOTEXT =
  `${HDR}Content-Type: multipart/mixed; boundary=b\r\n\r\n` +
  "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n" +
  '--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="a.txt"\r\n\r\nattached\r\n' +
  "--b--\r\n";
const LATIN1 = `${HDR}Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe aus K=F6ln\r\n`;
const LONG = `${HDR}Content-Type: text/plain\r\n\r\n${"word ".repeat(200)}\r\n`;

describe("IMAP PREVIEW (RFC 8970)", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer();
    c = await t.login();
    for (const m of [PLAIN, HTML, ALT, NOTEXT, LATIN1, LONG]) assert.ok((await c.append("INBOX", m)).ok);
    assert.ok((await c.cmd("SELECT INBOX")).ok);
  });
  after(async () => {
    await t.close();
  });

  const preview = async (cl: Client, seq: number, att = "PREVIEW"): Promise<string> => {
    const r = await cl.cmd(`FETCH ${seq} (${att})`);
    assert.ok(r.ok, r.text);
    return r.lines.join("\r\n");
  };

  it("is advertised", async () => {
    assert.match((await c.cmd("CAPABILITY")).lines[0]!, / PREVIEW( |$)/);
  });

  it("text/plain: whitespace collapsed and trimmed", async () => {
    assert.equal(await preview(c, 1), '* 1 FETCH (PREVIEW "Hello, this is the text.")');
  });

  it("HTML only: tags, head and style stripped, entities decoded", async () => {
    assert.equal(await preview(c, 2), '* 2 FETCH (PREVIEW "Hi & bye next")');
  });

  it("multipart/alternative: the text/plain part", async () => {
    assert.equal(await preview(c, 3), '* 3 FETCH (PREVIEW "plain wins")');
  });

  it("no text part (attachments do not count): the empty string", async () => {
    assert.equal(await preview(c, 4), '* 4 FETCH (PREVIEW "")');
  });

  it("8-bit charset: decoded; a literal unless UTF8=ACCEPT is enabled", async () => {
    const text = "Grüße aus Köln";
    // the test client reads response octets as latin1
    const utf8 = (s: string) => Buffer.from(s, "latin1").toString("utf8");
    assert.equal(utf8(await preview(c, 5)), `* 5 FETCH (PREVIEW {${Buffer.byteLength(text)}}\r\n${text})`);
    const u = await t.login();
    assert.ok((await u.cmd("ENABLE UTF8=ACCEPT")).ok);
    await u.cmd("EXAMINE INBOX");
    assert.equal(utf8(await preview(u, 5)), `* 5 FETCH (PREVIEW "${text}")`);
  });

  it("at most 256 characters", async () => {
    const line = await preview(c, 6);
    const m = /PREVIEW "([^"]*)"/.exec(line)!;
    assert.equal(m[1]!.length, 256);
    assert.ok(m[1]!.startsWith("word word"));
    assert.ok(!m[1]!.endsWith(" "));
  });

  it("PREVIEW (LAZY), with other items, UID FETCH; does not set \\Seen", async () => {
    assert.equal(await preview(c, 3, "PREVIEW (LAZY)"), '* 3 FETCH (PREVIEW "plain wins")');
    const r = await c.cmd("UID FETCH 1 (FLAGS PREVIEW (LAZY) RFC822.SIZE)");
    assert.match(
      r.lines[0]!,
      /^\* 1 FETCH \(UID 1 FLAGS \([^)]*\) PREVIEW "Hello, this is the text\." RFC822\.SIZE \d+\)$/,
    );
    assert.doesNotMatch(r.lines[0]!, /\\Seen/);
    const single = await c.cmd("FETCH 3 PREVIEW (LAZY)");
    assert.deepEqual(single.lines, ['* 3 FETCH (PREVIEW "plain wins")']);
  });

  it("malformed: unknown or empty modifier list is BAD", async () => {
    assert.match((await c.cmd("FETCH 1 (PREVIEW (FOO))")).tagged, /^\S+ BAD /);
    assert.match((await c.cmd("FETCH 1 (PREVIEW ())")).tagged, /^\S+ BAD /);
    assert.match((await c.cmd("FETCH 1 (PREVIEW (LAZY)")).tagged, /^\S+ BAD /);
  });
});
