/**
 * JMAP test server: the IMAP test server (store in a temp dir, accounts alice/bob) plus the JMAP
 * sub-app over the same store, served by @hono/node-server on 127.0.0.1 port 0, with HTTP Basic
 * checked by the authenticator IMAP LOGIN uses.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import { createAuthenticator } from "../../src/auth/index.ts";
import { type ConfigInput, configSchema } from "../../src/config/index.ts";
import type { JmapSubmission } from "../../src/jmap/core/types.ts";
import { createJmapApp } from "../../src/jmap/index.ts";
import type { Store } from "../../src/store/types.ts";
import { PASS, startServer, type TestServer, USER } from "../imap/helpers.ts";
import { silentLogger } from "../kit/logs.ts";

export { PASS, USER } from "../imap/helpers.ts";
export { message } from "../kit/store.ts";

export interface JmapServer {
  imap: TestServer;
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
  /** a Bearer token for user (a test stand-in for the HTTP service's tokens / app passwords) */
  bearer(user?: string, pass?: string): string;
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
  const config = configSchema.parse({ jmap });
  const tokens = new Map<string, [string, string]>();
  const app: Hono = createJmapApp({
    store: wrapStore(store),
    config,
    logger: silentLogger,
    submission,
    async authenticate(req) {
      const h = req.headers.get("authorization") ?? "";
      const ctx = { protocol: "http" as const, remoteAddress: "127.0.0.1" };
      const tok = h.startsWith("Bearer ") ? tokens.get(h.slice(7)) : undefined;
      if (tok) return auth.verifyPassword(tok[0], tok[1], ctx);
      if (!h.startsWith("Basic ")) return null;
      const dec = Buffer.from(h.slice(6), "base64").toString("utf8");
      const i = dec.indexOf(":");
      if (i < 0) return null;
      return auth.verifyPassword(dec.slice(0, i), dec.slice(i + 1), {
        protocol: "http",
        remoteAddress: "127.0.0.1",
      });
    },
  }) as unknown as Hono;
  const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => (server.listening ? r() : server.once("listening", () => r())));
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const basic = (user = USER, pass = PASS) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  const t: JmapServer = {
    imap,
    base,
    accountId: `A${imap.accountId}`,
    auth: basic,
    bearer(user = USER, pass = PASS) {
      const token = randomBytes(16).toString("hex");
      tokens.set(token, [user, pass]);
      return token;
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
      (server as import("node:http").Server).closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await imap.close();
    },
  };
  return t;
}
