/**
 * The db port's METADATA operations on PostgreSQL (db/port-metadata.ts; SQLite twin
 * db/sqlite/ops-metadata.ts). Server entries have mailbox_id NULL; the unique index keys by
 * (account_id, COALESCE(mailbox_id, 0), name); names are COLLATE "C" so the range scan for
 * descendants is byte order.
 */
import type { MetadataRow, MetadataWrite } from "../port-metadata.ts";
import { type AccountGuard, type Exec, num } from "./pg.ts";

/** "/" + 1: names below `p + "/"` sort in [p + "/", p + "0") */
const AFTER_SLASH = "0";

const toRow = (r: unknown[]): MetadataRow => ({ name: String(r[0]), value: new Uint8Array(r[1] as Buffer) });

export function pgMetadataOps(x: Exec, g: AccountGuard): { metadata: MetadataWrite } {
  const box = (mailboxId: number | null): number => mailboxId ?? 0;
  const remove = async (accountId: number, mailboxId: number | null, name: string): Promise<boolean> => {
    await g.account(accountId);
    return (
      (
        await x("DELETE FROM metadata WHERE account_id = $1 AND COALESCE(mailbox_id, 0) = $2 AND name = $3", [
          accountId,
          box(mailboxId),
          name,
        ])
      ).rowCount > 0
    );
  };
  return {
    metadata: {
      tree: async (accountId, mailboxId, name, descendants) => {
        await g.account(accountId);
        const rows = (
          await x(
            "SELECT name, value FROM metadata WHERE account_id = $1 AND COALESCE(mailbox_id, 0) = $2 AND name = $3",
            [accountId, box(mailboxId), name],
          )
        ).rows.map(toRow);
        if (!descendants) return rows;
        // a range scan instead of LIKE: client names may hold "_" (a LIKE wildcard)
        const below = (
          await x(
            `SELECT name, value FROM metadata WHERE account_id = $1 AND COALESCE(mailbox_id, 0) = $2
              AND name >= $3 AND name < $4 ORDER BY name`,
            [accountId, box(mailboxId), `${name}/`, `${name}${AFTER_SLASH}`],
          )
        ).rows.map(toRow);
        return [...rows, ...below];
      },
      count: async (accountId, mailboxId) => {
        await g.account(accountId);
        const r = await x(
          "SELECT COUNT(*) FROM metadata WHERE account_id = $1 AND COALESCE(mailbox_id, 0) = $2",
          [accountId, box(mailboxId)],
        );
        return num(r.rows[0]?.[0] ?? 0);
      },
      put: async (accountId, mailboxId, name, value) => {
        const existed = await remove(accountId, mailboxId, name);
        await x("INSERT INTO metadata (account_id, mailbox_id, name, value) VALUES ($1, $2, $3, $4)", [
          accountId,
          mailboxId,
          name,
          value,
        ]);
        return !existed;
      },
      remove,
    },
  };
}
