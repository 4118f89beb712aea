/**
 * COMPRESS=DEFLATE (RFC 4978): a real client (imapflow) through compression, a raw socket with
 * node:zlib on the client side (compressed input split at every offset, pipelined after the
 * command), the state rules (NO [COMPRESSIONACTIVE], BAD before authentication / for an unknown
 * mechanism) and a decompression bomb against the reader's limits.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import zlib from "node:zlib";
import { ImapFlow } from "imapflow";
import { peakGrowth } from "../../src/store/testing/large.ts";
import { compressed, loggedIn } from "./compress-client.ts";
import { message, PASS, startServer, type TestServer, USER } from "./helpers.ts";

const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

const LITERAL = "Subject: split\r\n\r\nliteral\r\n";
const SEQUENCE =
  "a1 SELECT INBOX\r\na2 FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])\r\n" +
  `a3 APPEND INBOX {${LITERAL.length}+}\r\n${LITERAL}\r\na4 STATUS INBOX (MESSAGES)\r\n`;

function checkSequence(out: string): void {
  assert.match(out, /^a1 OK/m);
  assert.match(out, /Subject: one/);
  assert.match(out, /^a2 OK/m);
  assert.match(out, /^a3 OK \[APPENDUID \d+ \d+\]/m);
  assert.match(out, /^a4 OK/m);
}

describe("COMPRESS=DEFLATE (RFC 4978)", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
    const c = await t.login();
    await c.append("INBOX", message("one"));
    c.destroy();
  });
  after(async () => {
    await t.close();
  });

  it("advertises COMPRESS=DEFLATE once authenticated", async () => {
    const c = await t.connect();
    assert.doesNotMatch(c.greeting, /COMPRESS=DEFLATE/);
    const r = await c.cmd(`LOGIN ${USER} ${PASS}`);
    assert.match(r.tagged, /COMPRESS=DEFLATE/);
    c.destroy();
  });

  it("imapflow negotiates it and works through it: LOGIN, SELECT, FETCH, APPEND, IDLE", async () => {
    const before = t.logs.filter((l) => l.msg === "imap compression active").length;
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: t.port,
      secure: false,
      auth: { user: USER, pass: PASS },
      logger: false,
      disableCompression: false,
      qresync: false,
      autoIdleDelay: 100,
    } as ConstructorParameters<typeof ImapFlow>[0]);
    await client.connect();
    try {
      // the server logged the switch for this connection, and imapflow set up its inflater
      assert.equal(t.logs.filter((l) => l.msg === "imap compression active").length, before + 1);
      assert.ok((client as unknown as { _inflate?: unknown })._inflate, "imapflow compression active");
      const body = `compressed body ${"z".repeat(200_000)}\r\n`;
      const app = await client.append("INBOX", message("through deflate", body));
      assert.ok(app && typeof app === "object" && app.uid);
      const lock = await client.getMailboxLock("INBOX");
      try {
        const msg = await client.fetchOne(
          String(app.uid),
          { uid: true, source: true, envelope: true },
          { uid: true },
        );
        assert.ok(msg);
        assert.equal(msg.envelope?.subject, "through deflate");
        assert.ok(msg.source!.toString().includes(body));
      } finally {
        lock.release();
      }
      // IDLE: a change from another session is pushed through the compressed stream
      await new Promise((r) => setTimeout(r, 300));
      const existsEvent = new Promise<number>((resolve) => client.once("exists", (e) => resolve(e.count)));
      const other = await t.login();
      await other.append("INBOX", message("pushed"));
      const count = await existsEvent;
      const st = await client.status("INBOX", { messages: true });
      assert.ok(st && st.messages === count);
      other.destroy();
    } finally {
      await client.logout();
    }
  });

  it("compressed input split at every offset", async () => {
    const z = zlib.deflateRawSync(Buffer.from(SEQUENCE), SYNC);
    for (let cut = 1; cut < z.length; cut++) {
      const c = await compressed(t);
      c.sock.write(z.subarray(0, cut));
      await new Promise((r) => setTimeout(r, 2));
      c.sock.write(z.subarray(cut));
      checkSequence(await c.until(/^a4 (OK|NO|BAD)/m));
      c.destroy();
    }
  });

  it("compressed bytes pipelined in the same packet as COMPRESS", async () => {
    const c = await loggedIn(t);
    const z = zlib.deflateRawSync(Buffer.from(SEQUENCE), SYNC);
    c.sock.write(Buffer.concat([Buffer.from("Z COMPRESS DEFLATE\r\n"), z]));
    await c.until(/^Z OK/m);
    // the server's OK and its compressed output may share a packet: the inflater gets the rest
    c.startInflating();
    checkSequence(await c.until(/^a4 (OK|NO|BAD)/m));
    c.destroy();
  });

  it("COMPRESS twice: NO [COMPRESSIONACTIVE]; LOGOUT flushes the last responses", async () => {
    const c = await compressed(t);
    c.zwrite("b1 COMPRESS DEFLATE\r\n");
    assert.match(await c.until(/^b1 /m), /^b1 NO \[COMPRESSIONACTIVE\]/m);
    c.zwrite("b2 LOGOUT\r\n");
    const out = await c.until(/^b2 /m);
    assert.match(out, /^\* BYE/m);
    assert.match(out, /^b2 OK/m);
  });

  it("a synchronizing literal: the continuation request arrives compressed and flushed", async () => {
    const c = await compressed(t);
    c.zwrite(`d1 APPEND INBOX {${LITERAL.length}}\r\n`);
    assert.match(await c.until(/^\+ /m), /^\+ /m);
    c.zwrite(`${LITERAL}\r\n`);
    assert.match(await c.until(/^d1 /m), /^d1 OK \[APPENDUID/m);
    c.destroy();
  });

  it("BAD before authentication, for an unknown mechanism and without one", async () => {
    const c = await t.connect();
    const r = await c.cmd("COMPRESS DEFLATE");
    assert.match(r.tagged, / BAD /);
    const l = await c.cmd(`LOGIN ${USER} ${PASS}`);
    assert.ok(l.ok);
    assert.match((await c.cmd("COMPRESS LZW")).tagged, / BAD /);
    assert.match((await c.cmd("COMPRESS")).tagged, / BAD /);
    // still uncompressed: a plain command works
    assert.ok((await c.cmd("NOOP")).ok);
    c.destroy();
  });

  it("a decompression bomb meets the reader's line limit, memory stays bounded", async () => {
    const c = await compressed(t);
    // 64 MiB of one byte without a line end compresses to ~64 KiB
    const mib = Buffer.alloc(1024 * 1024, 0x78);
    let out = "";
    // live memory sampled after full GCs: garbage awaiting collection would make RSS a measure
    // of GC timing, while a server that buffered the bomb would hold tens of MiB alive
    const grown = await peakGrowth(async () => {
      for (let i = 0; i < 64; i++) c.zwrite(mib);
      c.zwrite("\r\nc1 NOOP\r\n");
      // a bound, not a timing: full GCs pause this process (client and server) every 100 ms
      out = await c.until(/^c1 /m, 180_000);
    }, 100);
    assert.match(out, /BAD \[TOOBIG\]|BAD Line too long/);
    assert.match(out, /^c1 OK/m);
    assert.ok(grown < 24 * 1024 * 1024, `live memory grew by ${grown}`);
    c.destroy();
  });
});

describe("COMPRESS switched off (imap.compress = false)", () => {
  it("is neither advertised nor accepted", async () => {
    const off = await startServer({ compress: false });
    try {
      const c = await off.connect();
      const r = await c.cmd(`LOGIN ${USER} ${PASS}`);
      assert.ok(r.ok);
      assert.doesNotMatch(r.tagged, /COMPRESS/);
      const cap = await c.cmd("CAPABILITY");
      assert.doesNotMatch(cap.lines.join("\n"), /COMPRESS/);
      assert.match((await c.cmd("COMPRESS DEFLATE")).tagged, / BAD /);
      // the connection stays uncompressed and usable
      assert.ok((await c.cmd("NOOP")).ok);
      c.destroy();
    } finally {
      await off.close();
    }
  });
});
