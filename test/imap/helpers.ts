/**
 * Transcript-test helpers: a real store in a temp dir, the IMAP server on 127.0.0.1 port 0, and a
 * small line-oriented client that sends raw commands and collects responses up to the tagged line.
 */
import net from "node:net";
import { createImapServer, type ImapServer, type ImapServerOptions } from "../../src/imap/server/index.ts";
import type { Store } from "../../src/store/types.ts";
import { ImapClient as Client } from "../kit/imap-client.ts";
import { closeServer, listenLoopback } from "../kit/listen.ts";
import { captureLogger, type LogEntry } from "../kit/logs.ts";
import { message, openTestStore, testAuthenticator } from "../kit/store.ts";

export { ImapClient as Client, type Response } from "../kit/imap-client.ts";
export type { LogEntry } from "../kit/logs.ts";
export { message } from "../kit/store.ts";

export const USER = "alice@example.com";
export const PASS = "secret";

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

export interface ImapOver {
  limits?: Partial<ImapServerOptions["limits"]>;
  allowPlaintextAuth?: boolean;
  compress?: boolean;
  /** the server's host name (URLs name it); default "imap.test" */
  hostname?: string;
  /** host names accepted in IMAP URLs (config url_hosts); default: [hostname] */
  urlHosts?: string[];
}

/** the IMAP server over an existing store (e.g. one an SMTP test server uses too) */
export async function listenImap(
  store: Store,
  over: ImapOver = {},
): Promise<{ port: number; imap: ImapServer; logs: LogEntry[]; close(): Promise<void> }> {
  const auth = testAuthenticator(store);
  const { logs, logger } = captureLogger();
  const imap = createImapServer({
    store,
    auth,
    tls: null,
    logger,
    hostname: over.hostname ?? "imap.test",
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
    ...(over.compress === undefined ? {} : { compress: over.compress }),
    ...(over.urlHosts === undefined ? {} : { urlHosts: over.urlHosts }),
  });
  const server = net.createServer((sock) => imap.handleConnection(sock, { implicitTls: false }));
  const port = await listenLoopback(server);
  return {
    port,
    imap,
    logs,
    async close() {
      await imap.closeAll();
      await closeServer(server);
    },
  };
}

export async function startServer(over: ImapOver = {}): Promise<TestServer> {
  const ts = await openTestStore({
    prefix: "pk-imap-",
    accounts: [
      [USER, PASS],
      ["bob@example.com", PASS],
    ],
  });
  const store = ts.store;
  const { port, imap, logs, close } = await listenImap(store, over);
  const clients: Client[] = [];
  const t: TestServer = {
    port,
    store,
    imap,
    accountId: ts.ids[USER]!,
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
      await close();
      await ts.close();
    },
  };
  return t;
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
