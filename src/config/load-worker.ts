/** The thread of load-thread.ts: loads the configuration and posts it back (or the error). */
import { parentPort, workerData } from "node:worker_threads";
import { ConfigError } from "./errors.ts";
import { loadConfig } from "./index.ts";
import type { LoadReply, LoadRequest } from "./load-thread.ts";

const { path, overrides } = workerData as LoadRequest;
let reply: LoadReply;
try {
  reply = { ok: true, config: loadConfig(path, { overrides }) };
} catch (e) {
  reply = {
    ok: false,
    configError: e instanceof ConfigError,
    message: e instanceof Error ? e.message : String(e),
  };
}
parentPort?.postMessage(reply);
