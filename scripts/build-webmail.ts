/**
 * Builds the webmail (webmail/src → webmail/dist) with esbuild: one minified ES module and one
 * stylesheet, named by content hash, and an index.html that loads them. `npm install` (prepare),
 * `npm start` (prestart) and `npm test` (pretest) run it; the server serves webmail/dist
 * (src/http/webmail.ts, docs/architecture.md "Webmail").
 *
 * Skips the build when webmail/dist/build.json records the same source fingerprint (paths, sizes
 * and modification times of webmail/src and this script), so a repeated start costs a directory walk.
 *
 * Usage: node scripts/build-webmail.ts [--force] [--quiet]
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const src = path.join(root, "webmail", "src");
const dist = path.join(root, "webmail", "dist");
const stamp = path.join(dist, "build.json");

function walk(dir: string, out: string[]): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function fingerprint(): string {
  const h = createHash("sha256");
  const files = [...walk(src, []), fileURLToPath(import.meta.url)].sort();
  for (const f of files) {
    const s = statSync(f);
    h.update(`${path.relative(root, f)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return h.digest("hex");
}

export interface WebmailBuild {
  fingerprint: string;
  script: string;
  style: string;
  /** gzipped bytes of everything the first load fetches (index.html, script, stylesheet) */
  firstLoadGzip: number;
}

export async function buildWebmail(opts: { force?: boolean; quiet?: boolean } = {}): Promise<WebmailBuild> {
  const fp = fingerprint();
  if (!opts.force) {
    try {
      const prev = JSON.parse(readFileSync(stamp, "utf8")) as WebmailBuild;
      if (prev.fingerprint === fp) return prev;
    } catch {
      // no previous build
    }
  }
  const esbuild = await import("esbuild");
  const r = await esbuild.build({
    entryPoints: { app: path.join(src, "main.tsx") },
    bundle: true,
    minify: true,
    format: "esm",
    target: ["chrome110", "firefox115", "safari16"],
    jsx: "automatic",
    jsxImportSource: "preact",
    entryNames: "[name]-[hash]",
    outdir: path.join(dist, "assets"),
    write: false,
    metafile: false,
    legalComments: "none",
    logLevel: "error",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(path.join(dist, "assets"), { recursive: true });
  let script = "";
  let style = "";
  let gz = 0;
  for (const f of r.outputFiles) {
    writeFileSync(f.path, f.contents);
    gz += gzipSync(f.contents).length;
    const name = path.basename(f.path);
    if (name.endsWith(".js")) script = name;
    else if (name.endsWith(".css")) style = name;
  }
  const html = readFileSync(path.join(src, "index.html"), "utf8")
    .replace("%SCRIPT%", `/assets/${script}`)
    .replace("%STYLE%", `/assets/${style}`);
  writeFileSync(path.join(dist, "index.html"), html);
  gz += gzipSync(html).length;
  const build: WebmailBuild = { fingerprint: fp, script, style, firstLoadGzip: gz };
  writeFileSync(stamp, `${JSON.stringify(build, null, 2)}\n`);
  if (!opts.quiet) {
    console.log(`webmail: built ${script} and ${style}, first load ${(gz / 1024).toFixed(1)} KiB gzipped`);
  }
  return build;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildWebmail({ force: process.argv.includes("--force"), quiet: process.argv.includes("--quiet") });
}
