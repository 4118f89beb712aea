/**
 * POP3 session state (RFC 1939 §3) as a discriminated union: what a state has is typed — the user
 * name given by USER in AUTHORIZATION; the account, its maildrop snapshot and the maildrop lock in
 * TRANSACTION; the account and the lock (released when the update is done) in UPDATE. The command
 * table (commands.ts) hands each handler the state its command is allowed in, narrowed.
 */
import type { Account, Lease } from "../../store/types.ts";
import type { Maildrop } from "./maildrop.ts";

export type Pop3State =
  | { readonly kind: "authorization"; readonly user?: string }
  | {
      readonly kind: "transaction";
      readonly account: Account;
      readonly maildrop: Maildrop;
      readonly lock: MaildropLock;
    }
  | { readonly kind: "update"; readonly account: Account; readonly lock: MaildropLock }
  | { readonly kind: "closed" };
export type StateKind = Pop3State["kind"];
export type AuthorizationState = Extract<Pop3State, { kind: "authorization" }>;
export type TransactionState = Extract<Pop3State, { kind: "transaction" }>;

export const AUTHORIZATION: AuthorizationState = Object.freeze({ kind: "authorization" });
export const CLOSED: Pop3State = Object.freeze({ kind: "closed" });

type Warn = (extra: object, msg: string) => void;

/**
 * The exclusive-access lock of a maildrop (RFC 1939 §8) from the locks port: the lease lives while
 * the session does, renewed every third of its time; release() is idempotent and stops renewing.
 */
export class MaildropLock {
  private readonly lease: Lease;
  private readonly ttlMs: number;
  private readonly warn: Warn;
  private timer: NodeJS.Timeout | null = null;
  private released = false;
  private releasing: Promise<void> | null = null;

  constructor(lease: Lease, ttlMs: number, warn: Warn) {
    this.lease = lease;
    this.ttlMs = ttlMs;
    this.warn = warn;
  }

  /** starts the renewal cycle */
  keep(): void {
    if (this.released) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        if (this.released) return;
        this.lease.renew(this.ttlMs).then(
          (ok) => {
            if (this.released) return;
            if (ok) this.keep();
            else this.warn({}, "pop3 maildrop lock lost (lease expired and taken over)");
          },
          (e: unknown) => {
            this.warn({ err: String(e) }, "pop3 maildrop lock renewal failed");
            this.keep();
          },
        );
      },
      Math.max(1, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref();
  }

  /**
   * Stops renewing and gives the lease back; resolves once the locks port has released it (on
   * PostgreSQL a database round trip), never rejects. Callers that reply afterwards (QUIT) await it.
   */
  release(): Promise<void> {
    if (this.releasing) return this.releasing;
    this.released = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.releasing = this.lease.release().catch((e: unknown) => {
      // the lease then ends by its expiry
      this.warn({ err: String(e) }, "pop3 maildrop lock release failed");
    });
    return this.releasing;
  }
}
