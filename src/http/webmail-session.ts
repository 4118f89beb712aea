/**
 * Webmail sessions in the HTTP service: login, logout and the session probe under /webmail/, and
 * the session cookie as JMAP credentials (docs/architecture.md "Webmail").
 *
 *   POST /webmail/login    {username, password} → 200 {username, csrf} + Set-Cookie; 401; 429
 *   GET  /webmail/session  → 200 {username, csrf} while the cookie's session lives; else 401
 *   POST /webmail/logout   (X-CSRF-Token) → 204, the session deleted server-side, the cookie cleared
 *
 * - The cookie `pk_session` holds 256 random bits; the store keeps only their SHA-256
 *   (store/domain/webmail-sessions.ts). HttpOnly (no script reads it), SameSite=Strict (RFC 6265bis
 *   §8.8.2: no other site's request carries it), Path=/, Secure over TLS, Max-Age = the lifetime.
 * - Login: only over TLS or from loopback (the password travels in the body), with a JSON body
 *   (a cross-site HTML form cannot send application/json, and a cross-origin script gets no
 *   CORS pass here), checked by the shared authenticator with `protocol: "http"` — the account
 *   password or an app password, with the login throttling of every protocol (429 when the
 *   throttle refuses without checking).
 * - A session ends after `[webmail] session_idle_timeout` without requests, `session_lifetime`
 *   after the login, at logout, and when the account's password changes (its credentials
 *   version; a Credentials/changePassword keeps the calling session only).
 * - CSRF: every state-changing request with the cookie (POST: logout, JMAP API and upload) must
 *   carry the session's token in `X-CSRF-Token` (a random value per session, given by login and
 *   /webmail/session to the page's script, which another origin can not read); else 403.
 *   GETs (session object, download, EventSource — which cannot set headers) need the cookie only;
 *   they change nothing.
 */
import { timingSafeEqual } from "node:crypto";
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { Authenticator } from "../auth/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { isLoopback } from "../net/address.ts";
import type { Account, Store, WebmailSession, WebmailSessionTimes } from "../store/types.ts";
import { type Env, isTls, readBodyText, remoteAddress, tooLarge } from "./middleware.ts";

export const SESSION_COOKIE = "pk_session";
const MAX_LOGIN_BODY = 8192;

export interface WebmailAuthDeps {
  config: ResolvedConfig;
  store: Store;
  auth: Authenticator;
}

/** a request's live webmail session: its cookie value, the session and its account */
export interface CookieSession {
  token: string;
  session: WebmailSession;
  account: Account;
  /** the request came over TLS (a renewed cookie gets Secure) */
  tls?: boolean;
}

export function sessionTimes(config: ResolvedConfig): WebmailSessionTimes {
  return { idleMs: config.webmail.session_idle_timeout, lifetimeMs: config.webmail.session_lifetime };
}

