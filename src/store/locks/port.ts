/**
 * The locks port: named leases shared by every process (and, with a database adapter, every
 * node) — such as the POP3 maildrop lock (RFC 1939 §8, RFC 2449 §8.1.2 [IN-USE]).
 * Adapters: file.ts (lock files under the data dir: one host), postgres.ts (leases in a table of
 * the database: every node).
 *
 * Contract:
 * - acquire gives the lease to one caller at a time, or null while someone else holds it;
 * - a lease not renewed within ttlMs is free again (so is one held by a process that died: the
 *   file adapter also frees it at once when it sees the holder's pid is gone on this host);
 * - renew extends it to now + ttlMs and answers false when it was lost meanwhile;
 * - release is idempotent and never removes a lease someone else holds now.
 */

export interface Lease {
  readonly name: string;
  readonly owner: string;
  /** ms since the epoch until which the lease holds without renewal */
  readonly expiresAt: number;
  renew(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

export interface LockService {
  /**
   * name: segments of [A-Za-z0-9._-] separated by "/", e.g. "pop3/42"; owner: who holds it (for
   * logs and admin listings), e.g. "host/pid/session"
   */
  acquire(name: string, owner: string, ttlMs: number): Promise<Lease | null>;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** Checks a lease name (bounded: at most 8 segments of 64 characters). */
export function checkLeaseName(name: string): string[] {
  const parts = name.split("/");
  if (parts.length > 8 || !parts.every((p) => SEGMENT.test(p))) {
    throw new Error(`invalid lease name ${JSON.stringify(name)}`);
  }
  return parts;
}
