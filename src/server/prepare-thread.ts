/**
 * The cluster primary's store step of `prepare` (process.ts) on a thread of its own: opening the
 * store runs the migrations and imports DKIM key files of older versions; then it is closed. The
 * modules this loads leave with the thread. It notes the log lines of the opening, then answers
 * (net/one-shot-thread.ts).
 */
import { workerData } from "node:worker_threads";
import type { ResolvedConfig } from "../config/index.ts";
import { answerFromThread, noteFromThread } from "../net/one-shot-thread.ts";
import { openConfiguredStore } from "./store.ts";

/** a log line of the store's opening, passed on to the primary's logger */
export interface PrepareNote {
  fields: Record<string, unknown>;
  msg: string;
}

const { config } = workerData as { config: ResolvedConfig };
await answerFromThread(async () => {
  const store = await openConfiguredStore(config, false, false, (fields, msg) =>
    noteFromThread({ fields, msg } satisfies PrepareNote),
  );
  await store.close();
});
