/**
 * Stalled-worker watchdog (server.worker_stall_s).
 *
 * Each cluster worker sends the primary a `heartbeat` IPC message from a timer: the timer fires
 * only while the worker's event loop runs, so a loop blocked by a runaway computation (or a
 * synchronous call that never returns) stops the beats. The primary's Watchdog notes the time of
 * each worker's last beat and reports a worker silent for longer than the limit; the primary then
 * logs it and kills it with SIGKILL (a blocked event loop never runs a SIGTERM handler), and the
 * cluster exit handler replaces it like a crashed worker (and counts it towards the crash limit).
 * Killing the process closes its sockets, so its clients see the connection drop instead of
 * hanging on a server that never answers.
 *
 * Test hook (installStallHook): with POSTKONTOR_TEST_HOOKS=1 in the environment, a worker blocks
 * its own event loop on SIGUSR2. Signals come only from the same host and a user allowed to signal
 * the process; nothing a network client sends reaches it, and without the variable nothing is
 * installed.
 */

/** the worker → primary beat (part of the worker message union in index.ts) */
export interface HeartbeatMessage {
  type: "heartbeat";
}

/** Beat period for a stall limit: several beats per limit, at most one a second, at least 50 ms apart. */
export function heartbeatIntervalMs(stallMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(stallMs / 5)));
}

/** Worker side: beats while the event loop runs (stallMs 0 = off). Returns the stop function. */
export function startHeartbeat(stallMs: number, send: (m: HeartbeatMessage) => void): () => void {
  if (stallMs <= 0) return () => {};
  const t = setInterval(() => send({ type: "heartbeat" }), heartbeatIntervalMs(stallMs));
  t.unref(); // never keeps a worker alive that is otherwise done
  return () => clearInterval(t);
}

export interface WatchdogOptions<K> {
  /** silence limit in ms; > 0 */
  stallMs: number;
  /** called once per stall; the worker is no longer watched afterwards */
  onStall(worker: K, silentMs: number): void;
  /** clock (tests) */
  now?: () => number;
}

/**
 * Primary side: last-beat time per watched worker, checked from a timer (start) or by check().
 * Workers are watched from `watch` (after they are ready: startup may take a while on a loaded
 * host) until `forget` (exit) or a stall.
 */
export class Watchdog<K> {
  readonly #last = new Map<K, number>();
  readonly #o: WatchdogOptions<K>;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #lastCheck: number;

  constructor(o: WatchdogOptions<K>) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#lastCheck = this.#now();
  }

  watch(worker: K): void {
    this.#last.set(worker, this.#now());
  }

  beat(worker: K): void {
    if (this.#last.has(worker)) this.#last.set(worker, this.#now());
  }

  forget(worker: K): void {
    this.#last.delete(worker);
  }

  get watched(): number {
    return this.#last.size;
  }

  /** Reports every worker silent for longer than the limit. */
  check(): void {
    const now = this.#now();
    const sinceCheck = now - this.#lastCheck;
    this.#lastCheck = now;
    // The primary itself was blocked for half the limit (or the host was suspended): beats that
    // arrived meanwhile are still unread in its IPC queue, because timers run before I/O. Start
    // the count again instead of killing workers that did nothing wrong.
    if (sinceCheck > this.#o.stallMs / 2) {
      for (const k of this.#last.keys()) this.#last.set(k, now);
      return;
    }
    for (const [k, at] of [...this.#last]) {
      const silent = now - at;
      if (silent > this.#o.stallMs) {
        this.#last.delete(k);
        this.#o.onStall(k, silent);
      }
    }
  }

  start(): void {
    if (this.#timer) return;
    this.#lastCheck = this.#now();
    this.#timer = setInterval(() => this.check(), heartbeatIntervalMs(this.#o.stallMs));
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/**
 * Test-only: with POSTKONTOR_TEST_HOOKS=1, SIGUSR2 blocks this process's event loop for up to
 * maxBlockMs (Atomics.wait: blocked, but not spinning a core). Returns true when installed.
 */
export function installStallHook(
  logger: { warn(o: object, msg: string): void },
  env: NodeJS.ProcessEnv = process.env,
  maxBlockMs = 120_000,
): boolean {
  if (env.POSTKONTOR_TEST_HOOKS !== "1") return false;
  process.on("SIGUSR2", () => {
    logger.warn({ blockMs: maxBlockMs }, "test hook: blocking the event loop");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, maxBlockMs);
  });
  return true;
}

/** the primary's copy of an accepted connection (a libuv TCP handle) */
interface ConnectionHandle {
  close(): void;
}

/** the NODE_CLUSTER messages of node:cluster that carry connections (lib/internal/cluster) */
interface ClusterMessage {
  cmd?: unknown;
  act?: unknown;
  seq?: unknown;
  ack?: unknown;
}

/**
 * Connections handed to a worker that it has not acknowledged; `drop()` closes them.
 *
 * With node:cluster's round-robin scheduling (the default except on Windows) the primary accepts
 * each connection and sends its handle to a free worker, closing its own copy when the worker
 * acknowledges it. A worker that dies first never acknowledges, and Node keeps the primary's copy
 * open (its RoundRobinHandle forgets the handoff): the client would wait for ever on a connection
 * nobody serves. A blocked worker stops acknowledging at once, so a stall leaves one such
 * connection per listener. The primary calls `drop()` when a worker exits, which closes them: the
 * client sees the connection close and reconnects.
 */
export function trackHandoffs(child: {
  send: (...args: never[]) => boolean;
  on(event: "internalMessage", listener: (m: ClusterMessage) => void): unknown;
}): { drop(): number } {
  const pending = new Map<number, ConnectionHandle>();
  const send = child.send as (
    this: unknown,
    message: ClusterMessage,
    handle?: unknown,
    ...rest: unknown[]
  ) => boolean;
  child.send = function (this: unknown, message: ClusterMessage, handle?: unknown, ...rest: unknown[]) {
    if (
      message?.cmd === "NODE_CLUSTER" &&
      message.act === "newconn" &&
      typeof message.seq === "number" &&
      typeof (handle as ConnectionHandle | undefined)?.close === "function"
    ) {
      pending.set(message.seq, handle as ConnectionHandle);
    }
    return send.call(this, message, handle, ...rest);
  } as never;
  child.on("internalMessage", (m) => {
    if (m?.cmd === "NODE_CLUSTER" && typeof m.ack === "number") pending.delete(m.ack);
  });
  return {
    drop() {
      const n = pending.size;
      for (const h of pending.values()) {
        try {
          h.close();
        } catch {
          // already closed
        }
      }
      pending.clear();
      return n;
    },
  };
}
