/**
 * Server-wide limits over cluster IPC: connection slots (src/net/conn-limits.ts) and login
 * throttling (src/auth/throttle.ts) counted once, in the primary, for all worker processes.
 *
 * Implementation notes
 * - The primary holds one SlotCounter and one ThrottleState (LimitsHub). A worker asks with a
 *   request carrying an id and gets one reply with the same id; every message has a `type`
 *   starting with "limits:" so it never mixes with other cluster messages.
 * - Connection slots: `limits:acquire` (keys + limits) → allow/deny; the worker sends
 *   `limits:release` with the same id when the connection closes. The primary remembers which
 *   worker holds which slots and drops all of them when that worker exits (crash or SIGKILL), so a
 *   dead worker never keeps counts. IPC between two processes is ordered, so a release can never
 *   overtake its acquire.
 * - Throttle: `limits:check` before a password is checked, `limits:fail` after a failure (the
 *   worker waits for the reply before it answers the client, so the next attempt — on any worker —
 *   sees the failure), `limits:succeed` without reply.
 * - Fail safe: a request not answered within timeoutMs (primary stuck, channel closed) does not
 *   block the connection or login. A connection is then let in (fail open, logged at most every
 *   10 s); its release is still sent, so a late grant is balanced. The throttle falls back to a
 *   copy kept in the worker: the worker records every failure locally too, so without the
 *   primary the limits still hold per worker (the behaviour before they were server-wide).
 */
import type { Cluster, Worker } from "node:cluster";
// throttle.ts itself, not auth/index.ts: the primary loads no password hashing
import {
  type FailureOutcome,
  type LoginThrottle,
  localThrottle,
  type ThrottleOptions,
  ThrottleState,
  type ThrottleVerdict,
} from "../auth/throttle.ts";
import type { ResolvedConfig } from "../config/index.ts";
import {
  type ConnectionSlots,
  countedWants,
  NO_SLOTS,
  SlotCounter,
  type SlotWant,
} from "../net/conn-limits.ts";

export type LimitsRequest =
  | { type: "limits:acquire"; id: number; wants: SlotWant[] }
  | { type: "limits:release"; id: number }
  | { type: "limits:check"; id: number; ip: string; user: string }
  | { type: "limits:fail"; id: number; ip: string; user: string }
  | { type: "limits:succeed"; ip: string; user: string };

export type LimitsReply =
  | { type: "limits:granted"; id: number; ok: boolean }
  | { type: "limits:verdict"; id: number; verdict: ThrottleVerdict }
  | { type: "limits:outcome"; id: number; outcome: FailureOutcome };

/** The throttle settings of a config (the primary and every worker build them alike). */
export function throttleOptions(config: Pick<ResolvedConfig, "auth">): ThrottleOptions {
  return {
    maxFailuresPerIp: config.auth.max_failures_per_ip,
    maxFailuresPerUser: config.auth.max_failures_per_user,
    failureWindowMs: config.auth.failure_window,
    lockoutMs: config.auth.lockout,
    maxUserDelayMs: config.auth.max_user_delay,
  };
}

/** how long a worker waits for the primary before it goes on without it */
export const LIMITS_IPC_TIMEOUT_MS = 2000;

interface LogLike {
  warn(o: object, msg?: string): void;
  info(o: object, msg?: string): void;
}

/** The primary's side: the counters, and which worker holds which connection slots. */
export class LimitsHub {
  readonly slots = new SlotCounter();
  readonly throttle: ThrottleState;
  private readonly now: () => number;
  /** worker id → lease id → keys held */
  private readonly leases = new Map<number, Map<number, string[]>>();

  constructor(throttle: ThrottleOptions, now: () => number = Date.now) {
    this.throttle = new ThrottleState(throttle);
    this.now = now;
  }

  /** Handles one message from a worker; returns the reply to send, null for none. */
  handle(workerId: number, m: LimitsRequest): LimitsReply | null {
    switch (m.type) {
      case "limits:acquire": {
        const wants = Array.isArray(m.wants) ? m.wants : [];
        const ok = this.slots.tryAcquire(wants);
        if (ok && wants.length > 0) {
          let held = this.leases.get(workerId);
          if (!held) this.leases.set(workerId, (held = new Map()));
          held.set(
            m.id,
            wants.map((w) => w.key),
          );
        }
        return { type: "limits:granted", id: m.id, ok };
      }
      case "limits:release": {
        const held = this.leases.get(workerId);
        const keys = held?.get(m.id);
        if (held && keys) {
          held.delete(m.id);
          this.slots.release(keys);
        }
        return null;
      }
      case "limits:check":
        return { type: "limits:verdict", id: m.id, verdict: this.throttle.check(m.ip, m.user, this.now()) };
      case "limits:fail":
        return { type: "limits:outcome", id: m.id, outcome: this.throttle.fail(m.ip, m.user, this.now()) };
      case "limits:succeed":
        this.throttle.succeed(m.ip, m.user);
        return null;
      default:
        return null;
    }
  }

