/**
 * The account change log on SQL (table change_log, migration 6): pruning old history
 * (the rows are written by the transaction context through the db port's `changes.insert`). The logic
 * (net effects, state tokens, RFC 8620 §5.2 folding) is in ../changes.ts and the read side
 * ("changes since state S") in domain/changes-read.ts over the db port; this file only holds
 * queries. Portable SQL: PostgreSQL needs obj_id with COLLATE "C" so that the
 * (modseq, obj_id) order, which intermediate states depend on, is byte order as in SQLite.
 */
import type Database from "better-sqlite3";
import { KIND_CODE } from "../../changes.ts";

type Stmt = (text: string, safeIntegers?: boolean) => Database.Statement;

/** rows deleted per pruning transaction (bounds the write-lock hold time) */
export const PRUNE_BATCH = 500;

/** Whether an email / thread id exists in the account now (before a row is inserted). */
export function objectExists(stmt: Stmt, accountId: number, kind: "email" | "thread", id: string): boolean {
  const col = kind === "email" ? "email_id" : "thread_id";
  return (
    stmt(`SELECT 1 FROM message WHERE account_id = ? AND ${col} = ? LIMIT 1`).raw(true).get(accountId, id) !==
    undefined
  );
}

// --- pruning ------------------------------------------------------------------------------

/**
 * The highest modseq up to which the account's change rows are all older than `cutoff` (ms),
 * or null. Rows are in modseq order per kind and their times follow it (both are taken under
 * the write lock), so the scan stops at the first row young enough.
 */
export function pruneTarget(stmt: Stmt, accountId: number, cutoff: number): bigint | null {
  let target: bigint | null = null;
  const firstYoung = stmt(
    `SELECT modseq FROM change_log WHERE account_id = ? AND kind = ? AND at >= ?
      ORDER BY modseq LIMIT 1`,
    true,
  ).raw(true);
  const lastOld = stmt(
    `SELECT MAX(modseq) FROM change_log WHERE account_id = ? AND kind = ? AND modseq < ? AND at < ?`,
    true,
  ).raw(true);
  for (const code of Object.values(KIND_CODE)) {
    const young = firstYoung.get(accountId, code, cutoff) as [bigint] | undefined;
    // rows below the first young one are old; without a young one, every row is
    const bound = young ? young[0] : 2n ** 62n;
    const old = lastOld.get(accountId, code, bound, cutoff) as [bigint | null] | undefined;
    if (old && old[0] !== null && (target === null || old[0] > target)) target = old[0];
  }
  return target;
}

/**
 * One pruning transaction for an account: raises the floors first (so no answer ever relies on
 * a row being deleted), then deletes up to PRUNE_BATCH rows ≤ target; returns rows deleted.
 */
export function pruneBatch(stmt: Stmt, accountId: number, target: bigint): number {
  stmt("UPDATE account SET change_floor = ? WHERE id = ? AND change_floor < ?").run(
    target,
    accountId,
    target,
  );
  let left = PRUNE_BATCH;
  const del = stmt(
    `DELETE FROM change_log WHERE account_id = ? AND kind = ? AND (modseq, obj_id) IN
       (SELECT modseq, obj_id FROM change_log WHERE account_id = ? AND kind = ? AND modseq <= ?
         ORDER BY modseq LIMIT ?)`,
  );
  for (const code of Object.values(KIND_CODE)) {
    if (left <= 0) break;
    left -= del.run(accountId, code, accountId, code, target, left).changes;
  }
  // expunge log (QRESYNC VANISHED): per mailbox, the floor is the newest row pruned
  const mailboxes = stmt("SELECT id FROM mailbox WHERE account_id = ?").raw(true).all(accountId) as Array<
    [number]
  >;
  const newest = stmt("SELECT MAX(modseq) FROM expunged WHERE mailbox_id = ? AND modseq <= ?", true).raw(
    true,
  );
  const delExp = stmt(
    `DELETE FROM expunged WHERE mailbox_id = ? AND uid IN
       (SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq <= ? LIMIT ?)`,
  );
  for (const [mbId] of mailboxes) {
    if (left <= 0) break;
    const n = newest.get(mbId, target) as [bigint | null];
    if (n[0] === null) continue;
    // RFC 7162 §3.2.5.2: below this floor changesSince reports every absent uid as vanished
    stmt("UPDATE mailbox SET expunge_floor = ? WHERE id = ? AND expunge_floor < ?").run(n[0], mbId, n[0]);
    left -= delExp.run(mbId, mbId, target, left).changes;
  }
  return PRUNE_BATCH - left;
}

