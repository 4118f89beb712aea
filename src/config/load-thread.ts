/**
 * loadConfig on a short-lived thread (load-worker.ts): the schema library and the TOML parser load
 * into that thread's heap and leave with it. For `serve`, whose processes keep running for months
 * and need only the resolved configuration — plain data — afterwards (docs/architecture.md
 * "Process layout"). Errors come back as the ConfigError or Error they were.
 */
import { Worker } from "node:worker_threads";
import { ConfigError } from "./errors.ts";
import type { LoadOptions, ResolvedConfig } from "./index.ts";

export type LoadReply =
  | { ok: true; config: ResolvedConfig }
  | { ok: false; configError: boolean; message: string };

/** the thread's input: loadConfig's arguments that are plain data */
export interface LoadRequest {
  path: string | undefined;
  overrides: NonNullable<LoadOptions["overrides"]>;
}

export function loadConfigOffThread(
  path: string | undefined,
  overrides: LoadRequest["overrides"] = [],
): Promise<ResolvedConfig> {
  return new Promise<ResolvedConfig>((resolve, reject) => {
    const w = new Worker(new URL("./load-worker.ts", import.meta.url), {
      workerData: { path, overrides } satisfies LoadRequest,
    });
    let settled = false;
    w.once("message", (m: LoadReply) => {
      settled = true;
      if (m.ok) resolve(m.config);
      else reject(m.configError ? new ConfigError(m.message) : new Error(m.message));
    });
    w.once("error", (e) => {
      settled = true;
      reject(e);
    });
    w.once("exit", (code) => {
      if (!settled) reject(new Error(`configuration thread ended without an answer (exit code ${code})`));
    });
  });
}
