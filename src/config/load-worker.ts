/** The thread of load-thread.ts: loads the configuration and answers with it (or the error). */
import { workerData } from "node:worker_threads";
import { answerFromThread } from "../net/one-shot-thread.ts";
import { loadConfig } from "./index.ts";
import type { LoadRequest } from "./load-thread.ts";

const { path, overrides } = workerData as LoadRequest;
await answerFromThread(() => loadConfig(path, { overrides }));
