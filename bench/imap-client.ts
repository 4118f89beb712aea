/**
 * Minimal raw IMAP client for benchmarks: pipelining-free command/response with timing.
 * It understands literals in responses (so BODY[] fetches are framed correctly) and
 * collects untagged lines until the tagged completion.
 */
import net from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";

export interface ImapResponse {
  tagged: string;
  untagged: Buffer[];
  bytes: number;
}

export class RawImap {
  private sock: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private seq = 0;
  private waiter: (() => void) | null = null;
  private closed = false;
  /** called for every untagged line while no command is outstanding (IDLE pushes) */
  onUntagged: ((line: Buffer) => void) | null = null;

  /** COMPRESS=DEFLATE (RFC 4978) once compress() succeeded: outgoing bytes go through it */
  private deflater: zlib.DeflateRaw | null = null;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", this.received);
    sock.on("close", () => {
      this.closed = true;
      const w = this.waiter;
      if (w) {
        this.waiter = null;
        w();
      }
    });
    sock.on("error", () => {});
  }

  private readonly received = (d: Buffer): void => {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.onUntagged) this.drainUntagged();
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w();
    }
  };

  private send(data: string | Buffer): void {
    if (this.deflater) {
      this.deflater.write(data);
      this.deflater.flush(zlib.constants.Z_SYNC_FLUSH);
    } else this.sock.write(data);
  }

  /**
   * COMPRESS DEFLATE (RFC 4978): both directions compressed from here on. The client's own zlib
   * states are small (window 2^9 out; 2^15 in, as any server may use the full window) and live
   * in the benchmark process, not in the server measured.
   */
  async compress(): Promise<void> {
    await this.command("COMPRESS DEFLATE");
    if (this.buf.length > 0) throw new Error("data after COMPRESS OK before compression");
    const inflater = zlib.createInflateRaw({ windowBits: 15, chunkSize: 1024 });
    this.sock.off("data", this.received);
    this.sock.on("data", (d: Buffer) => inflater.write(d));
    inflater.on("data", this.received);
    inflater.on("error", () => this.sock.destroy());
    this.deflater = zlib.createDeflateRaw({ windowBits: 9, memLevel: 1, chunkSize: 1024 });
    this.deflater.on("data", (d: Buffer) => this.sock.write(d));
  }

  static async connect(port: number, host = "127.0.0.1", useTls = false): Promise<RawImap> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = useTls
        ? tls.connect({ port, host, rejectUnauthorized: false }, () => resolve(s))
        : net.connect({ port, host }, () => resolve(s));
      s.once("error", reject);
    });
    const c = new RawImap(sock);
    await c.readLine(); // greeting
    return c;
  }

  get socket(): net.Socket {
    return this.sock;
  }

  private async more(): Promise<void> {
    if (this.closed) throw new Error("connection closed");
    await new Promise<void>((r) => {
      this.waiter = r;
    });
  }

  /** one response line; a line ending in {n} includes the literal and the rest of the line */
  async readLine(): Promise<Buffer> {
    let scanFrom = 0;
    for (;;) {
      const i = this.buf.indexOf("\r\n", scanFrom, "latin1");
      if (i >= 0) {
        const m = /\{(\d+)\+?\}$/.exec(this.buf.toString("latin1", Math.max(scanFrom, i - 24), i));
        if (m) {
          const n = Number(m[1]);
          const need = i + 2 + n;
          while (this.buf.length < need) await this.more();
          scanFrom = need;
          continue;
        }
        const line = this.buf.subarray(0, i);
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      await this.more();
    }
  }

  private drainUntagged(): void {
    for (;;) {
      const i = this.buf.indexOf("\r\n");
      if (i < 0) return;
      const line = this.buf.subarray(0, i);
      this.buf = this.buf.subarray(i + 2);
      this.onUntagged?.(line);
    }
  }

  async command(cmd: string | Buffer, literal?: Buffer): Promise<ImapResponse> {
    const tag = `b${++this.seq}`;
    if (literal) {
      this.send(
        Buffer.concat([
          Buffer.from(`${tag} `),
          Buffer.from(cmd),
          Buffer.from(` {${literal.length}+}\r\n`),
          literal,
          Buffer.from("\r\n"),
        ]),
      );
    } else {
      this.send(`${tag} ${cmd}\r\n`);
    }
    const untagged: Buffer[] = [];
    let bytes = 0;
    for (;;) {
      const line = await this.readLine();
      bytes += line.length + 2;
      if (line.subarray(0, tag.length + 1).toString() === `${tag} `) {
        const tagged = line.toString("utf8");
        if (!/^\S+ OK/.test(tagged))
          throw new Error(`command failed: ${String(cmd).slice(0, 60)} -> ${tagged}`);
        return { tagged, untagged, bytes };
      }
      if (line[0] === 0x2b) continue; // continuation
      untagged.push(line);
    }
  }

  /** count untagged lines without keeping them (large FETCH responses) */
  async commandCount(cmd: string): Promise<{ lines: number; bytes: number; tagged: string }> {
    const tag = `b${++this.seq}`;
    this.send(`${tag} ${cmd}\r\n`);
    let lines = 0;
    let bytes = 0;
    for (;;) {
      const line = await this.readLine();
      bytes += line.length + 2;
      if (line.subarray(0, tag.length + 1).toString() === `${tag} `) {
        const tagged = line.toString("utf8");
        if (!/^\S+ OK/.test(tagged)) throw new Error(`command failed: ${cmd} -> ${tagged}`);
        return { lines, bytes, tagged };
      }
      lines++;
    }
  }

  write(s: string): void {
    this.send(s);
  }

  close(): void {
    this.sock.destroy();
  }
}
