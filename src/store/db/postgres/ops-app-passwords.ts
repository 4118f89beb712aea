/** The db port's app-password operations on PostgreSQL (db/port-app-passwords.ts; table app_password). */
import type { AppPasswordRow, AppPasswordsWrite } from "../port-app-passwords.ts";
import { type AccountGuard, type Exec, num, numOrNull, strOrNull, unique } from "./pg.ts";

const COLS = "id, account_id, name, hash, created_at, last_used_at, last_used_by";

function toRow(r: unknown[]): AppPasswordRow {
  return {
    id: num(r[0]),
    accountId: num(r[1]),
    name: String(r[2]),
    hash: String(r[3]),
    createdAt: num(r[4]),
    lastUsedAt: numOrNull(r[5]),
    lastUsedBy: strOrNull(r[6]),
  };
}

export function pgAppPasswordOps(x: Exec, g: AccountGuard): { appPasswords: AppPasswordsWrite } {
  return {
    appPasswords: {
      list: async (accountId) =>
        (
          await x(`SELECT ${COLS} FROM app_password WHERE account_id = $1 ORDER BY name`, [accountId])
        ).rows.map(toRow),
      byHash: async (accountId, hash) => {
        const r = (
          await x(`SELECT ${COLS} FROM app_password WHERE account_id = $1 AND hash = $2`, [accountId, hash])
        ).rows[0];
        return r ? toRow(r) : null;
      },
      insert: async (r) => {
        await g.account(r.accountId);
        return unique(async () =>
          num(
            (
              await x(
                "INSERT INTO app_password (account_id, name, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                [r.accountId, r.name, r.hash, r.createdAt],
              )
            ).rows[0]![0],
          ),
        );
      },
      delete: async (accountId, name) => {
        await g.account(accountId);
        return (
          (await x("DELETE FROM app_password WHERE account_id = $1 AND name = $2", [accountId, name]))
            .rowCount > 0
        );
      },
      touch: async (id, at, by) => {
        await x("UPDATE app_password SET last_used_at = $1, last_used_by = $2 WHERE id = $3", [at, by, id]);
      },
    },
  };
}
