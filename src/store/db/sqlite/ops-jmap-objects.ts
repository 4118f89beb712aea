/** The db port's JMAP object operations on SQLite (db/port-jmap-objects.ts; table `jmap_object`, migration 17). */
import type { JmapObjectRow, JmapObjectsWrite } from "../port-jmap-objects.ts";
import type { SqliteHandle } from "./sqlite.ts";

const COLS = "id, seq, created_seq, data";

function toRow(r: unknown[]): JmapObjectRow {
  return {
    id: String(r[0]),
    seq: Number(r[1]),
    createdSeq: Number(r[2]),
    data: r[3] === null ? null : String(r[3]),
  };
}

export function sqliteJmapObjectOps(h: SqliteHandle): { jmapObjects: JmapObjectsWrite } {
  const all = (text: string, ...args: unknown[]): unknown[][] =>
    h
      .stmt(text)
      .raw(true)
      .all(...args) as unknown[][];
  return {
    jmapObjects: {
      list: (accountId, type) =>
        all(
          `SELECT ${COLS} FROM jmap_object WHERE account_id = ? AND type = ? AND data IS NOT NULL ORDER BY id`,
          accountId,
          type,
        ).map(toRow),
      maxSeq: (accountId, type) =>
        Number(
          all(
            "SELECT COALESCE(MAX(seq), 0) FROM jmap_object WHERE account_id = ? AND type = ?",
            accountId,
            type,
          )[0]![0],
        ),
      since: (accountId, type, seq, limit) =>
        all(
          `SELECT ${COLS} FROM jmap_object WHERE account_id = ? AND type = ? AND seq > ? ORDER BY seq, id LIMIT ?`,
          accountId,
          type,
          seq,
          limit,
        ).map(toRow),
      put: (accountId, type, id, seq, data) => {
        h.stmt(
          `INSERT INTO jmap_object (account_id, type, id, seq, created_seq, data) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (account_id, type, id) DO UPDATE SET seq = excluded.seq, data = excluded.data`,
        ).run(accountId, type, id, seq, seq, data);
      },
      destroy: (accountId, type, id, seq) =>
        h
          .stmt(
            "UPDATE jmap_object SET seq = ?, data = NULL WHERE account_id = ? AND type = ? AND id = ? AND data IS NOT NULL",
          )
          .run(seq, accountId, type, id).changes > 0,
    },
  };
}
