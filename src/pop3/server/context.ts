/**
 * Server-wide state shared by the sessions of one process: options, live sessions, per-IP
 * connection counts, the maildrop locks (locks port), LOGIN-DELAY bookkeeping and the CAPA list.
 */
import { type ConnectionSlots, ipKey, localSlots, type SlotLease } from "../../net/conn-limits.ts";
import type { LockService } from "../../store/types.ts";
import type { Pop3ServerOptions } from "../index.ts";
import type { StateKind } from "./state.ts";

const DEFAULT_LOCK_TTL_MS = 120_000;

export interface SessionLike {
  readonly remoteAddress: string;
  readonly tls: boolean;
  readonly state: { readonly kind: StateKind };
  shutdown(reason: string): Promise<void>;
}

export class ServerContext {
  readonly opts: Pop3ServerOptions;
  readonly sessions = new Set<SessionLike>();
  readonly locks: LockService;
  readonly lockTtlMs: number;
  /** per-IP connection limit, counted for the whole server */
  private readonly slots: ConnectionSlots;
  private readonly leases = new WeakMap<SessionLike, SlotLease>();
  /** RFC 2449 §8.1.1 LOGIN-DELAY: last login per account (this process only) */
  private readonly lastLogin = new Map<number, number>();
  private nextId = 1;

  constructor(opts: Pop3ServerOptions) {
    this.opts = opts;
    this.locks = opts.locks ?? opts.store.locks;
    this.lockTtlMs = opts.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
    this.slots = opts.slots ?? localSlots();
  }

  sessionId(): string {
    return `pop3-${process.pid}-${this.nextId++}`;
  }

  /**
   * Takes a per-IP slot and registers the session; false when the limit is reached. A connection
   * that went away while the slot was asked for gives it back at once.
   */
  async addConnection(s: SessionLike, socket: { destroyed: boolean }): Promise<boolean> {
    const lease = await this.slots.acquire([
      { key: `pop3 ip ${ipKey(s.remoteAddress)}`, limit: this.opts.limits.maxConnectionsPerIp },
    ]);
    if (!lease) return false;
    if (socket.destroyed) {
      lease.release();
      return true;
    }
    this.leases.set(s, lease);
    this.sessions.add(s);
    return true;
  }

  sessionClosed(s: SessionLike): void {
    if (!this.sessions.delete(s)) return;
    this.leases.get(s)?.release();
    this.leases.delete(s);
  }

  /** seconds the account must still wait before logging in again, 0 = may log in now */
  loginDelayLeft(accountId: number, now = Date.now()): number {
    const d = this.opts.limits.loginDelaySeconds;
    if (!d) return 0;
    const last = this.lastLogin.get(accountId);
    if (last === undefined) return 0;
    const left = Math.ceil((last + d * 1000 - now) / 1000);
    return Math.max(left, 0);
  }

  recordLogin(accountId: number, now = Date.now()): void {
    if (!this.opts.limits.loginDelaySeconds) return;
    this.lastLogin.set(accountId, now);
    // bounded: forget entries older than the delay when the map grows
    if (this.lastLogin.size > 100_000) {
      const cutoff = now - this.opts.limits.loginDelaySeconds * 1000;
      for (const [k, t] of this.lastLogin) if (t < cutoff) this.lastLogin.delete(k);
    }
  }

  /** RFC 2449 §5 CAPA; the list depends on the state and on TLS (RFC 2595 §4: no STLS once secure). */
  capabilities(s: SessionLike): string[] {
    const o = this.opts;
    const caps = ["CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];
    // RFC 2449 §6.7: EXPIRE policy in days; NEVER = the server never deletes by age
    const exp = o.limits.expireDays ?? "NEVER";
    caps.push(`EXPIRE ${exp}`);
    // RFC 2449 §6.5: LOGIN-DELAY only when a delay is enforced
    if (o.limits.loginDelaySeconds) caps.push(`LOGIN-DELAY ${o.limits.loginDelaySeconds}`);
    if (s.state.kind === "authorization") {
      caps.push("USER", "SASL PLAIN");
      if (o.tls && !s.tls) caps.push("STLS"); // RFC 2595 §4
      caps.push("UTF8 USER"); // RFC 6856 §2: UTF-8 in USER/PASS accepted
    }
    caps.push("IMPLEMENTATION postkontor");
    return caps;
  }
}
