/**
 * A raw IMAP client for the COMPRESS=DEFLATE tests (compress.test.ts, compress-idle.test.ts):
 * plain until startInflating(), then raw DEFLATE both ways with node:zlib.
 */
import net from "node:net";
import zlib from "node:zlib";
import { PASS, type TestServer, USER } from "./helpers.ts";

/** A raw client: plain until compress(), then raw DEFLATE both ways (client window 15). */
export class ZClient {
  readonly sock: net.Socket;
  private text = "";
  private inflater: zlib.InflateRaw | null = null;
  private deflater: zlib.DeflateRaw | null = null;
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on("data", (d: Buffer) => {
      if (this.inflater) this.inflater.write(d);
      else this.got(d);
    });
    sock.on("close", () => {
      // zlib works off the event loop: let the inflater hand over what it still holds first
      const done = () => {
        this.closed = true;
        this.wake();
      };
      if (this.inflater && !this.inflater.destroyed) this.inflater.flush(done);
      else done();
    });
    sock.on("error", () => {});
  }

  static async connect(port: number): Promise<ZClient> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    const c = new ZClient(sock);
    await c.until(/^\* OK/m);
    return c;
  }

  private got(d: Buffer): void {
    this.text += d.toString("latin1");
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** waits until the received text (since the last take) matches; returns and consumes it */
  async until(re: RegExp, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!re.test(this.text)) {
      if (this.closed || Date.now() > deadline) throw new Error(`no ${re} in ${JSON.stringify(this.text)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    const out = this.text;
    this.text = "";
    return out;
  }

  /** everything after this call's bytes on the wire is compressed (server side starts after its OK) */
  startInflating(): void {
    this.inflater = zlib.createInflateRaw();
    this.inflater.on("data", (d: Buffer) => this.got(d));
    this.inflater.on("error", (e) => {
      this.text += `\n!!inflate error ${e.message}`;
      this.wake();
    });
    this.deflater = zlib.createDeflateRaw();
    this.deflater.on("data", (d: Buffer) => this.sock.write(d));
  }

  /** compressed write with a sync flush */
  zwrite(s: string | Buffer): void {
    this.deflater!.write(s);
    this.deflater!.flush(zlib.constants.Z_SYNC_FLUSH);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

export async function loggedIn(t: TestServer): Promise<ZClient> {
  const c = await ZClient.connect(t.port);
  c.sock.write(`L LOGIN ${USER} ${PASS}\r\n`);
  await c.until(/^L OK/m);
  return c;
}

/** LOGIN, COMPRESS DEFLATE (plain), then compressed traffic */
export async function compressed(t: TestServer): Promise<ZClient> {
  const c = await loggedIn(t);
  c.sock.write("Z COMPRESS DEFLATE\r\n");
  await c.until(/^Z OK/m);
  c.startInflating();
  return c;
}
