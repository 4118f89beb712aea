/**
 * Test set-up for the reader's browser tests: a page bundled on the fly with esbuild from a small
 * entry module (written here as text, resolved inside webmail/src, so it imports the real reader
 * code), served by a loopback HTTP server that can also forward the JMAP paths to a real
 * postkontor with HTTP Basic added (a stand-in for the webmail login until the shell mounts the
 * reader), and a recorder: a server on another origin that logs every request it gets (the
 * sanitiser tests assert it gets none). The page carries the app's `<meta name="referrer"
 * content="no-referrer">` (webmail/src/index.html).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const WEBMAIL_SRC = path.join(root, "webmail", "src");

/** The app's CSP (the webmail server contract), for pages that should run under it. */
export const APP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https: http:; " +
  "font-src 'self' data:; connect-src 'self'; frame-src 'self' blob: about:; form-action 'self'; base-uri 'none'; " +
  "frame-ancestors 'none'";

/** A 1×1 transparent PNG. */
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
  "base64",
);

export interface Bundle {
  js: string;
  css: string;
}

/** Bundles an entry module given as text (TSX, imports resolved from webmail/src). */
export async function bundle(entry: string): Promise<Bundle> {
  const esbuild = await import("esbuild");
  const r = await esbuild.build({
    stdin: { contents: entry, resolveDir: WEBMAIL_SRC, loader: "tsx", sourcefile: "harness.tsx" },
    bundle: true,
    format: "esm",
    target: ["chrome110"],
    jsx: "automatic",
    jsxImportSource: "preact",
    outdir: "/harness-out",
    entryNames: "harness",
    write: false,
    logLevel: "error",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  let js = "";
  let css = "";
  for (const f of r.outputFiles) {
    if (f.path.endsWith(".js")) js = f.text;
    else if (f.path.endsWith(".css")) css = f.text;
  }
  return { js, css };
}

export interface Served {
  port: number;
  origin: string;
  /** paths requested so far, in order */
  requests: { path: string; referer: string | undefined }[];
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: http.Server): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

/** The recorder: answers every request with a tiny PNG and logs it. */
export async function startRecorder(): Promise<Served> {
  const requests: Served["requests"] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? "", referer: req.headers.referer });
    res.writeHead(200, { "Content-Type": "image/png", "Cache-Control": "no-store" });
    res.end(PNG);
  });
  const port = await listen(server);
  return { port, origin: `http://127.0.0.1:${port}`, requests, close: closer(server) };
}

export interface PageOpts {
  bundle: Bundle;
  /** a CSP header on the page (none: the frame's own policy is all there is) */
  csp?: string;
  /** forward /.well-known/jmap and /jmap/… to this port, with this Basic user:password */
  jmap?: { port: number; user: string; pass: string };
  /** answers other paths (e.g. fake downloads); null: 404 */
  other?: (path: string) => { type: string; body: Buffer } | null;
}

/** Serves the bundled page at / (and /harness.js, /harness.css), forwarding JMAP when asked. */
export async function startPage(o: PageOpts): Promise<Served> {
  const requests: Served["requests"] = [];
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
    `<title>harness</title>` +
    `<link rel="stylesheet" href="/harness.css"><script type="module" src="/harness.js"></script>` +
    `</head><body><div id="app"></div></body></html>`;
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    requests.push({ path: url, referer: req.headers.referer });
    const p = url.split("?")[0]!;
    if (o.jmap && (p === "/.well-known/jmap" || p.startsWith("/jmap/"))) {
      const headers = { ...req.headers };
      headers.authorization = `Basic ${Buffer.from(`${o.jmap.user}:${o.jmap.pass}`).toString("base64")}`;
      const fwd = http.request(
        { host: "127.0.0.1", port: o.jmap.port, method: req.method, path: url, headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      fwd.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(fwd);
      return;
    }
    const send = (status: number, type: string, body: string | Buffer, csp?: string) => {
      res.writeHead(status, {
        "Content-Type": type,
        "Cache-Control": "no-store",
        ...(csp ? { "Content-Security-Policy": csp } : {}),
      });
      res.end(body);
    };
    if (p === "/") return send(200, "text/html; charset=utf-8", html, o.csp);
    if (p === "/harness.js") return send(200, "text/javascript", o.bundle.js);
    if (p === "/harness.css") return send(200, "text/css", o.bundle.css);
    const other = o.other?.(p);
    if (other) return send(200, other.type, other.body);
    send(404, "text/plain", "not found");
  });
  const port = await listen(server);
  return { port, origin: `http://127.0.0.1:${port}`, requests, close: closer(server) };
}
