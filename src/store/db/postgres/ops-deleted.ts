/**
 * The db port's undelete-window operations on PostgreSQL (table `deleted_message`, migrations 15
 * and 22; the SQLite twin is db/sqlite/ops-deleted.ts). A kept row references its blob by a
 * foreign key, so the sweeper (jobs.ts) cannot delete content a row still names; removing a row
 * marks its blob for the sweeper (trigger of migration 22).
 */
import type { DeletedRow, DeletedWrite } from "../port-deleted.ts";
import { type Exec, num } from "./pg.ts";

export function pgDeletedOps(x: Exec): { deleted: DeletedWrite } {
  return {
    deleted: {
      list: async (accountId, since, mailboxName, limit) =>
        (
          await x(
            `SELECT d.id, d.mailbox_id, d.mailbox_name, b.sha256, d.prefix, d.internal_date, d.flags, d.expunged_at
               FROM deleted_message d JOIN blob b ON b.id = d.blob_id
              WHERE d.account_id = $1 AND d.expunged_at >= $2 AND ($3::text IS NULL OR d.mailbox_name = $3)
              ORDER BY d.expunged_at, d.id LIMIT $4`,
            [accountId, since, mailboxName, limit],
          )
        ).rows.map(
          (r): DeletedRow => ({
            id: num(r[0]),
            mailboxId: num(r[1]),
            mailboxName: String(r[2]),
            sha256: String(r[3]),
            prefix: r[4] === null ? null : new Uint8Array(r[4] as Buffer),
            internalDate: num(r[5]),
            flags: String(r[6]),
            expungedAt: num(r[7]),
          }),
        ),
      keep: async (accountId, mailboxId, uids, at) => {
        if (uids.length === 0) return;
        await x(
          `INSERT INTO deleted_message (account_id, mailbox_id, mailbox_name, blob_id, prefix, size,
             internal_date, flags, expunged_at)
           SELECT $1, m.mailbox_id, mb.name, m.blob_id, p.data, m.size, m.internal_date, m.flags, $2
             FROM message m JOIN mailbox mb ON mb.id = m.mailbox_id
             LEFT JOIN delivery_prefix p ON p.id = m.prefix_id
            WHERE m.mailbox_id = $3 AND m.uid = ANY($4::bigint[])
            ORDER BY m.uid`,
          [accountId, at, mailboxId, [...uids]],
        );
      },
      remove: async (ids) => {
        if (ids.length > 0) await x("DELETE FROM deleted_message WHERE id = ANY($1::bigint[])", [ids]);
      },
    },
  };
}
