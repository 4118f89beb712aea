/**
 * The db port's ACL operations on PostgreSQL (db/port-acl.ts; SQLite twin db/sqlite/ops-acl.ts).
 * grantee_id NULL = anyone; the unique index keys by (mailbox_id, COALESCE(grantee_id, 0)).
 */
import type { AclRow, AclWrite } from "../port-acl.ts";
import { type AccountGuard, type Exec, num, numOrNull } from "./pg.ts";

const COLS = "mailbox_id, owner_id, grantee_id, rights";

const toRow = (r: unknown[]): AclRow => ({
  mailboxId: num(r[0]),
  ownerId: num(r[1]),
  granteeId: numOrNull(r[2]),
  rights: String(r[3]),
});

export function pgAclOps(x: Exec, g: AccountGuard): { acl: AclWrite } {
  const remove = async (mailboxId: number, granteeId: number | null): Promise<boolean> => {
    await g.mailbox(mailboxId);
    return (
      (
        await x("DELETE FROM acl WHERE mailbox_id = $1 AND COALESCE(grantee_id, 0) = $2", [
          mailboxId,
          granteeId ?? 0,
        ])
      ).rowCount > 0
    );
  };
  return {
    acl: {
      ofMailbox: async (mailboxId) =>
        (
          await x(`SELECT ${COLS} FROM acl WHERE mailbox_id = $1 ORDER BY grantee_id IS NULL, grantee_id`, [
            mailboxId,
          ])
        ).rows.map(toRow),
      forGrantee: async (accountId) =>
        (
          await x(
            `SELECT ${COLS} FROM acl WHERE (grantee_id = $1 OR grantee_id IS NULL) AND owner_id <> $1
              ORDER BY owner_id, mailbox_id`,
            [accountId],
          )
        ).rows.map(toRow),
      put: async (row) => {
        await remove(row.mailboxId, row.granteeId);
        await x(`INSERT INTO acl (${COLS}) VALUES ($1, $2, $3, $4)`, [
          row.mailboxId,
          row.ownerId,
          row.granteeId,
          row.rights,
        ]);
      },
      remove,
    },
  };
}
