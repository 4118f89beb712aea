/**
 * JMAP test server: the IMAP test server (store in a temp dir, accounts alice/bob) plus the HTTP
 * service of `serve` (src/http/server.ts, JMAP mounted with its authentication and CORS) over the
 * same store, in this process, fed the connections of a plain listener on 127.0.0.1 port 0
 * (loopback: plain HTTP is served). HTTP Basic is checked by the authenticator IMAP LOGIN uses;
 * Bearer tokens come from the service's POST /jmap/token. test/http/jmap-service.test.ts runs the
 * same service inside the real `serve` process.
 */
import net, { type AddressInfo } from "node:net";
import { pino } from "pino";
import { createAuthenticator } from "../../src/auth/index.ts";
import { type ConfigInput, configSchema, type ResolvedConfig } from "../../src/config/index.ts";
import { createHttpService, type HttpService } from "../../src/http/server.ts";
import type { JmapSubmission } from "../../src/jmap/core/types.ts";
import { localMetrics } from "../../src/server/metrics-ipc.ts";
import type { Store } from "../../src/store/types.ts";
import { PASS, startServer, type TestServer, USER } from "../imap/helpers.ts";

export { PASS, USER } from "../imap/helpers.ts";
export { message } from "../kit/store.ts";

export interface JmapServer {
  imap: TestServer;
  /** the HTTP service (closeAll = the shutdown of `serve`) */
  http: HttpService;
  base: string;
  accountId: string;
  /** POST /jmap/api with alice's credentials; returns status and parsed body */
  api(
    body: unknown,
    o?: { raw?: string; contentType?: string; user?: string },
  ): Promise<{ status: number; json: J; type: string }>;
  /** a method-call round trip: the methodResponses of one request */
  call(calls: unknown[][], using?: string[]): Promise<J[]>;
  auth(user?: string, pass?: string): string;
  /** a Bearer token for user from POST /jmap/token */
  bearer(user?: string, pass?: string): Promise<string>;
  close(): Promise<void>;
}

/** a JSON value from the server, checked field by field by the tests */
// biome-ignore lint/suspicious/noExplicitAny: JMAP responses are read field by field with asserts
export type J = any;

/** EmailSubmission's SMTP settings in tests (the HTTP service passes the [smtp] config's) */
export const TEST_SUBMISSION: JmapSubmission = {
  hostname: "mail.example.com",
  limits: { maxMessageSize: 1_000_000, maxRecipients: 10, messagesPerHour: 0, recipientsPerHour: 0 },
};

export const USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"];

/** `wrapStore` lets a test put a proxy between the JMAP app and the store (IMAP uses the store itself) */
export async function startJmap(
  jmap: ConfigInput["jmap"] = {},
  wrapStore: (s: Store) => Store = (s) => s,
  submission: JmapSubmission = TEST_SUBMISSION,
): Promise<JmapServer> {
  const imap = await startServer();
  const store = imap.store;
  const auth = createAuthenticator(store, {
    cacheTtlMs: 0,
    failureDelayMs: 0,
    maxFailuresPerIp: 0,
    maxFailuresPerUser: 0,
    failureWindowMs: 60_000,
    lockoutMs: 60_000,
  });
  const parsed = configSchema.parse({
    hostname: "localhost",
    jmap,
    // EmailSubmission runs with the [smtp]/[store] limits, like the SMTP submission listeners
    smtp: { limits: { max_recipients: submission.limits.maxRecipients } },
    store: { max_message_size: submission.limits.maxMessageSize },
    // the JMAP tests send many requests from one address
    http: { limits: { requests_per_minute: 1_000_000 } },
  });
  const config: ResolvedConfig = { ...parsed, source: null, paths: { feedSocket: "", tlsDir: "" } };
  const service = createHttpService({
    config,
    store: wrapStore(store),
    auth,
    logger: pino({ level: "silent" }),
    metrics: localMetrics,
  });
  const server = net.createServer((socket) => service.handleConnection(socket));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const basic = (user = USER, pass = PASS) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  const t: JmapServer = {
    imap,
    http: service,
    base,
    accountId: `A${imap.accountId}`,
    auth: basic,
    async bearer(user = USER, pass = PASS) {
      const res = await fetch(`${base}/jmap/token`, {
        method: "POST",
        headers: { authorization: basic(user, pass) },
      });
      if (res.status !== 200) throw new Error(`POST /jmap/token: HTTP ${res.status}`);
      return ((await res.json()) as { accessToken: string }).accessToken;
    },
    async api(body, o = {}) {
      const res = await fetch(`${base}/jmap/api`, {
        method: "POST",
        headers: { authorization: basic(o.user), "content-type": o.contentType ?? "application/json" },
        body: o.raw ?? JSON.stringify(body),
      });
      const text = await res.text();
      return {
        status: res.status,
        json: text ? JSON.parse(text) : null,
        type: res.headers.get("content-type") ?? "",
      };
    },
    async call(calls, using = USING) {
      const r = await t.api({ using, methodCalls: calls });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.json)}`);
      return r.json.methodResponses;
    },
    async close() {
      await service.closeAll("test end");
      service.server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await imap.close();
    },
  };
  return t;
}
