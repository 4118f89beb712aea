/**
 * The middleware every HTTP request passes, in this order: access log, security headers, limits
 * (rate per IP, requests in flight, body size), the plain-HTTP → HTTPS redirect. Each is a hono
 * middleware reading the connection facts from `c.env.incoming.socket` (the client address is
 * the PROXY v2 one when the listener has proxy_protocol on).
 */
import type { HttpBindings } from "@hono/node-server";
import type { Context, MiddlewareHandler } from "hono";
import { isLoopback } from "../net/address.ts";
import { count } from "../net/metrics.ts";
import type { Logger } from "../server/log.ts";
import { hostOnly } from "./autoconfig.ts";
import { type ConcurrencyGate, type HttpLimits, RateLimiter } from "./limits.ts";

export type Env = { Bindings: HttpBindings };

/** The client address of the request (the socket's own, or what PROXY v2 named). */
export function remoteAddress(c: Context<Env>): string {
  return c.env.incoming.socket.remoteAddress ?? "";
}

/** Whether the request came over TLS. */
export function isTls(c: Context<Env>): boolean {
  return (c.env.incoming.socket as { encrypted?: boolean }).encrypted === true;
}

/** One `http request` log line per request: client, method, path (never the query), status, time. */
export function accessLog(logger: Logger): MiddlewareHandler<Env> {
  return async (c, next) => {
    const t0 = performance.now();
    await next();
    const status = c.res.status;
    count("postkontor_http_requests_total", { status: String(Math.floor(status / 100)) + "xx" });
    logger.info(
      {
        remoteAddress: remoteAddress(c),
        method: c.req.method,
        path: c.req.path.slice(0, 200),
        status,
        tls: isTls(c),
        ms: Math.round((performance.now() - t0) * 10) / 10,
      },
      "http request",
    );
  };
}

/** the requests answered with the webmail page (webmail.ts), which get the app's CSP */
const appPages = new WeakMap<Request, string>();

/** marks this request's answer as an app page with CSP `csp` (webmail.ts APP_CSP) */
export function markAppPage(c: Context<Env>, csp: string): void {
  appPages.set(c.req.raw, csp);
}

export const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Security headers on every answer: a CSP that allows nothing (documents, API answers, errors),
 * except on the webmail's page, which gets the app's CSP (markAppPage); no MIME sniffing, no
 * referrer, no framing; HSTS only over HTTPS (RFC 6797 §7.2: a plain-HTTP answer must not carry it).
 */
export function securityHeaders(): MiddlewareHandler<Env> {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set("Content-Security-Policy", appPages.get(c.req.raw) ?? STRICT_CSP);
    h.set("X-Content-Type-Options", "nosniff");
    h.set("Referrer-Policy", "no-referrer");
    h.set("X-Frame-Options", "DENY");
    if (isTls(c)) h.set("Strict-Transport-Security", "max-age=31536000");
    else h.delete("Strict-Transport-Security");
  };
}

function problem(c: Context<Env>, status: 413 | 429 | 503, detail: string): Response {
  // RFC 9457 problem details (JMAP's request-level errors use the same form, RFC 8620 §3.6.1)
  return c.json({ type: "about:blank", status, detail }, status, {
    "Content-Type": "application/problem+json",
  });
}

/** Rate per IP (429), requests in flight (503), declared body size (413; the limit may depend on the path). */
export function requestLimits(
  limits: HttpLimits,
  gate: ConcurrencyGate,
  bodyLimit: (path: string) => number = () => limits.maxBodySize,
): MiddlewareHandler<Env> {
  const rate = new RateLimiter(limits.requestsPerMinute);
  return async (c, next) => {
    const retry = rate.take(remoteAddress(c));
    if (retry > 0) {
      count("postkontor_http_refused_total", { reason: "rate" });
      // RFC 6585 §4
      c.header("Retry-After", String(retry));
      return problem(c, 429, "Too many requests from this address; try again later.");
    }
    const declared = c.req.header("content-length");
    const maxBody = bodyLimit(c.req.path);
    if (declared !== undefined && Number(declared) > maxBody) {
      count("postkontor_http_refused_total", { reason: "body" });
      c.header("Connection", "close");
      return problem(c, 413, `Request body larger than ${maxBody} bytes.`);
    }
    if (!gate.enter()) {
      count("postkontor_http_refused_total", { reason: "concurrency" });
      c.header("Retry-After", "1");
      return problem(c, 503, "Too many requests in progress; try again shortly.");
    }
    try {
      await next();
    } finally {
      gate.leave();
    }
  };
}

/**
 * Reads the request body as text, at most `max` bytes (a chunked body is counted as it arrives);
 * null when larger (the caller answers 413).
 */
export async function readBodyText(c: Context<Env>, max: number): Promise<string | null> {
  const body = c.req.raw.body;
  if (!body) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** 413 for a body over the limit (readBodyText returned null). */
export function tooLarge(c: Context<Env>, max: number): Response {
  count("postkontor_http_refused_total", { reason: "body" });
  c.header("Connection", "close");
  return problem(c, 413, `Request body larger than ${max} bytes.`);
}

/** Paths plain HTTP serves itself instead of redirecting (clients look them up over HTTP too). */
export function servedOverPlainHttp(path: string): boolean {
  return (
    path === "/healthz" ||
    path === "/mail/config-v1.1.xml" ||
    path.startsWith("/.well-known/autoconfig/") ||
    path.toLowerCase().startsWith("/autodiscover/")
  );
}

/**
 * Plain HTTP: 308 to the same path on HTTPS (RFC 9110 §15.4.9 keeps the method), except for
 * loopback clients and the paths above. The target host is the request's Host name when it is one
 * of ours in form (a name, no port), else the configured host name.
 */
export function redirectToHttps(o: { hostname: string; httpsPort: number }): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (isTls(c) || isLoopback(remoteAddress(c)) || servedOverPlainHttp(c.req.path)) return next();
    const asked = hostOnly(c.req.header("host") ?? "");
    const host = /^[a-z0-9.-]{1,253}$/.test(asked) ? asked : o.hostname;
    const port = o.httpsPort === 443 ? "" : `:${o.httpsPort}`;
    const url = new URL(c.req.url);
    return c.redirect(`https://${host}${port}${url.pathname}${url.search}`, 308);
  };
}
