/**
 * Connection limits (connections per IP, sessions per user) counted once for the whole server.
 *
 * Implementation notes
 * - One interface, two implementations: `localSlots()` counts in this process (server.workers = 1,
 *   and the counter the primary keeps for a cluster); a cluster worker gets an implementation that
 *   asks the primary over cluster IPC (src/server/limits-ipc.ts), which holds the one SlotCounter,
 *   so a limit holds over all workers instead of once per worker.
 * - A caller names the keys it wants a slot under (e.g. `imap ip 192.0.2.1`) with the limit of
 *   each; all are taken or none. The lease it gets back releases them, once (release is
 *   idempotent). A limit of 0 means unlimited: such keys are not counted at all, and a request
 *   with no counted key is granted without asking anyone (no IPC round trip).
 * - The accept path costs at most one IPC round trip (per-IP); the per-user check runs at login.
 */
import { unmapIpv4 } from "./address.ts";

/** one slot wanted under `key`; refused when `limit` slots are already held there (0 = unlimited) */
export interface SlotWant {
  key: string;
  limit: number;
}

export interface SlotLease {
  /** gives the slots back; calling it again does nothing */
  release(): void;
}

export interface ConnectionSlots {
  /** a slot under every counted key, or null when one of the limits is reached */
  acquire(wants: readonly SlotWant[]): Promise<SlotLease | null>;
}

/** A lease with nothing to give back (every key unlimited). */
export const NO_SLOTS: SlotLease = Object.freeze({ release() {} });

/** Keeps only the keys with a limit (0 = unlimited is not counted). */
export function countedWants(wants: readonly SlotWant[]): SlotWant[] {
  return wants.filter((w) => w.limit > 0);
}

/** Exact counts per key; all-or-nothing acquisition. Bounded by the live connections. */
export class SlotCounter {
  private readonly counts = new Map<string, number>();

  /** takes one slot under each key, or none (false) when one of them is full */
  tryAcquire(wants: readonly SlotWant[]): boolean {
    for (const w of wants) {
      if (w.limit > 0 && (this.counts.get(w.key) ?? 0) >= w.limit) return false;
    }
    for (const w of wants) this.counts.set(w.key, (this.counts.get(w.key) ?? 0) + 1);
    return true;
  }

  release(keys: readonly string[]): void {
    for (const k of keys) {
      const n = (this.counts.get(k) ?? 1) - 1;
      if (n <= 0) this.counts.delete(k);
      else this.counts.set(k, n);
    }
  }

  /** slots held under key (tests, diagnostics) */
  held(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** number of keys with a slot held */
  get size(): number {
    return this.counts.size;
  }
}

/** The in-process implementation (a single process, or tests). */
export function localSlots(counter = new SlotCounter()): ConnectionSlots & { counter: SlotCounter } {
  return {
    counter,
    acquire(wants) {
      const counted = countedWants(wants);
      if (counted.length === 0) return Promise.resolve(NO_SLOTS);
      if (!counter.tryAcquire(counted)) return Promise.resolve(null);
      const keys = counted.map((w) => w.key);
      let held = true;
      return Promise.resolve({
        release() {
          if (!held) return;
          held = false;
          counter.release(keys);
        },
      });
    },
  };
}

/** Connection-limit key of a remote address: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as IPv4. */
export function ipKey(remoteAddress: string | undefined): string {
  return unmapIpv4(remoteAddress ?? "");
}
