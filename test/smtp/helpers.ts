/**
 * SMTP test helpers: a real store in a temp dir, the SMTP server on 127.0.0.1 port 0 for all three
 * modes (MX, submission with STARTTLS, submissions with implicit TLS), a DNS fixture resolver and
 * a raw line client for transcripts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { createAuthenticator } from "../../src/auth/index.ts";
import { generateSelfSigned } from "../../src/net/index.ts";
import { createSmtpServer, type SmtpLimits, type SmtpServer } from "../../src/smtp/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";

export const PASS = "secret pass";

let certCache: Promise<{ cert: string; key: string }> | null = null;
export function testCert(): Promise<{ cert: string; key: string }> {
  certCache ??= generateSelfSigned("localhost");
  return certCache;
}

/** DNS fixtures: name (lower case) → TXT records; anything else is NXDOMAIN. */
export type DnsFixtures = Record<string, string[]>;

export function fixtureResolver(fx: DnsFixtures) {
  return async (name: string, type: string): Promise<string[][] | string[]> => {
    const key = name.toLowerCase().replace(/\.$/, "");
    const recs = fx[`${type.toUpperCase()}:${key}`] ?? (type.toUpperCase() === "TXT" ? fx[key] : undefined);
    if (!recs) {
      const e = new Error(`queryTxt ENOTFOUND ${name}`) as Error & { code: string };
      e.code = type.toUpperCase() === "TXT" && fx[`exists:${key}`] ? "ENODATA" : "ENOTFOUND";
      throw e;
    }
    return type.toUpperCase() === "TXT" ? recs.map((r) => [r]) : recs;
  };
}

export interface TestSmtp {
  dir: string;
  store: Store;
  smtp: SmtpServer;
  mxPort: number;
  submissionPort: number;
  submissionsPort: number;
  cert: string;
  logs: Array<{ level: string; o: object; msg?: string }>;
  close(): Promise<void>;
}

export async function startSmtp(
  over: {
    limits?: Partial<SmtpLimits>;
    allowPlaintextAuth?: boolean;
    authn?: boolean;
    dns?: DnsFixtures;
  } = {},
): Promise<TestSmtp> {
  const dir = mkdtempSync(join(tmpdir(), "pk-smtp-"));
  const store = await openStore({ dataDir: dir, feedSocketPath: null });
  await store.addDomain("example.com");
  await store.addDomain("example.net");
  await store.createAccount("alice@example.com", `{PLAIN}${PASS}`);
  await store.createAccount("bob@example.com", `{PLAIN}${PASS}`);
  const auth = createAuthenticator(store, {
    cacheTtlMs: 0,
    failureDelayMs: 0,
    maxFailuresPerIp: 0,
    maxFailuresPerUser: 0,
    failureWindowMs: 60_000,
    lockoutMs: 60_000,
  });
  const pair = await testCert();
  const ctx = tls.createSecureContext({ cert: pair.cert, key: pair.key, minVersion: "TLSv1.2" });
  const logs: TestSmtp["logs"] = [];
  const logger = {
    info: (o: object, msg?: string) => logs.push({ level: "info", o, msg }),
    warn: (o: object, msg?: string) => logs.push({ level: "warn", o, msg }),
    error: (o: object, msg?: string) => logs.push({ level: "error", o, msg }),
    debug: () => {},
  };
  const smtp = createSmtpServer({
    store,
    auth,
    tls: { context: () => ctx },
    logger,
    hostname: "mx.test",
    limits: {
      maxMessageSize: 10 * 1024 * 1024,
      maxRecipients: 100,
      messagesPerHour: 0,
      recipientsPerHour: 0,
      idleTimeoutMs: 60_000,
      maxConnectionsPerIp: 0,
      ...over.limits,
    },
    allowPlaintextAuth: over.allowPlaintextAuth ?? false,
    authn: { enabled: over.authn ?? false, resolver: fixtureResolver(over.dns ?? {}) },
    disableReverseLookup: true,
  });
  const mx = net.createServer((s) => smtp.handleConnection(s, { mode: "mx" }));
  const sub = net.createServer((s) => smtp.handleConnection(s, { mode: "submission" }));
  const subs = tls.createServer({ cert: pair.cert, key: pair.key, minVersion: "TLSv1.2" }, (s) =>
    smtp.handleConnection(s, { mode: "submissions" }),
  );
  const listen = (srv: net.Server) =>
    new Promise<number>((r) => srv.listen(0, "127.0.0.1", () => r((srv.address() as net.AddressInfo).port)));
  const [mxPort, submissionPort, submissionsPort] = [await listen(mx), await listen(sub), await listen(subs)];
  return {
    dir,
    store,
    smtp,
    mxPort,
    submissionPort,
    submissionsPort,
    cert: pair.cert,
    logs,
    async close() {
      await smtp.closeAll();
      await Promise.all([mx, sub, subs].map((s) => new Promise<void>((r) => s.close(() => r()))));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Raw SMTP client: write bytes, read complete replies (multi-line aware). */
export class RawClient {
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
  static async connect(port: number): Promise<RawClient> {
    const s = net.connect(port, "127.0.0.1");
    await new Promise<void>((r, j) => {
      s.once("connect", () => r());
      s.once("error", j);
    });
    const c = new RawClient(s);
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

/** Messages in a mailbox of an account, as raw bytes. */
export async function mailboxMessages(store: Store, address: string, mailbox = "INBOX"): Promise<Buffer[]> {
  const acc = await store.getAccount(address);
  if (!acc) throw new Error(`no account ${address}`);
  const mb = await store.getMailbox(acc.id, mailbox);
  if (!mb) throw new Error(`no mailbox ${mailbox}`);
  const out: Buffer[] = [];
  for (const m of await store.listMessages(mb.id))
    out.push(Buffer.from(await store.readMessage(mb.id, m.uid)));
  return out;
}

export async function totalMessages(store: Store): Promise<number> {
  let n = 0;
  for (const a of await store.listAccounts()) n += (await store.getAccountById(a.id))?.usedMessages ?? 0;
  return n;
}
