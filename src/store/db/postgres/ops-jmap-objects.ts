/** The db port's JMAP object operations on PostgreSQL (db/port-jmap-objects.ts; table jmap_object, migration 17). */
import type { JmapObjectRow, JmapObjectsWrite } from "../port-jmap-objects.ts";
import { type AccountGuard, type Exec, num } from "./pg.ts";

const COLS = "id, seq, created_seq, data";

function toRow(r: unknown[]): JmapObjectRow {
  return {
    id: String(r[0]),
    seq: num(r[1]),
    createdSeq: num(r[2]),
    data: r[3] === null ? null : String(r[3]),
  };
}

export function pgJmapObjectOps(x: Exec, g: AccountGuard): { jmapObjects: JmapObjectsWrite } {
  return {
    jmapObjects: {
      list: async (accountId, type) =>
        (
          await x(
            `SELECT ${COLS} FROM jmap_object WHERE account_id = $1 AND type = $2 AND data IS NOT NULL ORDER BY id`,
            [accountId, type],
          )
        ).rows.map(toRow),
      // the account lock (writes) serialises the counter: max(seq) + 1 is taken under it
      maxSeq: async (accountId, type) => {
        await g.account(accountId);
        return num(
          (
            await x("SELECT COALESCE(MAX(seq), 0) FROM jmap_object WHERE account_id = $1 AND type = $2", [
              accountId,
              type,
            ])
          ).rows[0]![0],
        );
      },
      since: async (accountId, type, seq, limit) =>
        (
          await x(
            `SELECT ${COLS} FROM jmap_object WHERE account_id = $1 AND type = $2 AND seq > $3 ORDER BY seq, id LIMIT $4`,
            [accountId, type, seq, limit],
          )
        ).rows.map(toRow),
      put: async (accountId, type, id, seq, data) => {
        await g.account(accountId);
        await x(
          `INSERT INTO jmap_object (account_id, type, id, seq, created_seq, data) VALUES ($1, $2, $3, $4, $4, $5)
           ON CONFLICT (account_id, type, id) DO UPDATE SET seq = excluded.seq, data = excluded.data`,
          [accountId, type, id, seq, data],
        );
      },
      destroy: async (accountId, type, id, seq) => {
        await g.account(accountId);
        return (
          (
            await x(
              "UPDATE jmap_object SET seq = $1, data = NULL WHERE account_id = $2 AND type = $3 AND id = $4 AND data IS NOT NULL",
              [seq, accountId, type, id],
            )
          ).rowCount > 0
        );
      },
    },
  };
}
