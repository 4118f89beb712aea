/**
 * The webmail app in the HTTP service (docs/architecture.md "Webmail"): the files esbuild wrote to
 * webmail/dist (scripts/build-webmail.ts) and the app's Content-Security-Policy.
 *
 * - `/` and, for client-side routes, any other unknown GET/HEAD that accepts text/html (not an
 *   API path): index.html with `Cache-Control: no-cache` and an ETag (304 on If-None-Match).
 * - `/assets/<name>`: the hashed bundle files, `Cache-Control: public, max-age=31536000,
 *   immutable` (a new build has new names). The name is one path segment of [A-Za-z0-9._-] not
 *   starting with a dot, looked up in a listing of the assets directory: no path is ever built
 *   from the request, so nothing outside it can be named. Missing → 404.
 * - The app's pages get the app CSP (APP_CSP: own scripts and styles, images from anywhere for
 *   mail the user chose to show, frames for the sandboxed message iframe); every other answer
 *   keeps the strict `default-src 'none'` of the security-header middleware (markAppPage).
 * - No build: the server does not build at start (several workers would race to write one
 *   directory, and a production install has no reason to carry esbuild's work into serve); `/`
 *   answers a 503 page saying to run `npm run build:webmail` (`npm install`/`npm start` run it).
 *   The directory is looked at per request (a stat), so a build made while the server runs is
 *   served at once.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Context, Hono } from "hono";
import { type Env, markAppPage } from "./middleware.ts";

/** the webmail's CSP (its iframe for message HTML carries a stricter one of its own) */
export const APP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https: http:; " +
  "font-src 'self' data:; connect-src 'self'; frame-src 'self' blob: about:; form-action 'self'; base-uri 'none'; " +
  "frame-ancestors 'none'";

export const DEFAULT_WEBMAIL_DIST = path.resolve(import.meta.dirname, "..", "..", "webmail", "dist");

const ASSET_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json",
};

/** paths that are never the app's client-side routes (their 404s stay 404s) */
function isApiPath(p: string): boolean {
  return (
    p === "/jmap" ||
    p.startsWith("/jmap/") ||
    p.startsWith("/.well-known/") ||
    p.startsWith("/webmail/") ||
    p.startsWith("/assets/") ||
    p === "/healthz" ||
    p === "/metrics" ||
    p === "/mail/config-v1.1.xml" ||
    p === "/mail.mobileconfig" ||
    p.toLowerCase().startsWith("/autodiscover/")
  );
}

function isAssetName(name: string): boolean {
  if (name.length === 0 || name.length > 200 || name.startsWith(".")) return false;
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    const ok =
      (ch >= 0x30 && ch <= 0x39) ||
      (ch >= 0x41 && ch <= 0x5a) ||
      (ch >= 0x61 && ch <= 0x7a) ||
      ch === 0x2e ||
      ch === 0x5f ||
      ch === 0x2d;
    if (!ok) return false;
  }
  return true;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Webmail not built</title></head>
<body><h1>The webmail is not built</h1>
<p>Run <code>npm run build:webmail</code> (or <code>npm install</code>) in the postkontor directory;
the server serves it as soon as it is there.</p></body></html>
`;

interface Index {
  mtimeMs: number;
  size: number;
  body: Buffer;
  etag: string;
}

export interface WebmailServeOptions {
  /** the built app; default webmail/dist of this checkout */
  dist?: string;
}

export function mountWebmail(app: Hono<Env>, o: WebmailServeOptions = {}): void {
  const dist = o.dist ?? DEFAULT_WEBMAIL_DIST;
  const assetsDir = path.join(dist, "assets");
  let index: Index | null = null;
  let assets: { mtimeMs: number; names: Set<string> } | null = null;

  async function loadIndex(): Promise<Index | null> {
    const file = path.join(dist, "index.html");
    const s = await stat(file).catch(() => null);
    if (!s?.isFile()) return null;
    if (index && index.mtimeMs === s.mtimeMs && index.size === s.size) return index;
    const body = await readFile(file);
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    index = { mtimeMs: s.mtimeMs, size: s.size, body, etag };
    return index;
  }

  /** the names in the assets directory (re-listed when the directory changes) */
  async function assetNames(): Promise<Set<string>> {
    const s = await stat(assetsDir).catch(() => null);
    if (!s?.isDirectory()) return new Set();
    if (assets && assets.mtimeMs === s.mtimeMs) return assets.names;
    const names = new Set(
      (await readdir(assetsDir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name),
    );
    assets = { mtimeMs: s.mtimeMs, names };
    return names;
  }

  async function page(c: Context<Env>): Promise<Response> {
    const ix = await loadIndex();
    if (!ix) {
      return c.html(NOT_BUILT, 503, { "Cache-Control": "no-store", "Retry-After": "60" });
    }
    markAppPage(c, APP_CSP);
    const headers = { "Cache-Control": "no-cache", ETag: ix.etag };
    if (c.req.header("if-none-match") === ix.etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(ix.body), 200, { ...headers, "Content-Type": "text/html; charset=utf-8" });
  }

  app.get("/", page);

  app.get("/assets/:name", async (c) => {
    const name = c.req.param("name");
    if (!isAssetName(name) || !(await assetNames()).has(name)) return c.text("Not found\n", 404);
    const body = await readFile(path.join(assetsDir, name)).catch(() => null);
    if (!body) return c.text("Not found\n", 404);
    const ext = path.extname(name).toLowerCase();
    return c.body(new Uint8Array(body), 200, {
      "Content-Type": ASSET_TYPES[ext] ?? "application/octet-stream",
      "Cache-Control": "public, max-age=31536000, immutable",
    });
  });

  // client-side routes: a reload of /some/view gets the app (the API paths keep their 404)
  app.notFound(async (c) => {
    const m = c.req.method;
    if ((m === "GET" || m === "HEAD") && !isApiPath(c.req.path) && acceptsHtml(c.req.header("accept")))
      return page(c);
    return c.text("Not found\n", 404);
  });
}

function acceptsHtml(accept: string | undefined): boolean {
  return accept?.toLowerCase().includes("text/html") === true;
}
