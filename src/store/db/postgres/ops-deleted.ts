/**
 * The db port's undelete-window operations on PostgreSQL (table `deleted_message`, migration 15).
 * Not kept yet: the PostgreSQL sweeper does not consult this table, so keeping rows would let it
 * delete content a row still names. Until it does, `keep` stores nothing (expunged messages are
 * gone at once on PostgreSQL, as with undelete_window = 0) — docs/architecture.md "Not built yet".
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
      keep: () => {},
      remove: async (ids) => {
        if (ids.length > 0) await x("DELETE FROM deleted_message WHERE id = ANY($1::bigint[])", [ids]);
      },
    },
  };
}
