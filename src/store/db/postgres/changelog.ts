/**
 * History pruning on PostgreSQL: the same steps as db/sqlite/changelog.ts (floors raised first,
 * then at most PRUNE_BATCH rows per transaction; thread references whose thread has no message),
 * each write transaction holding the account's lock (pg.ts accountGuard).
 */
import { KIND_CODE } from "../../changes.ts";
import { accountGuard, big, type Exec, num } from "./pg.ts";

/** rows deleted per pruning transaction */
export const PRUNE_BATCH = 500;

export interface PgPruneIo {
  read<T>(fn: (x: Exec) => Promise<T>): Promise<T>;
  write<T>(fn: (x: Exec) => Promise<T>): Promise<T>;
  stopped(): boolean;
}

/** The highest modseq up to which the account's change rows are all older than cutoff, or null. */
async function pruneTarget(x: Exec, accountId: number, cutoff: number): Promise<bigint | null> {
  let target: bigint | null = null;
  for (const code of Object.values(KIND_CODE)) {
    const young = (
      await x(
        "SELECT modseq FROM change_log WHERE account_id = $1 AND kind = $2 AND at >= $3 ORDER BY modseq LIMIT 1",
        [accountId, code, cutoff],
      )
    ).rows[0];
    const bound = young ? big(young[0]) : 2n ** 62n;
    const old = (
      await x(
        "SELECT MAX(modseq) FROM change_log WHERE account_id = $1 AND kind = $2 AND modseq < $3 AND at < $4",
        [accountId, code, bound, cutoff],
      )
    ).rows[0];
    if (old && old[0] !== null) {
      const m = big(old[0]);
      if (target === null || m > target) target = m;
    }
  }
  return target;
}

async function pruneBatch(x: Exec, accountId: number, target: bigint): Promise<number> {
  await accountGuard(x).account(accountId);
  await x("UPDATE account SET change_floor = $1 WHERE id = $2 AND change_floor < $1", [target, accountId]);
  let left = PRUNE_BATCH;
  for (const code of Object.values(KIND_CODE)) {
    if (left <= 0) break;
    left -= (
      await x(
        `DELETE FROM change_log WHERE account_id = $1 AND kind = $2 AND (modseq, obj_id) IN
           (SELECT modseq, obj_id FROM change_log WHERE account_id = $1 AND kind = $2 AND modseq <= $3
             ORDER BY modseq LIMIT $4)`,
        [accountId, code, target, left],
      )
    ).rowCount;
  }
  const mailboxes = (await x("SELECT id FROM mailbox WHERE account_id = $1", [accountId])).rows;
  for (const [mbId] of mailboxes) {
    if (left <= 0) break;
    const n = (
      await x("SELECT MAX(modseq) FROM expunged WHERE mailbox_id = $1 AND modseq <= $2", [mbId, target])
    ).rows[0]![0];
    if (n === null) continue;
    // RFC 7162 §3.2.5.2: below this floor changesSince reports every absent uid as vanished
    await x("UPDATE mailbox SET expunge_floor = $1 WHERE id = $2 AND expunge_floor < $1", [n, mbId]);
    left -= (
      await x(
        `DELETE FROM expunged WHERE mailbox_id = $1 AND uid IN
           (SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq <= $2 LIMIT $3)`,
        [mbId, target, left],
      )
    ).rowCount;
  }
  return PRUNE_BATCH - left;
}

/** Prunes history older than cutoff (ms): change log and expunge log per account, then dead thread refs. */
export async function pruneHistoryPg(io: PgPruneIo, cutoff: number): Promise<void> {
  let lastId = 0;
  // bounded: each round moves the account cursor forward
  for (let round = 0; round < 10_000_000; round++) {
    const from = lastId;
    const ids = await io.read(async (x) =>
      (await x("SELECT id FROM account WHERE id > $1 ORDER BY id LIMIT 100", [from])).rows.map((r) =>
        num(r[0]),
      ),
    );
    if (ids.length === 0) break;
    for (const id of ids) {
      if (io.stopped()) return;
      lastId = id;
      const target = await io.read((x) => pruneTarget(x, id, cutoff));
      if (target === null) continue;
      // bounded: each pass deletes PRUNE_BATCH rows or finishes the account
      for (let pass = 0; pass < 10_000_000 && !io.stopped(); pass++) {
        if ((await io.write((x) => pruneBatch(x, id, target))) < PRUNE_BATCH) break;
      }
    }
  }
  let cursor: { accountId: number; msgid: string } | null = { accountId: 0, msgid: "" };
  // bounded: each round moves the thread_ref cursor forward
  for (let round = 0; cursor && !io.stopped() && round < 10_000_000; round++) {
    const from: { accountId: number; msgid: string } = cursor;
    const rows = await io.read(
      async (x) =>
        (
          await x(
            `SELECT t.account_id, t.msgid, t.thread_id,
                    EXISTS (SELECT 1 FROM message m WHERE m.account_id = t.account_id AND m.thread_id = t.thread_id)
               FROM thread_ref t WHERE (t.account_id, t.msgid) > ($1::bigint, $2::text COLLATE "C")
               ORDER BY t.account_id, t.msgid LIMIT $3`,
            [from.accountId, from.msgid, PRUNE_BATCH],
          )
        ).rows,
    );
    const dead = rows.filter((r) => r[3] !== true);
    if (dead.length > 0) {
      await io.write(async (x) => {
        const g = accountGuard(x);
        for (const [a, m, t] of dead) {
          await g.account(num(a));
          // re-checked with the account locked: a reply may have arrived meanwhile
          await x(
            `DELETE FROM thread_ref WHERE account_id = $1 AND msgid = $2
               AND NOT EXISTS (SELECT 1 FROM message WHERE account_id = $1 AND thread_id = $3)`,
            [a, m, t],
          );
        }
      });
    }
    const last = rows[rows.length - 1];
    cursor = rows.length < PRUNE_BATCH || !last ? null : { accountId: num(last[0]), msgid: String(last[1]) };
  }
}
