/**
 * Transcript-test helpers: a real store in a temp dir, the IMAP server on 127.0.0.1 port 0, and a
 * small line-oriented client that sends raw commands and collects responses up to the tagged line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthenticator } from "../../src/auth/index.ts";
import { createImapServer, type ImapServer, type ImapServerOptions } from "../../src/imap/server/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";

export const USER = "alice@example.com";
export const PASS = "secret";

export interface LogEntry {
  level: string;
  o: object;
  msg?: string;
}

export interface TestServer {
  port: number;
  store: Store;
  imap: ImapServer;
  accountId: number;
  logs: LogEntry[];
  connect(): Promise<Client>;
  login(): Promise<Client>;
  close(): Promise<void>;
}

export async function startServer(
  over: { limits?: Partial<ImapServerOptions["limits"]>; allowPlaintextAuth?: boolean } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "pk-imap-"));
  const store = await openStore({ dataDir: dir, feedSocketPath: null });
  await store.addDomain("example.com");
  const acc = await store.createAccount(USER, `{PLAIN}${PASS}`);
  await store.createAccount("bob@example.com", `{PLAIN}${PASS}`);
  const auth = createAuthenticator(store, {
    cacheTtlMs: 0,
    failureDelayMs: 0,
    maxFailuresPerIp: 0,
    maxFailuresPerUser: 0,
    failureWindowMs: 60_000,
    lockoutMs: 60_000,
  });
  const logs: LogEntry[] = [];
  const logger = {
    info: (o: object, msg?: string) => logs.push({ level: "info", o, msg }),
    warn: (o: object, msg?: string) => logs.push({ level: "warn", o, msg }),
    error: (o: object, msg?: string) => logs.push({ level: "error", o, msg }),
  };
  const imap = createImapServer({
    store,
    auth,
    tls: null,
    logger,
    hostname: "imap.test",
    limits: {
      maxLineLength: 8192,
      maxLiteralSize: 1024 * 1024,
      maxLiteralSizeUnauth: 1024,
      maxBadCommands: 5,
      idleTimeoutMs: 30 * 60_000,
      unauthTimeoutMs: 60_000,
      maxConnectionsPerUser: 20,
      maxConnectionsPerIp: 50,
      ...over.limits,
    },
    allowPlaintextAuth: over.allowPlaintextAuth ?? false,
  });
  const server = net.createServer((sock) => imap.handleConnection(sock, { implicitTls: false }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const clients: Client[] = [];
  const t: TestServer = {
    port,
    store,
    imap,
    accountId: acc.id,
    logs,
    async connect() {
      const c = await Client.connect(port);
      clients.push(c);
      return c;
    },
    async login() {
      const c = await t.connect();
      const r = await c.cmd(`LOGIN ${USER} ${PASS}`);
      if (!r.ok) throw new Error("login failed: " + r.tagged);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await imap.closeAll();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

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

export class Client {
  private sock: net.Socket;
  private buf = Buffer.alloc(0);
  /** complete logical lines (literals inlined) not yet consumed */
  private queue: string[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(sock: net.Socket) {
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

  static async connect(port: number): Promise<Client> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    const c = new Client(sock);
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

export function message(subject: string, body = "Hello world\r\n", extra = ""): string {
  return (
    `From: Alice <alice@example.org>\r\nTo: Bob <bob@example.com>\r\nSubject: ${subject}\r\n` +
    `Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}.${Math.random()}@example.org>\r\n` +
    `${extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`
  );
}

/** appends n messages through the store (fast fixture) */
export async function seed(
  t: TestServer,
  mailbox: string,
  n: number,
  flags: string[] = [],
): Promise<number[]> {
  const mb = (await t.store.getMailbox(t.accountId, mailbox))!;
  const uids: number[] = [];
  for (let i = 1; i <= n; i++) {
    const r = await t.store.append(t.accountId, mb.id, {
      raw: Buffer.from(message(`msg ${i}`, `body number ${i}\r\n`)),
      flags,
    });
    uids.push(r.uid);
  }
  return uids;
}
