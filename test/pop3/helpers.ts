/**
 * POP3 transcript-test helpers: a real store in a temp dir, the POP3 server on 127.0.0.1 port 0
 * (plain, and implicit TLS with a generated self-signed certificate when asked), and a raw
 * line-oriented client.
 */
import net from "node:net";
import tls from "node:tls";
import { createPop3Server, type Pop3Server, type Pop3ServerOptions } from "../../src/pop3/index.ts";
import type { Store } from "../../src/store/types.ts";
import { testCert, testTlsOptions } from "../kit/certs.ts";
import { closeServer, listenLoopback } from "../kit/listen.ts";
import { captureLogger, type LogEntry } from "../kit/logs.ts";
import { Pop3Client as Client } from "../kit/pop3-client.ts";
import { message, openTestStore, testAuthenticator } from "../kit/store.ts";

export { testCert } from "../kit/certs.ts";
export type { LogEntry } from "../kit/logs.ts";
export { Pop3Client as Client, unstuff } from "../kit/pop3-client.ts";
export { message } from "../kit/store.ts";

export const USER = "alice@example.com";
export const PASS = "secret pass";

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
    /** the store to serve instead of a SQLite one in the temp dir (test/pg: PostgreSQL) */
    openStore?: (dataDir: string) => Promise<Store>;
  } = {},
): Promise<TestServer> {
  const ts = await openTestStore({
    prefix: "pk-pop3-",
    ...(over.openStore ? { open: over.openStore } : {}),
    accounts: [
      [USER, PASS],
      ["bob@example.com", PASS],
    ],
  });
  const { dir, store } = ts;
  const accountId = ts.ids[USER]!;
  const inbox = (await store.getMailbox(accountId, "INBOX"))!;
  const auth = testAuthenticator(store);
  const { logs, logger } = captureLogger();
  let secureContext: tls.SecureContext | null = null;
  let cert = "";
  if (over.tls) {
    cert = (await testCert()).cert;
    secureContext = tls.createSecureContext(await testTlsOptions());
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
  const port = await listenLoopback(server);
  let tlsServer: tls.Server | null = null;
  let tlsPort = 0;
  if (secureContext) {
    tlsServer = tls.createServer(await testTlsOptions(), (sock) =>
      pop3.handleConnection(fake(sock), { implicitTls: true }),
    );
    tlsPort = await listenLoopback(tlsServer);
  }
  const clients: Client[] = [];
  const t: TestServer = {
    dir,
    port,
    tlsPort,
    store,
    pop3,
    accountId,
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
      await closeServer(server);
      if (tlsServer) await closeServer(tlsServer);
      await ts.close();
    },
  };
  return t;
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
