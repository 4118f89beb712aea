/**
 * COMPRESS=DEFLATE while idle (src/net/compress.ts, quiet release): the deflater's state is freed
 * after each flush while the session is in IDLE and a fresh one continues the same raw DEFLATE
 * stream. The layer over a loopback socket pair (release observed, every byte decoded, the final
 * block after a release), then an IMAP transcript: IDLE pushes, DONE and LOGOUT through it.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import zlib from "node:zlib";
import { DeflateLayer } from "../../src/net/compress.ts";
import { compressed } from "./compress-client.ts";
import { message, startServer, type TestServer } from "./helpers.ts";

/** waits (bounded) until cond() holds; the assertion is on the condition, not on the time */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

/** a DeflateLayer on the server end of a loopback pair; the client end inflates what arrives */
async function pair(): Promise<{
  layer: DeflateLayer;
  text: () => string;
  ended: () => boolean;
  errors: string[];
  close: () => void;
}> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const client = net.connect(port, "127.0.0.1");
  const sock = await accepted;
  let text = "";
  let ended = false;
  const errors: string[] = [];
  const inflater = zlib.createInflateRaw();
  inflater.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  inflater.on("end", () => {
    ended = true;
  });
  inflater.on("error", (e) => errors.push(e.message));
  client.on("data", (d: Buffer) => inflater.write(d));
  client.on("end", () => inflater.end());
  client.on("error", () => {});
  const layer = new DeflateLayer(sock, {
    onPlain: () => {},
    onDrain: () => {},
    onError: (e) => errors.push(e.message),
  });
  return {
    layer,
    text: () => text,
    ended: () => ended,
    errors,
    close: () => {
      client.destroy();
      sock.destroy();
      server.close();
    },
  };
}

/** text with repeats inside it, so the compressor's back-references are used within a chunk */
function chunk(n: number, size: number): string {
  let s = "";
  for (let i = 0; s.length < size; i++)
    s += `* ${n * 1000 + (i % 37)} FETCH (FLAGS (\\Seen) UID ${n}${i})\r\n`;
  return s;
}

describe("COMPRESS=DEFLATE: the deflater is released while quiet", () => {
  it("releases after the flush, re-creates on write, and the client decodes every byte", async () => {
    const p = await pair();
    try {
      let expected = "";
      const first = chunk(0, 2000);
      p.layer.write(first);
      expected += first;
      await until(() => p.text() === expected, "first chunk decoded");
      assert.equal(p.layer.holdsDeflater, true);
      p.layer.quiet(true);
      await until(() => !p.layer.holdsDeflater, "deflater released once quiet");
      // each write makes a fresh deflater, released again after its flush; sizes up to 3 × the
      // 4 KiB window, so a release that dropped unsent output or a bad splice shows as a mismatch
      for (const size of [20, 500, 4096, 12_000]) {
        const s = chunk(size, size);
        p.layer.write(s);
        assert.equal(p.layer.holdsDeflater, true);
        expected += s;
        await until(() => p.text() === expected, `chunk of ${size} decoded`);
        await until(() => !p.layer.holdsDeflater, `released after the chunk of ${size}`);
      }
      // not quiet: the deflater (and its history) stays
      p.layer.quiet(false);
      const busy = chunk(7, 300);
      p.layer.write(busy);
      expected += busy;
      await until(() => p.text() === expected, "busy chunk decoded");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(p.layer.holdsDeflater, true);
      // released, then ended: a fresh deflater writes the final block, the client's stream ends
      p.layer.quiet(true);
      await until(() => !p.layer.holdsDeflater, "released before end");
      p.layer.write("* BYE\r\n");
      expected += "* BYE\r\n";
      p.layer.end();
      await until(() => p.ended(), "the client saw the end of the DEFLATE stream");
      assert.equal(p.text(), expected);
      assert.deepEqual(p.errors, []);
    } finally {
      p.close();
    }
  });
});

describe("COMPRESS=DEFLATE and IDLE (transcript)", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  it("IDLE pushes, DONE and LOGOUT arrive decoded across deflater releases", async () => {
    const c = await compressed(t);
    c.zwrite("a1 SELECT INBOX\r\n");
    const sel = await c.until(/^a1 OK/m);
    const exists = Number(/\* (\d+) EXISTS/.exec(sel)![1]);
    c.zwrite("a2 IDLE\r\n");
    await c.until(/^\+ /m);
    const other = await t.login();
    for (let i = 1; i <= 3; i++) {
      await other.append("INBOX", message(`idle push ${i}`));
      await c.until(new RegExp(`^\\* ${exists + i} EXISTS`, "m"));
    }
    c.zwrite("DONE\r\n");
    await c.until(/^a2 OK/m);
    c.zwrite(`a3 FETCH ${exists + 3} (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n`);
    const f = await c.until(/^a3 OK/m);
    assert.match(f, /Subject: idle push 3/);
    // a second IDLE after working again, ended by LOGOUT's final block
    c.zwrite("a4 IDLE\r\n");
    await c.until(/^\+ /m);
    c.zwrite("DONE\r\na5 LOGOUT\r\n");
    const bye = await c.until(/^a5 OK/m);
    assert.match(bye, /^a4 OK/m);
    assert.match(bye, /^\* BYE/m);
    assert.doesNotMatch(bye, /inflate error/);
    other.destroy();
    c.destroy();
  });
});
