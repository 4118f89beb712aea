/**
 * How busy the store is, for the background jobs' pacing (jobs.ts, checkpointer.ts;
 * docs/architecture.md "Search index" and "Mail store"): this process's event loop, and commits by
 * other connections — another worker appending, a CLI — which the event loop of the process
 * running a job does not see.
 */
import type { SqliteHandle } from "./sqlite.ts";

/** a loop busier than this (the job's own time not counted) is "busy" */
export const BUSY_UTILIZATION = 0.5;
/** another connection's commit this recent counts as "others writing" */
const OTHERS_WRITING_MS = 1000;

/** This process's event-loop utilization between two calls of busy(), a job's own time left out. */
export class LoopLoad {
  #elu = performance.eventLoopUtilization();
  #ownMs = 0;

  /** time the job itself kept the loop busy (not protocol work) */
  own(ms: number): void {
    this.#ownMs += ms;
  }

  /** whether the loop was busier than BUSY_UTILIZATION since the last call */
  busy(): boolean {
    const now = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(now, this.#elu);
    const own = this.#ownMs;
    this.#elu = now;
    this.#ownMs = 0;
    const total = d.active + d.idle;
    return total > 0 && Math.max(0, d.active - own) / total > BUSY_UTILIZATION;
  }
}

/** Commits by other connections to the same database, seen through SQLite's data_version. */
export class OtherWriters {
  readonly #h: SqliteHandle;
  #version = -1;
  #at = 0;

  constructor(h: SqliteHandle) {
    this.#h = h;
  }

  /** whether another connection committed within the last OTHERS_WRITING_MS */
  writing(): boolean {
    const v = Number(this.#h.raw.pragma("data_version", { simple: true }));
    if (this.#version !== -1 && v !== this.#version) this.#at = performance.now();
    this.#version = v;
    return this.#at > 0 && performance.now() - this.#at < OTHERS_WRITING_MS;
  }
}
