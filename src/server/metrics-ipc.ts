/**
 * `/metrics` over all worker processes: the worker serving a scrape asks the primary
 * (`metrics:scrape`), the primary asks every live worker for its counters (`metrics:collect`),
 * sums the answers (src/net/metrics.ts sumSnapshots) and replies (`metrics:result`). A worker that
 * does not answer within the timeout is left out of that scrape; without the primary (single
 * process, or no answer) the worker's own counters are served.
 */
import type { Cluster, Worker } from "node:cluster";
import { snapshot, sumSnapshots } from "../net/metrics.ts";

type Snapshot = Record<string, number>;

export type MetricsMessage =
  | { type: "metrics:scrape"; id: number }
  | { type: "metrics:collect"; id: number }
  | { type: "metrics:snapshot"; id: number; counters: Snapshot }
  | { type: "metrics:result"; id: number; counters: Snapshot; workers: number };

/** What the HTTP service calls on a scrape: the counters of the whole server and how many processes answered. */
export type MetricsSource = () => Promise<{ counters: Snapshot; processes: number }>;

export const METRICS_IPC_TIMEOUT_MS = 1000;

function isMetricsMessage(m: unknown): m is MetricsMessage {
  return (
    typeof m === "object" &&
    m !== null &&
    typeof (m as { type?: unknown }).type === "string" &&
    (m as { type: string }).type.startsWith("metrics:") &&
    typeof (m as { id?: unknown }).id === "number"
  );
}

/** This process alone (workers = 1). */
export const localMetrics: MetricsSource = async () => ({ counters: snapshot(), processes: 1 });

/** The primary's side: answers a worker's scrape with the sum over every worker. */
export function attachMetricsPrimary(cluster: Cluster, timeoutMs = METRICS_IPC_TIMEOUT_MS): void {
  let nextId = 1;
  const rounds = new Map<number, { got: Snapshot[]; expected: number; done(): void }>();
  cluster.on("message", (worker: Worker, m: unknown) => {
    if (!isMetricsMessage(m)) return;
    if (m.type === "metrics:snapshot") {
      const r = rounds.get(m.id);
      if (r && m.counters && typeof m.counters === "object") {
        r.got.push(m.counters);
        if (r.got.length >= r.expected) r.done();
      }
      return;
    }
    if (m.type !== "metrics:scrape") return;
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w?.isConnected() === true,
    );
    const id = nextId++;
    const reply = (got: Snapshot[]) => {
      rounds.delete(id);
      if (!worker.isConnected()) return;
      const msg: MetricsMessage = {
        type: "metrics:result",
        id: m.id,
        // the primary's own counters too (the daily backup, src/backup/schedule.ts)
        counters: sumSnapshots([...got, snapshot()]),
        workers: got.length,
      };
      try {
        worker.send(msg, undefined, () => {});
      } catch {
        // the asking worker is going away
      }
    };
    const got: Snapshot[] = [];
    const timer = setTimeout(() => reply(got), timeoutMs);
    timer.unref();
    rounds.set(id, {
      got,
      expected: workers.length,
      done() {
        clearTimeout(timer);
        reply(got);
      },
    });
    for (const w of workers) {
      try {
        w.send({ type: "metrics:collect", id } satisfies MetricsMessage, undefined, () => {});
      } catch {
        // counted as not answering
      }
    }
  });
}

/** The worker's side: answers the primary's collect requests, and scrapes through it. */
export function createMetricsClient(
  proc: NodeJS.Process = process,
  timeoutMs = METRICS_IPC_TIMEOUT_MS * 2,
): MetricsSource {
  const pending = new Map<number, (r: { counters: Snapshot; processes: number } | null) => void>();
  let nextId = 1;
  proc.on("message", (m: unknown) => {
    if (!isMetricsMessage(m)) return;
    if (m.type === "metrics:collect") {
      if (proc.connected && proc.send)
        proc.send(
          { type: "metrics:snapshot", id: m.id, counters: snapshot() } satisfies MetricsMessage,
          undefined,
          {},
          () => {},
        );
    } else if (m.type === "metrics:result") {
      pending.get(m.id)?.({ counters: m.counters, processes: m.workers });
    }
  });
  return () =>
    new Promise((resolve) => {
      const id = nextId++;
      const done = (r: { counters: Snapshot; processes: number } | null) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(r ?? { counters: snapshot(), processes: 1 });
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      timer.unref();
      pending.set(id, done);
      if (!proc.connected || !proc.send) return done(null);
      try {
        proc.send({ type: "metrics:scrape", id } satisfies MetricsMessage, undefined, {}, () => {});
      } catch {
        done(null);
      }
    });
}
