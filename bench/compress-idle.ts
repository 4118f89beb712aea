/**
 * Idle memory of COMPRESS=DEFLATE connections: N raw clients log in, SELECT INBOX and IDLE,
 * once plain and once compressed; prints the process RSS / heap+external delta per connection.
 * Run: node --expose-gc bench/compress-idle.ts [N]
 */
import net from "node:net";
import zlib from "node:zlib";
import { PASS, startServer, USER } from "../test/imap/helpers.ts";

const N = Number(process.argv[2] ?? 200);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function mem() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, js: m.heapUsed + m.external + m.arrayBuffers };
}

async function client(port: number, compress: boolean): Promise<net.Socket> {
  const sock = net.connect(port, "127.0.0.1");
  let text = "";
  let inflater: zlib.InflateRaw | null = null;
  const until = (s: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (text.includes(s)) {
          text = "";
          resolve();
        } else setTimeout(check, 5);
      };
      check();
    });
  sock.on("data", (d: Buffer) => {
    if (inflater) inflater.write(d);
    else text += d.toString("latin1");
  });
  await until("* OK");
  sock.write(`L LOGIN ${USER} ${PASS}\r\n`);
  await until("L OK");
  let send = (s: string) => void sock.write(s);
  if (compress) {
    sock.write("Z COMPRESS DEFLATE\r\n");
    await until("Z OK");
    // tiny client-side zlib states so that the delta is (nearly) the server's
    inflater = zlib.createInflateRaw({ windowBits: 12, chunkSize: 1024 });
    inflater.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    const deflater = zlib.createDeflateRaw({ windowBits: 9, memLevel: 1, chunkSize: 1024 });
    deflater.on("data", (d: Buffer) => sock.write(d));
    send = (s) => {
      deflater.write(s);
      deflater.flush(zlib.constants.Z_SYNC_FLUSH);
    };
  }
  send("S SELECT INBOX\r\n");
  await until("S OK");
  send("I IDLE\r\n");
  await until("+ ");
  return sock;
}

const t = await startServer({ limits: { maxConnectionsPerUser: 10_000, maxConnectionsPerIp: 10_000 } });
for (const compress of [false, true]) {
  const m0 = mem();
  const socks: net.Socket[] = [];
  for (let i = 0; i < N; i++) socks.push(await client(t.port, compress));
  await new Promise((r) => setTimeout(r, 500));
  const m1 = mem();
  console.log(
    `${compress ? "compressed" : "plain     "} ${N} idle conns: rss +${((m1.rss - m0.rss) / N / 1024).toFixed(1)} KiB/conn, ` +
      `heap+external +${((m1.js - m0.js) / N / 1024).toFixed(1)} KiB/conn (client side included)`,
  );
  for (const s of socks) s.destroy();
  await new Promise((r) => setTimeout(r, 500));
}
await t.close();
