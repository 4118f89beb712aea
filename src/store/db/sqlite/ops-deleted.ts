/** The db port's undelete-window operations on SQLite (table `deleted_message`, migration 15). */
import type { DeletedRow, DeletedWrite } from "../port-deleted.ts";
import { IN_LIST, listParam, type SqliteHandle } from "./sqlite.ts";

export function sqliteDeletedOps(h: SqliteHandle): { deleted: DeletedWrite } {
  return {
    deleted: {
      list(accountId, since, mailboxName, limit) {
        const rows = h
          .stmt(
            `SELECT d.id, d.mailbox_id, d.mailbox_name, b.sha256, d.prefix, d.internal_date, d.flags, d.expunged_at
               FROM deleted_message d JOIN blob b ON b.id = d.blob_id
              WHERE d.account_id = ? AND d.expunged_at >= ? AND (? IS NULL OR d.mailbox_name = ?)
              ORDER BY d.expunged_at, d.id LIMIT ?`,
          )
          .raw(true)
          .all(accountId, since, mailboxName, mailboxName, limit) as unknown[][];
        return rows.map(
          (r): DeletedRow => ({
            id: Number(r[0]),
            mailboxId: Number(r[1]),
            mailboxName: String(r[2]),
            sha256: String(r[3]),
            prefix: (r[4] as Uint8Array | null) ?? null,
            internalDate: Number(r[5]),
            flags: String(r[6]),
            expungedAt: Number(r[7]),
          }),
        );
      },
      keep(accountId, mailboxId, uids, at) {
        const stmt = h.stmt(
          `INSERT INTO deleted_message (account_id, mailbox_id, mailbox_name, blob_id, prefix, size,
             internal_date, flags, expunged_at)
           SELECT ?, m.mailbox_id, mb.name, m.blob_id, p.data, m.size, m.internal_date, m.flags, ?
             FROM message m JOIN mailbox mb ON mb.id = m.mailbox_id
             LEFT JOIN delivery_prefix p ON p.id = m.prefix_id
            WHERE m.mailbox_id = ? AND m.uid ${IN_LIST}`,
        );
        if (uids.length > 0) stmt.run(accountId, at, mailboxId, listParam(uids));
      },
      remove(ids) {
        const stmt = h.stmt("DELETE FROM deleted_message WHERE id = ?");
        for (const id of ids) stmt.run(id);
      },
    },
  };
}
