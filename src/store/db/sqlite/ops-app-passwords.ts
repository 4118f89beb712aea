/** The db port's app-password operations on SQLite (db/port-app-passwords.ts; table `app_password`, migration 10). */
import type { AppPasswordRow, AppPasswordsWrite } from "../port-app-passwords.ts";
import { unique } from "./ops.ts";
import type { SqliteHandle } from "./sqlite.ts";

const COLS = "id, account_id, name, hash, created_at, last_used_at, last_used_by";

function toRow(r: unknown[]): AppPasswordRow {
  return {
    id: Number(r[0]),
    accountId: Number(r[1]),
    name: String(r[2]),
    hash: String(r[3]),
    createdAt: Number(r[4]),
    lastUsedAt: r[5] === null ? null : Number(r[5]),
    lastUsedBy: r[6] === null ? null : String(r[6]),
  };
}

export function sqliteAppPasswordOps(h: SqliteHandle): { appPasswords: AppPasswordsWrite } {
  const all = (text: string, ...args: unknown[]): unknown[][] =>
    h
      .stmt(text)
      .raw(true)
      .all(...args) as unknown[][];
  return {
    appPasswords: {
      list: (accountId) =>
        all(`SELECT ${COLS} FROM app_password WHERE account_id = ? ORDER BY name`, accountId).map(toRow),
      byHash: (accountId, hash) => {
        const r = all(`SELECT ${COLS} FROM app_password WHERE account_id = ? AND hash = ?`, accountId, hash);
        return r[0] ? toRow(r[0]) : null;
      },
      insert: (r) =>
        unique(() =>
          Number(
            h
              .stmt("INSERT INTO app_password (account_id, name, hash, created_at) VALUES (?, ?, ?, ?)")
              .run(r.accountId, r.name, r.hash, r.createdAt).lastInsertRowid,
          ),
        ),
      delete: (accountId, name) =>
        h.stmt("DELETE FROM app_password WHERE account_id = ? AND name = ?").run(accountId, name).changes > 0,
      touch: (id, at, by) => {
        h.stmt("UPDATE app_password SET last_used_at = ?, last_used_by = ? WHERE id = ?").run(at, by, id);
      },
    },
  };
}
