/**
 * The counters port: failure counters with a window and a lockout, shared by everything that
 * uses the same adapter. Login throttling (src/auth/throttle-shared.ts) counts through it when
 * several nodes share a PostgreSQL store, so failures on node A throttle node B. A single SQLite
 * node does not use it: its counters stay in memory (src/auth/throttle.ts ThrottleState, over
 * cluster IPC for worker processes), which is faster and exact for one host.
 *
 * The rules are ThrottleState's (one FailureTracker per key): a failure more than windowMs after
 * the window started, while not locked out, starts a new window with count 1; reaching limit
 * with lockoutMs > 0 starts a lockout of lockoutMs (not extended while it runs).
 */

export interface CounterHit {
  key: string;
  /** failures that start a lockout (0 = never) */
  limit: number;
  windowMs: number;
  /** 0 = counted, never locked */
  lockoutMs: number;
}

export interface CounterState {
  /** failures in the current window (0 when it has ended) */
  count: number;
  /** a lockout is running */
  locked: boolean;
}

export interface FailureCounters {
  /** counts one failure on each key (atomically per key); returns per key the new count and
   *  whether this failure started a lockout */
  fail(hits: readonly CounterHit[]): Promise<Array<{ count: number; lockedNow: boolean }>>;
  /** the keys' states, in order */
  read(keys: readonly string[], windowMs: number): Promise<CounterState[]>;
  clear(key: string): Promise<void>;
}
