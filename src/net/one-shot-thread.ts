/**
 * Work done once on a short-lived thread so that the modules it loads leave with the thread (the
 * self-signed certificate, the configuration of `serve`, the cluster primary's migrations:
 * docs/architecture.md "Process layout"). Both sides of the one protocol:
 *
 * - the thread calls `answerFromThread(fn)`: fn's value is posted as `{ done }`, a throw as
 *   `{ failed: { message, name, code } }`; fn may post notes of its own before (`noteFromThread`);
 * - the caller's `runOnThread` resolves with the value once the thread has ended, rejects with the
 *   failure (an Error of the same message, name and code), a crash, or an end without an answer,
 *   and hands every note to `onNote`.
 */
import { parentPort, Worker } from "node:worker_threads";

interface Failure {
  message: string;
  name: string;
  code?: string;
}

type Reply = { done: unknown } | { failed: Failure } | { note: unknown };

export function runOnThread<T>(
  url: URL,
  workerData: unknown,
  what: string,
  onNote: (note: unknown) => void = () => {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = new Worker(url, { workerData });
    let answer: Reply | null = null;
    w.on("message", (m: Reply) => {
      if ("note" in m) onNote(m.note);
      else answer = m;
    });
    w.once("error", reject);
    w.once("exit", (code) => {
      const a = answer as Reply | null;
      if (a && "done" in a) resolve(a.done as T);
      else if (a && "failed" in a)
        reject(
          Object.assign(new Error(a.failed.message), {
            name: a.failed.name,
            ...(a.failed.code ? { code: a.failed.code } : {}),
          }),
        );
      else reject(new Error(`${what}: thread ended without an answer (exit code ${code})`));
    });
  });
}

/** posts a note to runOnThread's onNote (from the thread) */
export function noteFromThread(note: unknown): void {
  parentPort?.postMessage({ note } satisfies Reply);
}

/** runs fn on the thread and posts its value or its failure (from the thread) */
export async function answerFromThread(fn: () => unknown): Promise<void> {
  let reply: Reply;
  try {
    reply = { done: await fn() };
  } catch (e) {
    const err = e as Partial<NodeJS.ErrnoException> | null;
    reply = {
      failed: {
        message: err?.message ?? String(e),
        name: err?.name ?? "Error",
        ...(typeof err?.code === "string" ? { code: err.code } : {}),
      },
    };
  }
  parentPort?.postMessage(reply);
}
