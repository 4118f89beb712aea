/**
 * loadConfig on a short-lived thread (load-worker.ts): the schema library and the TOML parser load
 * into that thread's heap and leave with it. For `serve`, whose processes keep running for months
 * and need only the resolved configuration — plain data — afterwards (docs/architecture.md
 * "Process layout"). A ConfigError comes back as a ConfigError, with its message.
 */
import { runOnThread } from "../net/one-shot-thread.ts";
import { ConfigError } from "./errors.ts";
import type { LoadOptions, ResolvedConfig } from "./index.ts";

/** the thread's input: loadConfig's arguments that are plain data */
export interface LoadRequest {
  path: string | undefined;
  overrides: NonNullable<LoadOptions["overrides"]>;
}

export async function loadConfigOffThread(
  path: string | undefined,
  overrides: LoadRequest["overrides"] = [],
): Promise<ResolvedConfig> {
  const request: LoadRequest = { path, overrides };
  try {
    return await runOnThread<ResolvedConfig>(
      new URL("./load-worker.ts", import.meta.url),
      request,
      "configuration",
    );
  } catch (e) {
    throw (e as Error).name === "ConfigError" ? new ConfigError((e as Error).message) : e;
  }
}
