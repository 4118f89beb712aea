/** The db port's webmail-session operations on SQLite (db/port-webmail-sessions.ts; table `webmail_session`, migration 21). */
import type { WebmailSessionRow, WebmailSessionsWrite } from "../port-webmail-sessions.ts";
import type { SqliteHandle } from "./sqlite.ts";

const COLS = "id, account_id, credentials_version, csrf, created_at, last_seen_at, expires_at";

function toRow(r: unknown[]): WebmailSessionRow {
  return {
    id: String(r[0]),
    accountId: Number(r[1]),
    credentialsVersion: Number(r[2]),
    csrf: String(r[3]),
    createdAt: Number(r[4]),
    lastSeenAt: Number(r[5]),
    expiresAt: Number(r[6]),
  };
}

export function sqliteWebmailSessionOps(h: SqliteHandle): { webmailSessions: WebmailSessionsWrite } {
  return {
    webmailSessions: {
      get: (id) => {
        const r = h.stmt(`SELECT ${COLS} FROM webmail_session WHERE id = ?`).raw(true).get(id) as
          | unknown[]
          | undefined;
        return r ? toRow(r) : null;
      },
      insert: (r) => {
        h.stmt(`INSERT INTO webmail_session (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
          r.id,
          r.accountId,
          r.credentialsVersion,
          r.csrf,
          r.createdAt,
          r.lastSeenAt,
          r.expiresAt,
        );
      },
      touch: (id, lastSeenAt, expiresAt) => {
        h.stmt("UPDATE webmail_session SET last_seen_at = ?, expires_at = ? WHERE id = ?").run(
          lastSeenAt,
          expiresAt,
          id,
        );
      },
      delete: (id) => h.stmt("DELETE FROM webmail_session WHERE id = ?").run(id).changes > 0,
      deleteOfAccount: (accountId, keep) =>
        Number(
          h.stmt("DELETE FROM webmail_session WHERE account_id = ? AND id IS NOT ?").run(accountId, keep)
            .changes,
        ),
      deleteExpired: (now) =>
        Number(h.stmt("DELETE FROM webmail_session WHERE expires_at < ?").run(now).changes),
    },
  };
}
