/**
 * Raw IMAP client for transcript tests: sends tagged commands, collects the responses up to the
 * tagged line (literals inlined as latin1).
 */
import net from "node:net";

export interface Response {
  tag: string;
  /** the tagged line */
  tagged: string;
  ok: boolean;
  /** untagged and continuation lines before it, literals inlined (latin1) */
  lines: string[];
  /** everything, joined with CRLF */
  text: string;
}

let tagCounter = 0;

export class ImapClient {
  private sock: net.Socket;
  private buf = Buffer.alloc(0);
  /** complete logical lines (literals inlined) not yet consumed */
  private queue: string[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => {});
  }

  static async connect(port: number): Promise<ImapClient> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    const c = new ImapClient(sock);
    c.greeting = await c.readLine();
    return c;
  }

  greeting = "";

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** splits the buffer into logical lines; a line ending in {n} continues after n literal bytes */
  private parse(): void {
    let line = "";
    let pos = 0;
    for (;;) {
      const lf = this.buf.indexOf(10, pos);
      if (lf < 0) return;
      const part = this.buf.toString("latin1", pos, lf + 1);
      const m = /~?\{(\d+)\+?\}\r\n$/.exec(part);
      if (m) {
        const n = Number(m[1]);
        if (this.buf.length < lf + 1 + n) return;
        line += part + this.buf.toString("latin1", lf + 1, lf + 1 + n);
        pos = lf + 1 + n;
        continue;
      }
      line += part.replace(/\r?\n$/, "");
      pos = lf + 1;
      this.queue.push(line);
      line = "";
      this.buf = this.buf.subarray(pos);
      pos = 0;
      this.wake();
    }
  }

  async readLine(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.closed) throw new Error("connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timeout waiting for a line");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.queue.shift()!;
  }

  /** reads lines until one matches; returns all lines read */
  async readUntil(re: RegExp, timeoutMs = 5000): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const l = await this.readLine(timeoutMs);
      out.push(l);
      if (re.test(l)) return out;
    }
    throw new Error("too many lines");
  }

  /** lines already received and not consumed (non-blocking) */
  drain(): string[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }

  /** is the connection closed (after waiting up to ms) */
  async waitClosed(ms = 3000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  nextTag(): string {
    return `T${++tagCounter}`;
  }

  /** sends `tag command` and collects until the tagged response */
  async cmd(command: string | Buffer, timeoutMs = 5000): Promise<Response> {
    const tag = this.nextTag();
    this.write(
      typeof command === "string"
        ? `${tag} ${command}\r\n`
        : Buffer.concat([Buffer.from(tag + " "), command]),
    );
    return this.collect(tag, timeoutMs);
  }

  async collect(tag: string, timeoutMs = 5000): Promise<Response> {
    const lines: string[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      const l = await this.readLine(timeoutMs);
      if (l.startsWith(tag + " ")) {
        return { tag, tagged: l, ok: l.startsWith(`${tag} OK`), lines, text: [...lines, l].join("\r\n") };
      }
      lines.push(l);
    }
    throw new Error("unreachable");
  }

  /** APPEND with a synchronizing literal (waits for the continuation) */
  async append(mailbox: string, message: string | Buffer, flags = "", date = ""): Promise<Response> {
    const data = typeof message === "string" ? Buffer.from(message) : message;
    const tag = this.nextTag();
    const opt = (flags ? ` (${flags})` : "") + (date ? ` "${date}"` : "");
    this.write(`${tag} APPEND ${mailbox}${opt} {${data.length}}\r\n`);
    const cont = await this.readLine();
    if (!cont.startsWith("+")) {
      return { tag, tagged: cont, ok: false, lines: [], text: cont };
    }
    this.write(Buffer.concat([data, Buffer.from("\r\n")]));
    return this.collect(tag);
  }

  destroy(): void {
    this.sock.destroy();
  }
}
