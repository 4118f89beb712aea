/**
 * How busy the store is, and which process does the background work, for the background jobs'
 * pacing (jobs.ts, checkpointer.ts; docs/architecture.md "Search index" and "Mail store"): this
 * process's event loop, commits by other connections — another worker appending, a CLI — which
 * the event loop of the process running a job does not see, and a heartbeat file by which a
 * process that is not busy takes the work over from one that is.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { SqliteHandle } from "./sqlite.ts";

/** a loop busier than this (the job's own time not counted) is "busy" */
export const BUSY_UTILIZATION = 0.5;
/** another connection's commit this recent counts as "others writing" */
const OTHERS_WRITING_MS = 1000;

/** time the background jobs of this process kept its event loop busy, in ms (LoopLoad.own) */
let jobMs = 0;

/**
 * This process's event-loop utilization between two calls of busy(), the background jobs' own
 * time left out — every job's, so that one job's batches do not make another (the checkpointer)
 * take the process for busy serving.
 */
export class LoopLoad {
  #elu = performance.eventLoopUtilization();
  #jobAt = jobMs;

  /** time a background job kept the loop busy (not protocol work) */
  own(ms: number): void {
    jobMs += ms;
  }

  /** whether the loop was busier than BUSY_UTILIZATION since the last call */
  busy(): boolean {
    const now = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(now, this.#elu);
    const own = jobMs - this.#jobAt;
    this.#elu = now;
    this.#jobAt = jobMs;
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

/**
 * After each batch a job pauses as long as the batch took (at most half of the time); while this
 * process's event loop is busy serving, this many times as long (at most a tenth of the time). A
 * mailbox of 100,000 messages deleted during a bulk APPEND then slows it by a bounded share —
 * when no other process can take the work over (PeerPacing).
 */
export const BUSY_PAUSE_FACTOR = 9;
/**
 * The process that is not busy, doing the work while another one writes: pause this many times
 * the batch (the batch's time includes waiting for the write lock the writer holds).
 */
const PEER_PAUSE_FACTOR = 1;
/** a peer's heartbeat this recent means it is doing the background work */
const PEER_FRESH_MS = 2000;
/** a working process rewrites its heartbeat at most this often */
const BEAT_EVERY_MS = 250;
/** a busy process that leaves the work to a peer looks again after this long */
export const PEER_DEFER_MS = 1000;

/** PeerPacing.turn's answer: leave the batch to a peer, or run it and pause `pause` × its time */
export interface Turn {
  defer: boolean;
  /** this process's loop was busy serving */
  busy: boolean;
  pause: number;
}

/**
 * Who does the background work, and how fast (docs/architecture.md "Mail store"). Every process
 * runs the jobs its own commits call for; but a process busy serving (a bulk APPEND, an SMTP
 * burst) leaves them to another process that is not — the other worker, on another core — which
 * writes its token into one file under <data_dir>/run/ while it works. A file, not a row:
 * writing it must not need the write lock the work competes for, and every process on the host
 * sees it. A process that stops (or gets busy) stops beating, and after PEER_FRESH_MS the others
 * go on, the busy ones at their bounded share.
 */
export class PeerPacing {
  readonly others: OtherWriters;
  readonly #path: string;
  readonly #token = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  #lastBeat = 0;
  /** whenIdle() is waiting: every batch runs, back to back */
  fast = false;

  readonly #freshMs: number;

  /** `freshMs`: how long a peer's heartbeat counts (tests shorten it) */
  constructor(h: SqliteHandle, heartbeatPath: string, freshMs = PEER_FRESH_MS) {
    this.others = new OtherWriters(h);
    this.#freshMs = freshMs;
    this.#path = heartbeatPath;
    try {
      mkdirSync(dirname(heartbeatPath), { recursive: true });
    } catch {
      // no heartbeat: every process paces alone, as with one worker
    }
  }

  /**
   * Whether and how a batch runs now: deferred while `load` (this process) is busy and a peer
   * works; else paused BUSY_PAUSE_FACTOR × while busy, PEER_PAUSE_FACTOR × while another process
   * writes (this one works and beats), `idle` × otherwise.
   */
  turn(load: Pick<LoopLoad, "busy">, idle: number): Turn {
    if (this.fast) return { defer: false, busy: false, pause: 0 };
    if (load.busy()) {
      return this.#peerActive()
        ? { defer: true, busy: true, pause: 0 }
        : { defer: false, busy: true, pause: BUSY_PAUSE_FACTOR };
    }
    this.#beat();
    return { defer: false, busy: false, pause: this.others.writing() ? PEER_PAUSE_FACTOR : idle };
  }

  /** this process is doing background work now */
  #beat(): void {
    const now = Date.now();
    if (now - this.#lastBeat < BEAT_EVERY_MS) return;
    this.#lastBeat = now;
    try {
      writeFileSync(this.#path, this.#token);
    } catch {
      // the others pace alone
    }
  }

  /** whether another process did background work within the last freshMs */
  #peerActive(): boolean {
    try {
      if (Date.now() - statSync(this.#path).mtimeMs > this.#freshMs) return false;
      return readFileSync(this.#path, "utf8") !== this.#token;
    } catch {
      return false;
    }
  }
}
