/**
 * The cluster primary's store step of `prepare` (process.ts) on a thread of its own: opening the
 * store runs the migrations and imports DKIM key files of older versions; then it is closed. The
 * modules this loads leave with the thread. Messages to the parent: log lines, then done or error.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { ResolvedConfig } from "../config/index.ts";
import { openConfiguredStore } from "./store.ts";

export type PrepareReply =
  | { type: "log"; fields: Record<string, unknown>; msg: string }
  | { type: "done" }
  | { type: "error"; message: string; code?: string };

const { config } = workerData as { config: ResolvedConfig };
const send = (m: PrepareReply) => parentPort?.postMessage(m);
try {
  const store = await openConfiguredStore(config, false, false, (fields, msg) =>
    send({ type: "log", fields, msg }),
  );
  await store.close();
  send({ type: "done" });
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  send({ type: "error", message: err?.message ?? String(e), ...(err?.code ? { code: err.code } : {}) });
}
