/** The db port's vacation operations on SQLite (db/port-vacation.ts; tables `vacation`, `vacation_reply`). */
import type { VacationRow, VacationWrite } from "../port-vacation.ts";
import type { SqliteHandle } from "./sqlite.ts";

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function sqliteVacationOps(h: SqliteHandle): { vacation: VacationWrite } {
  return {
    vacation: {
      get: (accountId) => {
        const r = h
          .stmt(
            "SELECT enabled, from_date, to_date, subject, text_body, html_body FROM vacation WHERE account_id = ?",
          )
          .raw(true)
          .get(accountId) as unknown[] | undefined;
        if (!r) return null;
        const row: VacationRow = {
          enabled: Number(r[0]) === 1,
          fromDate: num(r[1]),
          toDate: num(r[2]),
          subject: str(r[3]),
          textBody: str(r[4]),
          htmlBody: str(r[5]),
        };
        return row;
      },
      put: (accountId, r, at) => {
        h.stmt(
          `INSERT INTO vacation (account_id, enabled, from_date, to_date, subject, text_body, html_body, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (account_id) DO UPDATE SET enabled = excluded.enabled, from_date = excluded.from_date,
             to_date = excluded.to_date, subject = excluded.subject, text_body = excluded.text_body,
             html_body = excluded.html_body, updated_at = excluded.updated_at`,
        ).run(accountId, r.enabled ? 1 : 0, r.fromDate, r.toDate, r.subject, r.textBody, r.htmlBody, at);
      },
      lastReply: (accountId, sender) => {
        const r = h
          .stmt("SELECT replied_at FROM vacation_reply WHERE account_id = ? AND sender = ?")
          .raw(true)
          .get(accountId, sender) as unknown[] | undefined;
        return r ? Number(r[0]) : null;
      },
      recordReply: (accountId, sender, at) => {
        h.stmt(
          `INSERT INTO vacation_reply (account_id, sender, replied_at) VALUES (?, ?, ?)
           ON CONFLICT (account_id, sender) DO UPDATE SET replied_at = excluded.replied_at`,
        ).run(accountId, sender, at);
      },
      clearReplies: (accountId) => {
        h.stmt("DELETE FROM vacation_reply WHERE account_id = ?").run(accountId);
      },
      pruneReplies: (before, limit) =>
        h
          .stmt(
            `DELETE FROM vacation_reply WHERE (account_id, sender) IN
               (SELECT account_id, sender FROM vacation_reply WHERE replied_at < ? LIMIT ?)`,
          )
          .run(before, limit).changes,
    },
  };
}