/** the value of cookie `name` in a Cookie header (RFC 6265 §5.4), or null */
export function cookieValue(header: string | null | undefined, name: string): string | null {
  if (!header || header.length > 8192) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** constant-time comparison of a sent CSRF token with the session's */
export function csrfMatches(sent: string | null | undefined, want: string): boolean {
  if (!sent) return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The live session named by a Cookie header: the row lives and its account's password is unchanged. */
export async function cookieSession(
  store: Store,
  cookieHeader: string | null | undefined,
  times: WebmailSessionTimes,
): Promise<CookieSession | null> {
  const token = cookieValue(cookieHeader, SESSION_COOKIE);
  if (!token) return null;
  const session = await store.getWebmailSession(token, times);
  if (!session) return null;
  const account = await store.getAccountById(session.accountId);
  if (!account || account.credentialsVersion !== session.credentialsVersion) return null;
  return { token, session, account };
}

/** the Set-Cookie value of the session cookie ("" with max age 0 clears it) */
export function sessionCookie(token: string, maxAgeS: number, tls: boolean): string {
  const secure = tls ? "; Secure" : "";
  return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${secure}`;
}

function setCookie(c: Context<Env>, token: string, maxAgeS: number): void {
  c.header("Set-Cookie", sessionCookie(token, maxAgeS, isTls(c)));
}

function problem(c: Context<Env>, status: 400 | 401 | 403 | 415 | 429, detail: string): Response {
  c.header("Cache-Control", "no-store");
  return c.json({ type: "about:blank", status, detail }, status, {
    "Content-Type": "application/problem+json",
  });
}

/** the routes under /webmail/ */
export function mountWebmailSession(app: Hono<Env>, d: WebmailAuthDeps): void {
  const times = sessionTimes(d.config);

  app.post("/webmail/login", async (c) => {
    // the password is in the body: only over TLS, or on this host (the redirect middleware sends
    // other plain-HTTP clients to HTTPS before they get here)
    if (!isTls(c) && !isLoopback(remoteAddress(c))) return problem(c, 403, "Log in over HTTPS.");
    const ct = (c.req.header("content-type") ?? "").toLowerCase();
    if (!ct.startsWith("application/json")) return problem(c, 415, "The body must be application/json.");
    const text = await readBodyText(c, MAX_LOGIN_BODY);
    if (text === null) return tooLarge(c, MAX_LOGIN_BODY);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return problem(c, 400, "The body is not valid JSON.");
    }
    const { username, password } = (body ?? {}) as { username?: unknown; password?: unknown };
    if (typeof username !== "string" || typeof password !== "string" || username.length > 320)
      return problem(c, 400, "The body must be {username, password} (strings).");
    let throttled = false;
    const account = await d.auth.verifyPassword(username, password, {
      protocol: "http",
      remoteAddress: remoteAddress(c),
      onThrottled: () => {
        throttled = true;
      },
    });
    if (!account) {
      if (throttled) {
        c.header("Retry-After", String(Math.ceil(d.config.auth.lockout / 1000)));
        return problem(c, 429, "Too many failed logins; try again later.");
      }
      return problem(c, 401, "Wrong username or password.");
    }
    const { token, session } = await d.store.createWebmailSession(account, times);
    setCookie(c, token, Math.floor(times.lifetimeMs / 1000));
    c.header("Cache-Control", "no-store");
    return c.json({ username: account.address, csrf: session.csrf });
  });

  app.get("/webmail/session", async (c) => {
    const s = await cookieSession(d.store, c.req.header("cookie"), times);
    if (!s) return problem(c, 401, "Not logged in.");
    c.header("Cache-Control", "no-store");
    return c.json({ username: s.account.address, csrf: s.session.csrf });
  });

  app.post("/webmail/logout", async (c) => {
    const token = cookieValue(c.req.header("cookie"), SESSION_COOKIE);
    const s = token ? await cookieSession(d.store, c.req.header("cookie"), times) : null;
    if (s) {
      if (!csrfMatches(c.req.header("x-csrf-token"), s.session.csrf))
        return problem(c, 403, "Missing or wrong X-CSRF-Token.");
      await d.store.deleteWebmailSession(s.token);
    }
    // no live session: nothing to end; the cookie is cleared all the same
    setCookie(c, "", 0);
    c.header("Cache-Control", "no-store");
    return c.body(null, 204);
  });
}

/** the webmail session behind a JMAP request (set by webmailJmapAuth), for the authenticator */
const jmapSessions = new WeakMap<Request, CookieSession>();

export function jmapCookieSession(req: Request): CookieSession | undefined {
  return jmapSessions.get(req);
}

/**
 * The session cookie as JMAP credentials, for requests without an Authorization header (Basic and
 * Bearer keep precedence): GET/HEAD with the cookie alone; any other method only with the
 * session's X-CSRF-Token (else 403 problem JSON). The session found is handed to the JMAP
 * authenticator through jmapCookieSession.
 */
export function webmailJmapAuth(
  d: WebmailAuthDeps,
  isJmapPath: (path: string) => boolean,
): MiddlewareHandler<Env> {
  const times = sessionTimes(d.config);
  return async (c, next) => {
    if (!isJmapPath(c.req.path) || c.req.method === "OPTIONS" || c.req.header("authorization")) return next();
    const cookie = c.req.header("cookie");
    if (!cookieValue(cookie, SESSION_COOKIE)) return next();
    const s = await cookieSession(d.store, cookie, times);
    if (!s) return next(); // 401 from JMAP
    const safe = c.req.method === "GET" || c.req.method === "HEAD";
    if (!safe && !csrfMatches(c.req.header("x-csrf-token"), s.session.csrf))
      return problem(c, 403, "Missing or wrong X-CSRF-Token.");
    jmapSessions.set(c.req.raw, { ...s, tls: isTls(c) });
    return next();
  };
}