  /** Releases every slot a worker held (it exited); returns how many connections that was. */
  dropWorker(workerId: number): number {
    const held = this.leases.get(workerId);
    this.leases.delete(workerId);
    if (!held) return 0;
    for (const keys of held.values()) this.slots.release(keys);
    return held.size;
  }
}

export function isLimitsMessage(m: unknown): m is { type: string } {
  return (
    typeof m === "object" &&
    m !== null &&
    typeof (m as { type?: unknown }).type === "string" &&
    (m as { type: string }).type.startsWith("limits:")
  );
}

/** Wires a LimitsHub into the primary: answers workers, drops a dead worker's slots. */
export function attachLimitsPrimary(cluster: Cluster, hub: LimitsHub, logger: LogLike): void {
  cluster.on("message", (worker: Worker, m: unknown) => {
    if (!isLimitsMessage(m)) return;
    const reply = hub.handle(worker.id, m as LimitsRequest);
    if (!reply || !worker.isConnected()) return;
    try {
      worker.send(reply, undefined, () => {}); // callback: a closed channel is not an error here
    } catch {
      // the worker is going away; its slots are dropped on exit
    }
  });
  cluster.on("exit", (worker: Worker) => {
    const n = hub.dropWorker(worker.id);
    if (n > 0)
      logger.info({ worker: worker.id, connections: n }, "released the connection slots of an exited worker");
  });
}

/** How a worker talks to the primary (process.send / process.on("message"); tests pass a fake). */
export interface LimitsChannel {
  /** false when the message could not be sent (no channel) */
  send(m: LimitsRequest): boolean;
  onMessage(cb: (m: unknown) => void): void;
}

export function processChannel(proc: NodeJS.Process = process): LimitsChannel {
  return {
    send(m) {
      if (!proc.send || !proc.connected) return false;
      try {
        proc.send(m, undefined, {}, () => {});
        return true;
      } catch {
        return false;
      }
    },
    onMessage(cb) {
      proc.on("message", cb);
    },
  };
}

export interface LimitsClient {
  slots: ConnectionSlots;
  throttle: LoginThrottle;
}

/** The worker's side: ConnectionSlots and LoginThrottle answered by the primary. */
export function createLimitsClient(o: {
  channel: LimitsChannel;
  throttle: ThrottleOptions;
  logger: LogLike;
  timeoutMs?: number;
  now?: () => number;
}): LimitsClient {
  const timeoutMs = o.timeoutMs ?? LIMITS_IPC_TIMEOUT_MS;
  const pending = new Map<number, (r: LimitsReply | null) => void>();
  let nextId = 1;
  let lastWarn = 0;
  const warn = (what: string) => {
    const t = Date.now();
    if (t - lastWarn < 10_000) return;
    lastWarn = t;
    o.logger.warn(
      { what, timeoutMs },
      "no answer from the primary for a server-wide limit; going on without it",
    );
  };
  o.channel.onMessage((m) => {
    if (!isLimitsMessage(m)) return;
    const r = m as LimitsReply;
    const cb = pending.get(r.id);
    if (cb) cb(r);
  });
  /** sends a request and waits for its reply; null after timeoutMs or when it cannot be sent */
  const ask = (m: LimitsRequest & { id: number }): Promise<LimitsReply | null> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => done(null), timeoutMs);
      timer.unref();
      const done = (r: LimitsReply | null) => {
        clearTimeout(timer);
        pending.delete(m.id);
        resolve(r);
      };
      pending.set(m.id, done);
      if (!o.channel.send(m)) done(null);
    });

  // every failure is also counted here, to fall back on when the primary does not answer
  const local = localThrottle(new ThrottleState(o.throttle), o.now);

  const slots: ConnectionSlots = {
    async acquire(wants: readonly SlotWant[]) {
      const counted = countedWants(wants);
      if (counted.length === 0) return NO_SLOTS;
      const id = nextId++;
      const r = await ask({ type: "limits:acquire", id, wants: counted });
      if (r === null) warn("connection slot");
      else if (r.type === "limits:granted" && !r.ok) return null;
      let held = true;
      return {
        release() {
          if (!held) return;
          held = false;
          o.channel.send({ type: "limits:release", id });
        },
      };
    },
  };

  const throttle: LoginThrottle = {
    async check(ip, user) {
      const r = await ask({ type: "limits:check", id: nextId++, ip, user });
      if (r?.type === "limits:verdict") return r.verdict;
      warn("login throttle");
      return local.check(ip, user);
    },
    async fail(ip, user) {
      const mine = await local.fail(ip, user);
      const r = await ask({ type: "limits:fail", id: nextId++, ip, user });
      if (r?.type === "limits:outcome") return r.outcome;
      warn("login throttle");
      return mine;
    },
    succeed(ip, user) {
      local.succeed(ip, user);
      o.channel.send({ type: "limits:succeed", ip, user });
    },
  };
  return { slots, throttle };
}
