/** A raw line-oriented client socket (CRLF lines, latin1): waits for a line matching a pattern. */
import { connect, type Socket } from "node:net";

/** A raw line-oriented client socket. */
export class LineClient {
  readonly socket: Socket;
  private buf = "";
  private lines: string[] = [];
  private waiter: (() => void) | null = null;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (d) => {
      this.buf += d.toString("latin1");
      let nl = this.buf.indexOf("\r\n");
      while (nl >= 0) {
        this.lines.push(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 2);
        nl = this.buf.indexOf("\r\n");
      }
      this.waiter?.();
    });
    socket.on("close", () => this.waiter?.());
  }

  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => resolve(new LineClient(s)));
      s.on("error", reject);
    });
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Waits for a line matching re; returns it (lines before it are consumed). */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex((l) => re.test(l));
      if (i >= 0) {
        const line = this.lines[i]!;
        this.lines.splice(0, i + 1);
        return line;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.destroyed) {
        throw new Error(`no line matching ${re}; got ${JSON.stringify(this.lines)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          resolve();
        };
      });
    }
  }

  /** true once the socket is closed (waits up to timeoutMs, then false) */
  closedWithin(timeoutMs: number): Promise<boolean> {
    if (this.socket.destroyed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once("close", () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
