/** The db port's webmail-session operations on PostgreSQL (db/port-webmail-sessions.ts; table `webmail_session`, migration 21). */
import type { WebmailSessionRow, WebmailSessionsWrite } from "../port-webmail-sessions.ts";
import { type Exec, num } from "./pg.ts";

const COLS = "id, account_id, credentials_version, csrf, created_at, last_seen_at, expires_at";

function toRow(r: unknown[]): WebmailSessionRow {
  return {
    id: String(r[0]),
    accountId: num(r[1]),
    credentialsVersion: num(r[2]),
    csrf: String(r[3]),
    createdAt: num(r[4]),
    lastSeenAt: num(r[5]),
    expiresAt: num(r[6]),
  };
}

export function pgWebmailSessionOps(x: Exec): { webmailSessions: WebmailSessionsWrite } {
  return {
    webmailSessions: {
      get: async (id) => {
        const r = (await x(`SELECT ${COLS} FROM webmail_session WHERE id = $1`, [id])).rows[0];
        return r ? toRow(r) : null;
      },
      insert: async (r) => {
        await x(`INSERT INTO webmail_session (${COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          r.id,
          r.accountId,
          r.credentialsVersion,
          r.csrf,
          r.createdAt,
          r.lastSeenAt,
          r.expiresAt,
        ]);
      },
      touch: async (id, lastSeenAt, expiresAt) => {
        await x("UPDATE webmail_session SET last_seen_at = $1, expires_at = $2 WHERE id = $3", [
          lastSeenAt,
          expiresAt,
          id,
        ]);
      },
      delete: async (id) => (await x("DELETE FROM webmail_session WHERE id = $1", [id])).rowCount > 0,
      deleteOfAccount: async (accountId, keep) =>
        (
          await x("DELETE FROM webmail_session WHERE account_id = $1 AND id IS DISTINCT FROM $2", [
            accountId,
            keep,
          ])
        ).rowCount,
      deleteExpired: async (now) =>
        (await x("DELETE FROM webmail_session WHERE expires_at < $1", [now])).rowCount,
    },
  };
}
