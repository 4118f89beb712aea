/** The db port's import-ledger operations on PostgreSQL (db/port-imports.ts; table import_ledger). */
import type { ImportsWrite } from "../port-imports.ts";
import type { AccountGuard, Exec } from "./pg.ts";

export function pgImportOps(x: Exec, g: AccountGuard): { imports: ImportsWrite } {
  return {
    imports: {
      known: async (accountId, source, keys) => {
        if (keys.length === 0) return [];
        const rows = (
          await x(
            "SELECT item_key FROM import_ledger WHERE account_id = $1 AND source = $2 AND item_key = ANY($3::text[])",
            [accountId, source, keys],
          )
        ).rows;
        const found = new Set(rows.map((r) => String(r[0])));
        return keys.filter((k) => found.has(k));
      },
      record: async (accountId, source, key, mailboxId, uid, at) => {
        await g.account(accountId);
        await x(
          "INSERT INTO import_ledger (account_id, source, item_key, mailbox_id, uid, imported_at) VALUES ($1, $2, $3, $4, $5, $6)",
          [accountId, source, key, mailboxId, uid, at],
        );
      },
    },
  };
}
