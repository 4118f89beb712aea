/**
 * The db port's ACL operations on SQLite (db/port-acl.ts says what each promises). Table `acl`
 * (migration 9): grantee_id NULL = anyone; the unique index keys by (mailbox_id,
 * IFNULL(grantee_id, 0)); foreign keys drop the rows with the mailbox and the grantee account.
 */
import type { AclRow, AclWrite } from "../port-acl.ts";
import type { SqliteHandle } from "./sqlite.ts";

export function sqliteAclOps(h: SqliteHandle): { acl: AclWrite } {
  const all = (text: string, ...args: unknown[]): unknown[][] =>
    h
      .stmt(text)
      .raw(true)
      .all(...args) as unknown[][];
  const toRow = (r: unknown[]): AclRow => ({
    mailboxId: Number(r[0]),
    ownerId: Number(r[1]),
    granteeId: r[2] === null ? null : Number(r[2]),
    rights: String(r[3]),
  });
  const COLS = "mailbox_id, owner_id, grantee_id, rights";
  const remove = (mailboxId: number, granteeId: number | null): boolean =>
    h
      .stmt("DELETE FROM acl WHERE mailbox_id = ? AND IFNULL(grantee_id, 0) = ?")
      .run(mailboxId, granteeId ?? 0).changes > 0;
  return {
    acl: {
      ofMailbox(mailboxId) {
        return all(
          `SELECT ${COLS} FROM acl WHERE mailbox_id = ? ORDER BY grantee_id IS NULL, grantee_id`,
          mailboxId,
        ).map(toRow);
      },
      forGrantee(accountId) {
        return all(
          `SELECT ${COLS} FROM acl WHERE (grantee_id = ? OR grantee_id IS NULL) AND owner_id <> ?
            ORDER BY owner_id, mailbox_id`,
          accountId,
          accountId,
        ).map(toRow);
      },
      put(row) {
        remove(row.mailboxId, row.granteeId);
        h.stmt(`INSERT INTO acl (${COLS}) VALUES (?, ?, ?, ?)`).run(
          row.mailboxId,
          row.ownerId,
          row.granteeId,
          row.rights,
        );
      },
      remove,
    },
  };
}
