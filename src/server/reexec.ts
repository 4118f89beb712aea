/**
 * The primary of a cluster re-executes itself once, before it loads or logs anything else
 * (process.execve: the same pid, stdio and arguments), so that it runs with the Node options and
 * environment its workers get (cluster.ts serverExecArgv, workerEnv) — V8's young generation is
 * otherwise sized for throughput at start-up and kept (~30 MiB of an idle primary) — and with
 * Node's compile cache (compileCacheEnv). docs/benchmarks.md "Fixed memory" has the figures.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ResolvedConfig } from "../config/index.ts";
import { serverExecArgv, workerEnv } from "./cluster.ts";

/** set in the re-executed process: never re-execute twice */
const MARK = "PK_SERVE_REEXEC";

/**
 * The compile cache: `<repo>/.cache/compile` (gitignored), next to the code it caches, unless
 * NODE_COMPILE_CACHE is set or NODE_DISABLE_COMPILE_CACHE disables it. With every module of a
 * process found there Node never instantiates its TypeScript stripper (a WebAssembly module of
 * ~12 MiB per process and thread) and skips compiling the cached code. Entries are keyed by file
 * name and checked against the source's hash, so an edited file is stripped again; a directory
 * the server cannot write just leaves the cache off. Filled on the first start (flushed once the
 * process is up, flushCompileCache), used from the second on.
 */
export function compileCacheEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return {};
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  return { NODE_COMPILE_CACHE: path.join(root, ".cache", "compile") };
}

/**
 * Re-executes this process with the server's Node options and environment when they are
 * missing. Returns only when it does not (already done, nothing to add, or no process.execve:
 * Node < 22.15, Windows); then the primary runs as it is.
 */
export function reexecPrimary(config: Pick<ResolvedConfig, "server">): void {
  if (typeof process.execve !== "function" || process.env[MARK] !== undefined) return;
  const execArgv = serverExecArgv(config, process.execArgv);
  const env = { ...workerEnv(config), ...compileCacheEnv() };
  if (execArgv.length === process.execArgv.length && Object.keys(env).length === 0) return;
  const script = process.argv[1];
  if (script === undefined) return;
  try {
    process.execve(process.execPath, [process.execPath, ...execArgv, script, ...process.argv.slice(2)], {
      ...process.env,
      ...env,
      [MARK]: "1",
    });
  } catch {
    // execve refused (e.g. a sandbox): the primary runs as it is, only larger
  }
}
