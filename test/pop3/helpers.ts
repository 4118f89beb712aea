/**
 * POP3 transcript-test helpers: a real store in a temp dir, the POP3 server on 127.0.0.1 port 0
 * (plain, and implicit TLS with a generated self-signed certificate when asked), and a raw
 * line-oriented client.
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { createAuthenticator } from "../../src/auth/index.ts";
import { generateSelfSigned } from "../../src/net/index.ts";
import { createPop3Server, type Pop3Server, type Pop3ServerOptions } from "../../src/pop3/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";

export const USER = "alice@example.com";
export const PASS = "secret pass";

export interface LogEntry {
  level: string;
  o: object;
  msg?: string;
}

export interface TestServer {
  dir: string;
  port: number;
  /** implicit-TLS port when tls was requested */
  tlsPort: number;
  store: Store;
  pop3: Pop3Server;
  accountId: number;
  inboxId: number;
  logs: LogEntry[];
  cert: string;
  connect(): Promise<Client>;
  connectTls(): Promise<Client>;
  login(): Promise<Client>;
  close(): Promise<void>;
}

let certCache: Promise<{ cert: string; key: string }> | null = null;
export function testCert(): Promise<{ cert: string; key: string }> {
  certCache ??= generateSelfSigned("localhost");
  return certCache;
}

export async function startServer(
  over: {
    limits?: Partial<Pop3ServerOptions["limits"]>;
    allowPlaintextAuth?: boolean;
    tls?: boolean;
    /** pretend connections come from this address (plaintext policy tests) */
    remoteAddress?: string;
    /** the store the POP3 server sees (fault injection) */
    wrapStore?: (s: Store) => Store;
    /** maildrop lease time (locks port) */
    lockTtlMs?: number;
  } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "pk-pop3-"));
  const store = await openStore({ dataDir: dir, feedSocketPath: null });
  await store.addDomain("example.com");
  const acc = await store.createAccount(USER, `{PLAIN}${PASS}`);
  await store.createAccount("bob@example.com", `{PLAIN}${PASS}`);
  const inbox = (await store.getMailbox(acc.id, "INBOX"))!;
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
  let secureContext: tls.SecureContext | null = null;
  let cert = "";
  if (over.tls) {
    const pair = await testCert();
    cert = pair.cert;
    secureContext = tls.createSecureContext({ cert: pair.cert, key: pair.key, minVersion: "TLSv1.2" });
  }
  const pop3 = createPop3Server({
    store: over.wrapStore ? over.wrapStore(store) : store,
    auth,
    tls: secureContext ? { context: () => secureContext } : null,
    logger,
    hostname: "pop3.test",
    limits: {
      maxLineLength: 2048,
      maxBadCommands: 5,
      idleTimeoutMs: 10 * 60_000,
      maxConnectionsPerIp: 20,
      ...over.limits,
    },
    allowPlaintextAuth: over.allowPlaintextAuth ?? false,
    ...(over.lockTtlMs !== undefined ? { lockTtlMs: over.lockTtlMs } : {}),
  });
  const fake = (sock: net.Socket) => {
    if (over.remoteAddress) Object.defineProperty(sock, "remoteAddress", { value: over.remoteAddress });
    return sock;
  };
  const server = net.createServer((sock) => pop3.handleConnection(fake(sock), { implicitTls: false }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  let tlsServer: tls.Server | null = null;
  let tlsPort = 0;
  if (secureContext) {
    const pair = await testCert();
    tlsServer = tls.createServer({ cert: pair.cert, key: pair.key, minVersion: "TLSv1.2" }, (sock) =>
      pop3.handleConnection(fake(sock), { implicitTls: true }),
    );
    await new Promise<void>((r) => tlsServer!.listen(0, "127.0.0.1", r));
    tlsPort = (tlsServer.address() as net.AddressInfo).port;
  }
  const clients: Client[] = [];
  const t: TestServer = {
    dir,
    port,
    tlsPort,
    store,
    pop3,
    accountId: acc.id,
    inboxId: inbox.id,
    logs,
    cert,
    async connect() {
      const c = await Client.connect(port);
      clients.push(c);
      return c;
    },
    async connectTls() {
      const c = await Client.connectTls(tlsPort, cert);
      clients.push(c);
      return c;
    },
    async login() {
      const c = await t.connect();
      const u = await c.cmd(`USER ${USER}`);
      if (!u.startsWith("+OK")) throw new Error("USER failed: " + u);
      const p = await c.cmd(`PASS ${PASS}`);
      if (!p.startsWith("+OK")) throw new Error("PASS failed: " + p);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await pop3.closeAll();
      await new Promise<void>((r) => server.close(() => r()));
      if (tlsServer) await new Promise<void>((r) => tlsServer!.close(() => r()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

export class Client {
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

  static async connectTls(port: number, ca: string): Promise<Client> {
    const sock = tls.connect({ port, host: "127.0.0.1", ca, servername: "localhost" });
    await new Promise<void>((resolve, reject) => {
      sock.once("secureConnect", resolve);
      sock.once("error", reject);
    });
    const c = new Client(sock);
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

export function message(subject: string, body = "Hello world\r\n"): string {
  return (
    `From: Alice <alice@example.org>\r\nTo: Bob <bob@example.com>\r\nSubject: ${subject}\r\n` +
    `Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}.${Math.random()}@example.org>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`
  );
}

/** appends messages to INBOX through the store; returns their uids */
export async function seed(t: TestServer, n: number, body?: (i: number) => string): Promise<number[]> {
  const uids: number[] = [];
  for (let i = 1; i <= n; i++) {
    const r = await t.store.append(t.accountId, t.inboxId, {
      raw: Buffer.from(message(`msg ${i}`, body ? body(i) : `body number ${i}\r\n`)),
    });
    uids.push(r.uid);
  }
  return uids;
}
