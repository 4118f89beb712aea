/**
 * SMTP test helpers: a real store in a temp dir, the SMTP server on 127.0.0.1 port 0 for all three
 * modes (MX, submission with STARTTLS, submissions with implicit TLS), a DNS fixture resolver and
 * a raw line client for transcripts.
 */
import net from "node:net";
import tls from "node:tls";
import { createSmtpServer, type SmtpLimits, type SmtpServer } from "../../src/smtp/index.ts";
import type { Store } from "../../src/store/types.ts";
import { testCert, testTlsOptions, testTlsSource } from "../kit/certs.ts";
import { closeServer, listenLoopback } from "../kit/listen.ts";
import { captureLogger, type LogEntry } from "../kit/logs.ts";
import { openTestStore, testAuthenticator } from "../kit/store.ts";

export { testCert } from "../kit/certs.ts";
export { SmtpClient as RawClient } from "../kit/smtp-client.ts";
export { mailboxMessages, totalMessages } from "../kit/store.ts";

export const PASS = "secret pass";

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
  logs: LogEntry[];
  close(): Promise<void>;
}

export async function startSmtp(
  over: {
    limits?: Partial<SmtpLimits>;
    allowPlaintextAuth?: boolean;
    authn?: boolean;
    dns?: DnsFixtures;
    /** a real resolver (e.g. src/net/dns against test/kit/dns-server.ts) instead of the fixture */
    resolver?: (name: string, rrtype: string) => Promise<unknown[]>;
    authnBudgetMs?: number;
    /** reverse lookups of clients through this resolver (otherwise none) */
    reverseResolver?: (name: string, rrtype: string) => Promise<unknown[]>;
    greetingDelayMs?: number;
  } = {},
): Promise<TestSmtp> {
  const ts = await openTestStore({
    prefix: "pk-smtp-",
    domains: ["example.com", "example.net"],
    accounts: [
      ["alice@example.com", PASS],
      ["bob@example.com", PASS],
    ],
  });
  const { dir, store } = ts;
  const auth = testAuthenticator(store);
  const pair = await testCert();
  const { logs, logger } = captureLogger();
  const smtp = createSmtpServer({
    store,
    auth,
    tls: await testTlsSource(),
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
    authn: {
      enabled: over.authn ?? false,
      resolver: over.resolver ?? fixtureResolver(over.dns ?? {}),
      ...(over.authnBudgetMs !== undefined ? { budgetMs: over.authnBudgetMs } : {}),
    },
    disableReverseLookup: over.reverseResolver === undefined,
    ...(over.reverseResolver ? { reverseResolver: over.reverseResolver } : {}),
    ...(over.greetingDelayMs !== undefined ? { greetingDelayMs: over.greetingDelayMs } : {}),
  });
  const mx = net.createServer((s) => smtp.handleConnection(s, { mode: "mx" }));
  const sub = net.createServer((s) => smtp.handleConnection(s, { mode: "submission" }));
  const subs = tls.createServer(await testTlsOptions(), (s) =>
    smtp.handleConnection(s, { mode: "submissions" }),
  );
  const [mxPort, submissionPort, submissionsPort] = [
    await listenLoopback(mx),
    await listenLoopback(sub),
    await listenLoopback(subs),
  ];
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
      await Promise.all([mx, sub, subs].map(closeServer));
      await ts.close();
    },
  };
}
