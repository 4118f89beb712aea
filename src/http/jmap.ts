/**
 * JMAP in the HTTP service: the sub-app of src/jmap mounted at `/.well-known/jmap` and `/jmap/*`,
 * the token endpoint for Bearer authentication, and CORS for those paths only.
 *
 * - Transport: HTTPS; plain HTTP only from loopback (the redirect middleware sends other plain
 *   clients to HTTPS before a request gets here, and Basic is refused on plain non-loopback).
 * - Authentication (jmap-auth.ts): Basic with the account or an app password through the shared
 *   authenticator, or a Bearer token from `POST /jmap/token`; without an Authorization header, the
 *   webmail's session cookie (webmail-session.ts: GETs with the cookie alone, POSTs only with the
 *   session's X-CSRF-Token, else 403).
 * - CORS (RFC 8620 §8.4 asks JMAP servers to let clients on other origins use the API): every
 *   JMAP answer carries `Access-Control-Allow-Origin: *`, and a preflight OPTIONS is answered
 *   without credentials. `*` never lets the cookie work cross-origin: there is no
 *   Access-Control-Allow-Credentials (and `*` forbids credentialed requests anyway), the cookie is
 *   SameSite=Strict (another site's request does not carry it), and X-CSRF-Token is not an allowed
 *   header of the preflight, so another origin's script can not send a cookie POST that passes.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { type Authenticator, verifyHash } from "../auth/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { createJmapApp } from "../jmap/index.ts";
import { submissionSettings } from "../jmap/submission/settings.ts";
import type { Logger } from "../server/log.ts";
import type { Store } from "../store/types.ts";
import { basicCredentials } from "./discovery.ts";
import { authenticateJmap, JmapTokens, type RequestClient } from "./jmap-auth.ts";
import { type Env, isTls, remoteAddress } from "./middleware.ts";
import { jmapCookieSession, sessionCookie, webmailJmapAuth } from "./webmail-session.ts";

export interface JmapMountDeps {
  config: ResolvedConfig;
  store: Store;
  auth: Authenticator;
  logger: Logger;
  /** aborted at shutdown (EventSource streams end) */
  shutdown?: AbortSignal;
}

/** the paths JMAP answers (and so the ones CORS applies to) */
export function isJmapPath(path: string): boolean {
  return path === "/.well-known/jmap" || path === "/jmap" || path.startsWith("/jmap/");
}

function clientOf(env: unknown): RequestClient {
  const socket = (env as { incoming?: { socket?: { remoteAddress?: string; encrypted?: boolean } } })
    ?.incoming?.socket;
  return { remoteAddress: socket?.remoteAddress ?? "", tls: socket?.encrypted === true };
}

/** CORS for the JMAP paths (RFC 8620 §8.4): `*` origin; preflight answered before authentication */
export function jmapCors(): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (!isJmapPath(c.req.path)) return next();
    if (c.req.method === "OPTIONS") {
      return c.body(null, 204, {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, Last-Event-ID",
        "Access-Control-Max-Age": "3600",
      });
    }
    await next();
    c.res.headers.set("Access-Control-Allow-Origin", "*");
  };
}

function challenge(c: Context<Env>): Response {
  c.header("WWW-Authenticate", 'Basic realm="jmap", charset="UTF-8"');
  c.header("WWW-Authenticate", 'Bearer realm="jmap"', { append: true });
  return c.json({ type: "about:blank", status: 401, detail: "Authentication required." }, 401, {
    "Content-Type": "application/problem+json",
  });
}

export function mountJmap(app: Hono<Env>, d: JmapMountDeps): void {
  const tokens = new JmapTokens(d.store, d.config.jmap.token_lifetime);
  app.use(jmapCors());
  if (d.config.webmail.enabled) app.use(webmailJmapAuth(d, isJmapPath));

  // a Bearer token for the account of Basic credentials (the webmail logs in once with these)
  app.post("/jmap/token", async (c) => {
    const client = { remoteAddress: remoteAddress(c), tls: isTls(c) };
    const header = c.req.header("authorization");
    const account = basicCredentials(header) ? await authenticateJmap(header, client, d.auth, tokens) : null;
    if (!account) return challenge(c);
    const t = await tokens.issue(account);
    c.header("Cache-Control", "no-store"); // RFC 6749 §5.1
    return c.json({ accessToken: t.token, tokenType: "Bearer", expiresIn: t.expiresIn });
  });

  const jmap = createJmapApp({
    store: d.store,
    config: d.config,
    logger: d.logger,
    shutdown: d.shutdown,
    // EmailSubmission: the SMTP submission pipeline with the [smtp] limits (src/smtp/submit.ts)
    submission: submissionSettings(d.config),
    // the vendor capability: password change and app passwords (src/jmap/account)
    account: {
      minPasswordLength: d.config.auth.min_password_length,
      async verifyAccountPassword(account, password, remoteAddress) {
        // through the authenticator for the login throttling, then the account's own hash: an
        // app password logs in but does not change the password
        const who = await d.auth.verifyPassword(account.address, password, {
          protocol: "http",
          remoteAddress,
        });
        return who?.id === account.id && (await verifyHash(account.passwordHash, password));
      },
      async passwordChanged(account, request, headers) {
        const keep = request ? jmapCookieSession(request) : undefined;
        const r = await d.store.endWebmailSessions(account.id, {
          ...(keep ? { keepToken: keep.token } : {}),
          credentialsVersion: account.credentialsVersion,
        });
        // the caller's session goes on under a new cookie value (the old one is dead)
        if (r.renewed && headers) {
          const lifetime = Math.max(
            0,
            keep!.session.createdAt.getTime() + d.config.webmail.session_lifetime - Date.now(),
          );
          headers.append(
            "Set-Cookie",
            sessionCookie(r.renewed, Math.floor(lifetime / 1000), keep!.tls === true),
          );
        }
      },
    },
    authenticate: (req, env) => {
      // the webmail session webmailJmapAuth found (only when there is no Authorization header)
      const s = jmapCookieSession(req);
      if (s) return Promise.resolve(s.account);
      return authenticateJmap(req.headers.get("authorization") ?? undefined, clientOf(env), d.auth, tokens);
    },
  });
  app.route("/", jmap as unknown as Hono<Env>);
}
