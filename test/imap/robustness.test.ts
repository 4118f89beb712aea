import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import { startServer, type TestServer } from "./helpers.ts";

describe("IMAP robustness", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({
      limits: { maxLiteralSize: 8 * 1024 * 1024, maxConnectionsPerIp: 1000, maxConnectionsPerUser: 1000 },
    });
  });
  after(async () => {
    await t.close();
  });

  it("an unexpected error answers NO [SERVERBUG] with a log line and the session survives", async () => {
    const c = await t.login();
    const orig = t.store.mailboxCounts;
    t.store.mailboxCounts = async () => {
      throw new Error("boom");
    };
    try {
      const r = await c.cmd("STATUS INBOX (MESSAGES)");
      assert.match(r.tagged, /NO \[SERVERBUG\]/);
    } finally {
      t.store.mailboxCounts = orig;
    }
    const e = t.logs.find((l) => l.level === "error");
    assert.ok(e && "session" in e.o && String((e.o as unknown as { err: string }).err).includes("boom"));
    assert.ok((await c.cmd("STATUS INBOX (MESSAGES)")).ok);
  });

  it("streams a large FETCH to a slow reader intact (backpressure)", async () => {
    const body = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = 0x61 + (i % 26);
    for (let i = 76; i < body.length; i += 78) {
      body[i] = 13;
      body[i + 1] = 10;
    }
    const msg = Buffer.concat([Buffer.from("Subject: big\r\n\r\n"), body]);
    const mb = (await t.store.getMailbox(t.accountId, "Archive"))!;
    await t.store.append(t.accountId, mb.id, { raw: msg });
    const sock = net.connect(t.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let total = 0;
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      total += d.length;
    });
    await new Promise((r) => sock.once("connect", r));
    sock.write("a LOGIN alice@example.com secret\r\nb EXAMINE Archive\r\n");
    for (let i = 0; i < 200 && !Buffer.concat(chunks).includes("b OK"); i++)
      await new Promise((r) => setTimeout(r, 10));
    chunks.length = 0;
    total = 0;
    sock.write("c FETCH 1 BODY.PEEK[]\r\n");
    // read slowly at first: the server must not fail, and must wait for drain
    sock.pause();
    await new Promise((r) => setTimeout(r, 200));
    sock.resume();
    for (let i = 0; i < 500; i++) {
      if (total > msg.length && Buffer.concat(chunks).subarray(-40).includes("c OK")) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const all = Buffer.concat(chunks);
    const head = `* 1 FETCH (BODY[] {${msg.length}}\r\n`;
    assert.equal(all.subarray(0, head.length).toString(), head);
    assert.ok(all.subarray(head.length, head.length + msg.length).equals(msg));
    assert.match(all.subarray(head.length + msg.length).toString(), /^\)\r\nc OK/);
    sock.destroy();
  });

  it("an idle authenticated connection costs little memory", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const open = async () => {
      const s = net.connect(t.port, "127.0.0.1");
      let buf = "";
      s.on("data", (d) => {
        buf += d;
      });
      await new Promise((r) => s.once("connect", r));
      s.write("a LOGIN alice@example.com secret\r\nb SELECT INBOX\r\n");
      for (let i = 0; i < 500 && !buf.includes("b OK"); i++) await new Promise((r) => setTimeout(r, 2));
      buf = "";
      return s;
    };
    const socks: net.Socket[] = [];
    for (let i = 0; i < 10; i++) socks.push(await open());
    gc();
    const h0 = process.memoryUsage().heapUsed;
    const N = 200;
    for (let i = 0; i < N; i++) socks.push(await open());
    await new Promise((r) => setTimeout(r, 50));
    gc();
    const per = (process.memoryUsage().heapUsed - h0) / N;
    for (const s of socks) s.destroy();
    // both ends live in this process: client socket + server socket + session
    assert.ok(per < 16 * 1024, `heap per connection ${per}`);
  });
});
