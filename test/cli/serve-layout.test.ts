/**
 * What the processes of `serve` load (issue 16 item 5, docs/architecture.md "Process layout"):
 * a `serve` command line is parsed without the admin commands, the primary re-executes itself
 * with its workers' Node options (same pid), and neither loads admin, import, backup, migration
 * or PostgreSQL code on a SQLite server, nor Node's fetch; the primary loads no protocol service.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { compileCacheEnv } from "../../src/server/reexec.ts";
import { run, startServe, tempEnv } from "./helpers.ts";

/**
 * a --import hook that writes the URLs of every module the process loaded at exit, and
 * "builtin:<name>" for Node's own modules of interest (its fetch, undici)
 */
function loadHook(dir: string): string {
  const file = join(dir, "load-hook.mjs");
  writeFileSync(
    file,
    `import { registerHooks } from "node:module";
import { writeFileSync } from "node:fs";
import cluster from "node:cluster";
const urls = new Set();
registerHooks({ load(url, context, next) { urls.add(url); return next(url, context); } });
process.on("exit", () => {
  for (const m of process.moduleLoadList) if (m.includes("undici")) urls.add("builtin:" + m);
  const role = process.argv.includes("serve") ? (cluster.isWorker ? "worker" : "primary") : "other";
  writeFileSync(${JSON.stringify(dir)} + "/loaded-" + role + "-" + process.pid + ".txt", [...urls].join("\\n"));
});
`,
  );
  return file;
}

function loaded(dir: string, role: string): Array<{ pid: number; urls: string[] }> {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`loaded-${role}-`))
    .map((f) => ({
      pid: Number(f.slice(`loaded-${role}-`.length, -4)),
      urls: readFileSync(join(dir, f), "utf8").split("\n"),
    }));
}

describe("serve: what each process loads", () => {
  it("`serve --help` is answered by serve.ts; `--help` still lists every command", async () => {
    const r = await run(["serve", "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: postkontor serve \[options\]/);
    assert.match(r.stdout, /--workers <n>/);
    const all = await run(["--help"]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.split("\n");
    for (const c of ["serve", "user", "domain", "backup", "import", "migrate"]) {
      // a command line: two spaces, the name, then no further word character
      const listed = lines.some((l) => l.startsWith(`  ${c}`) && !/\w/.test(l.charAt(c.length + 2)));
      assert.ok(listed, all.stdout);
    }
    const bad = await run(["serve", "--workers", "x"]);
    assert.equal(bad.code, 64, bad.stderr);
  });

  it("primary (re-executed, same pid) and workers load no admin, import, backup or pg code", async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[log]\nlevel = "info"\n`,
    );
    const hook = loadHook(env.dir);
    const server = startServe(["--config", env.config], {
      NODE_OPTIONS: `--import=${hook}`,
      NODE_COMPILE_CACHE: join(env.dir, "compile-cache"),
    });
    let workerPids: number[] = [];
    try {
      await server.waitForLog((l) => l.msg === "postkontor started");
      workerPids = server.logs.filter((l) => l.msg === "worker ready").map((l) => Number(l.workerPid));
      const cmdline = readFileSync(`/proc/${server.child.pid}/cmdline`, "utf8").split("\0");
      assert.ok(cmdline.includes("--max-semi-space-size=1"), cmdline.join(" "));
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
    const primary = loaded(env.dir, "primary");
    const workers = loaded(env.dir, "worker");
    assert.deepEqual(
      primary.map((p) => p.pid),
      [server.child.pid],
    );
    assert.deepEqual(workers.map((w) => w.pid).sort(), [...workerPids].sort());
    const never = [
      "/src/cli/commands.ts",
      "/src/cli/backup.ts",
      "/src/cli/import.ts",
      "/src/import/",
      "/src/backup/restore.ts",
      "/src/store/migrate/",
      "/src/store/postgres.ts",
      "/node_modules/pg/",
      "/node_modules/imapflow/",
      // Node's fetch: only at the first HTTP request or outbound delivery (src/net/without-fetch.ts)
      "undici",
    ];
    for (const p of [...primary, ...workers])
      for (const n of never) assert.ok(!p.urls.some((u) => u.includes(n)), `pid ${p.pid} loaded ${n}`);
    // the primary serves no protocol; the workers do
    for (const n of ["/src/server/services.ts", "/src/imap/", "/node_modules/smtp-server/"])
      assert.ok(!primary[0]!.urls.some((u) => u.includes(n)), `primary loaded ${n}`);
    for (const w of workers) assert.ok(w.urls.some((u) => u.includes("/src/imap/server/")));
  });

  it("compile cache: next to the code unless NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE is set", () => {
    const d = compileCacheEnv({}).NODE_COMPILE_CACHE;
    assert.ok(d?.endsWith("/.cache/compile"), d);
    assert.deepEqual(compileCacheEnv({ NODE_COMPILE_CACHE: "/x" }), {});
    assert.deepEqual(compileCacheEnv({ NODE_DISABLE_COMPILE_CACHE: "1" }), {});
  });
});