export interface PruneIo {
  stmt: Stmt;
  /** runs fn on a connection without the write lock */
  read<T>(fn: () => T): Promise<T>;
  /** runs fn in a write transaction */
  write<T>(fn: () => T): Promise<T>;
  /** true once the store is closing: the job stops between batches */
  stopped(): boolean;
  /** between two batches (default: one turn of the event loop; the background job paces, jobs.ts) */
  pace?(): Promise<void>;
}

/**
 * Prunes history older than `cutoff` (ms): per account the change-log rows and expunge-log rows
 * up to the last modseq all older than it (floors raised first), then thread references whose
 * thread has no message left. Every step is a short write transaction of at most PRUNE_BATCH rows,
 * found by a read outside the lock; the job yields to the event loop between them (io.pace).
 */
export async function pruneHistory(io: PruneIo, cutoff: number): Promise<void> {
  const yieldNow = io.pace ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  let lastId = 0;
  // bounded: each round moves the account cursor forward
  for (let round = 0; round < 10_000_000; round++) {
    const from = lastId;
    const ids = await io.read(
      () =>
        io.stmt("SELECT id FROM account WHERE id > ? ORDER BY id LIMIT 100").raw(true).all(from) as Array<
          [number]
        >,
    );
    if (ids.length === 0) break;
    for (const [id] of ids) {
      if (io.stopped()) return;
      lastId = id;
      const target = await io.read(() => pruneTarget(io.stmt, id, cutoff));
      if (target === null) continue;
      // bounded: each pass deletes PRUNE_BATCH rows or finishes the account
      for (let pass = 0; pass < 10_000_000 && !io.stopped(); pass++) {
        const n = await io.write(() => pruneBatch(io.stmt, id, target));
        if (n < PRUNE_BATCH) break;
        await yieldNow();
      }
    }
  }
  let cursor: { accountId: number; msgid: string } | null = { accountId: 0, msgid: "" };
  // bounded: each round moves the thread_ref cursor forward
  for (let round = 0; cursor && !io.stopped() && round < 10_000_000; round++) {
    const from: { accountId: number; msgid: string } = cursor;
    const page = await io.read(() => deadThreadRefs(io.stmt, from, PRUNE_BATCH));
    if (page.dead.length > 0) await io.write(() => dropThreadRefs(io.stmt, page.dead));
    cursor = page.next;
    await yieldNow();
  }
}

/** Up to `limit` thread_ref keys after the cursor whose thread has no message any more. */
export function deadThreadRefs(
  stmt: Stmt,
  after: { accountId: number; msgid: string },
  limit: number,
): { dead: Array<[number, string, string]>; next: { accountId: number; msgid: string } | null } {
  const rows = stmt(
    `SELECT account_id, msgid, thread_id FROM thread_ref
      WHERE account_id > ? OR (account_id = ? AND msgid > ?) ORDER BY account_id, msgid LIMIT ?`,
  )
    .raw(true)
    .all(after.accountId, after.accountId, after.msgid, limit) as Array<[number, string, string]>;
  const alive = new Map<string, boolean>();
  const dead: Array<[number, string, string]> = [];
  for (const r of rows) {
    const key = `${r[0]}\u0000${r[2]}`;
    let a = alive.get(key);
    if (a === undefined) {
      a = objectExists(stmt, r[0], "thread", r[2]);
      alive.set(key, a);
    }
    if (!a) dead.push(r);
  }
  const last = rows[rows.length - 1];
  return { dead, next: rows.length < limit || !last ? null : { accountId: last[0], msgid: last[1] } };
}

/** Deletes the given refs whose thread still has no message (re-checked under the write lock). */
export function dropThreadRefs(stmt: Stmt, refs: Array<[number, string, string]>): number {
  const del = stmt(
    `DELETE FROM thread_ref WHERE account_id = ? AND msgid = ?
       AND NOT EXISTS (SELECT 1 FROM message WHERE account_id = ? AND thread_id = ?)`,
  );
  let n = 0;
  for (const [a, m, t] of refs) n += del.run(a, m, a, t).changes;
  return n;
}
