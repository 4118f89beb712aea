/**
 * Raw POP3 client for transcript tests: status lines, multi-line bodies (raw or un-stuffed),
 * implicit TLS and STLS.
 */
import net from "node:net";
import tls from "node:tls";

export class Pop3Client {
  private sock: net.Socket;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  greeting = "";

  private constructor(sock: net.Socket) {
    this.sock = sock;
    this.attach(sock);
  }

  private attach(sock: net.Socket): void {
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => {});
  }

  static async connect(port: number): Promise<Pop3Client> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    const c = new Pop3Client(sock);
    c.greeting = await c.readLine();
    return c;
  }

  static async connectTls(port: number, ca: string): Promise<Pop3Client> {
    const sock = tls.connect({ port, host: "127.0.0.1", ca, servername: "localhost" });
    await new Promise<void>((resolve, reject) => {
      sock.once("secureConnect", resolve);
      sock.once("error", reject);
    });
    const c = new Pop3Client(sock);
    c.greeting = await c.readLine();
    return c;
  }

  /** RFC 2595 STLS: upgrade this connection (after the +OK was read) */
  async upgradeTls(ca: string): Promise<void> {
    this.sock.removeAllListeners("data");
    this.sock.removeAllListeners("close");
    const secure = tls.connect({ socket: this.sock, ca, servername: "localhost" });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", resolve);
      secure.once("error", reject);
    });
    this.sock = secure;
    this.attach(secure);
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private async waitData(deadline: number): Promise<void> {
    if (this.closed) throw new Error("connection closed");
    const left = deadline - Date.now();
    if (left <= 0) throw new Error("timeout waiting for data");
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** one raw line without CRLF, as bytes */
  async readLineBytes(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    // each iteration waits for more data; bounded by the deadline
    for (;;) {
      const i = this.buf.indexOf("\r\n");
      if (i >= 0) {
        const line = this.buf.subarray(0, i);
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      await this.waitData(deadline);
    }
  }

  async readLine(timeoutMs = 5000): Promise<string> {
    return (await this.readLineBytes(timeoutMs)).toString("utf8");
  }

  /** the raw bytes of a multi-line body up to and including ".CRLF" (status line already read) */
  async readMultiRaw(timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    // each iteration waits for more data; bounded by the deadline
    for (;;) {
      if (this.buf.subarray(0, 3).toString() === ".\r\n") {
        this.buf = this.buf.subarray(3);
        return Buffer.from(".\r\n");
      }
      const end = this.buf.indexOf("\r\n.\r\n");
      if (end >= 0) {
        const out = this.buf.subarray(0, end + 5);
        this.buf = this.buf.subarray(end + 5);
        return out;
      }
      await this.waitData(deadline);
    }
  }

  /** un-stuffed content of a multi-line body (what RETR delivered), with CRLF line ends */
  async readMultiBody(timeoutMs = 10_000): Promise<Buffer> {
    return unstuff(await this.readMultiRaw(timeoutMs));
  }

  /** multi-line body as text lines (un-stuffed) */
  async readMultiLines(): Promise<string[]> {
    const body = (await this.readMultiBody()).toString("utf8");
    if (body === "") return [];
    return body.replace(/\r\n$/, "").split("\r\n");
  }

  /** sends a command line, returns the status line */
  async cmd(line: string): Promise<string> {
    this.write(line + "\r\n");
    return this.readLine();
  }

  /** sends a command, expects +OK and a multi-line body; returns [status, lines] */
  async multi(line: string): Promise<[string, string[]]> {
    const st = await this.cmd(line);
    if (!st.startsWith("+OK")) return [st, []];
    return [st, await this.readMultiLines()];
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** true once the server closed the connection (waits up to ms) */
  async waitClosed(ms = 3000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** reverses dot-stuffing of "<body>.CRLF" (RFC 1939 §3) */
export function unstuff(wire: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  // one iteration per line
  while (pos < wire.length) {
    const i = wire.indexOf("\r\n", pos);
    const end = i < 0 ? wire.length : i + 2;
    const line = wire.subarray(pos, end);
    if (line.toString() === ".\r\n") break;
    parts.push(line[0] === 46 ? line.subarray(1) : line);
    pos = end;
  }
  return Buffer.concat(parts);
}
