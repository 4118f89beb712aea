/** The db port's import-ledger operations on SQLite (table `import_ledger`, migration 11). */
import type { ImportsWrite } from "../port-imports.ts";
import type { SqliteHandle } from "./sqlite.ts";

export function sqliteImportOps(h: SqliteHandle): { imports: ImportsWrite } {
  return {
    imports: {
      known(accountId, source, keys) {
        const stmt = h.stmt(
          "SELECT 1 FROM import_ledger WHERE account_id = ? AND source = ? AND item_key = ?",
        );
        return keys.filter((k) => stmt.get(accountId, source, k) !== undefined);
      },
      record(accountId, source, key, mailboxId, uid, at) {
        h.stmt(
          "INSERT INTO import_ledger (account_id, source, item_key, mailbox_id, uid, imported_at) VALUES (?, ?, ?, ?, ?, ?)",
        ).run(accountId, source, key, mailboxId, uid, at);
      },
    },
  };
}
