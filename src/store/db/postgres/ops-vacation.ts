/** The db port's vacation operations on PostgreSQL (db/port-vacation.ts; tables `vacation`, `vacation_reply`). */
import type { VacationRow, VacationWrite } from "../port-vacation.ts";
import { type AccountGuard, type Exec, num, numOrNull, strOrNull } from "./pg.ts";

export function pgVacationOps(x: Exec, g: AccountGuard): { vacation: VacationWrite } {
  return {
    vacation: {
      get: async (accountId) => {
        const r = (
          await x(
            "SELECT enabled, from_date, to_date, subject, text_body, html_body FROM vacation WHERE account_id = $1",
            [accountId],
          )
        ).rows[0];
        if (!r) return null;
        const row: VacationRow = {
          enabled: num(r[0]) === 1,
          fromDate: numOrNull(r[1]),
          toDate: numOrNull(r[2]),
          subject: strOrNull(r[3]),
          textBody: strOrNull(r[4]),
          htmlBody: strOrNull(r[5]),
        };
        return row;
      },
      put: async (accountId, r, at) => {
        await g.account(accountId);
        await x(
          `INSERT INTO vacation (account_id, enabled, from_date, to_date, subject, text_body, html_body, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (account_id) DO UPDATE SET enabled = excluded.enabled, from_date = excluded.from_date,
             to_date = excluded.to_date, subject = excluded.subject, text_body = excluded.text_body,
             html_body = excluded.html_body, updated_at = excluded.updated_at`,
          [accountId, r.enabled ? 1 : 0, r.fromDate, r.toDate, r.subject, r.textBody, r.htmlBody, at],
        );
      },
      lastReply: async (accountId, sender) => {
        const r = (
          await x("SELECT replied_at FROM vacation_reply WHERE account_id = $1 AND sender = $2", [
            accountId,
            sender,
          ])
        ).rows[0];
        return r ? num(r[0]) : null;
      },
      recordReply: async (accountId, sender, at) => {
        await g.account(accountId);
        await x(
          `INSERT INTO vacation_reply (account_id, sender, replied_at) VALUES ($1, $2, $3)
           ON CONFLICT (account_id, sender) DO UPDATE SET replied_at = excluded.replied_at`,
          [accountId, sender, at],
        );
      },
      clearReplies: async (accountId) => {
        await g.account(accountId);
        await x("DELETE FROM vacation_reply WHERE account_id = $1", [accountId]);
      },
      pruneReplies: async (before, limit) =>
        (
          await x(
            `DELETE FROM vacation_reply WHERE (account_id, sender) IN
               (SELECT account_id, sender FROM vacation_reply WHERE replied_at < $1 LIMIT $2)`,
            [before, limit],
          )
        ).rowCount,
    },
  };
}
