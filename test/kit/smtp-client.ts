/** Raw SMTP client for transcript tests: write bytes, read complete replies (multi-line aware). */
import net from "node:net";

export class SmtpClient {
  readonly socket: net.Socket;
  #buf = "";
  #waiters: Array<() => void> = [];
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.#buf += d.toString("latin1");
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on("close", () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  static async connect(port: number): Promise<SmtpClient> {
    const s = net.connect(port, "127.0.0.1");
    await new Promise<void>((r, j) => {
      s.once("connect", () => r());
      s.once("error", j);
    });
    const c = new SmtpClient(s);
    await c.reply();
    return c;
  }
  /** next complete reply: lines up to one with "ddd " */
  async reply(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n/.exec(this.#buf);
      if (m) {
        this.#buf = this.#buf.slice(m[0].length);
        return m[0].replace(/\r?\n$/, "");
      }
      if (this.socket.destroyed || this.socket.readableEnded) return `<closed>${this.#buf}`;
      if (Date.now() > deadline)
        throw new Error(`timeout waiting for reply; buffer: ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }
  write(data: string | Buffer): void {
    this.socket.write(data);
  }
  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }
  close(): void {
    this.socket.destroy();
  }
}
