/** The db port's JMAP upload operations on SQLite (db/port-uploads.ts; table `jmap_upload`, migration 16). */
import type { UploadRow, UploadsWrite } from "../port-uploads.ts";
import type { SqliteHandle } from "./sqlite.ts";

const COLS = "account_id, blob_id, file, size, type, created_at, expires_at";

function toRow(r: unknown[]): UploadRow {
  return {
    accountId: Number(r[0]),
    blobId: String(r[1]),
    file: String(r[2]),
    size: Number(r[3]),
    type: String(r[4]),
    createdAt: Number(r[5]),
    expiresAt: Number(r[6]),
  };
}

export function sqliteUploadOps(h: SqliteHandle): { uploads: UploadsWrite } {
  const one = (text: string, ...args: unknown[]): unknown[] | undefined =>
    h
      .stmt(text)
      .raw(true)
      .get(...args) as unknown[] | undefined;
  return {
    uploads: {
      get: (accountId, blobId) => {
        const r = one(
          `SELECT ${COLS} FROM jmap_upload WHERE account_id = ? AND blob_id = ?`,
          accountId,
          blobId,
        );
        return r ? toRow(r) : null;
      },
      pendingBytes: (accountId, now) =>
        Number(
          one(
            "SELECT COALESCE(SUM(size), 0) FROM jmap_upload WHERE account_id = ? AND expires_at > ?",
            accountId,
            now,
          )![0],
        ),
      upsert: (r) =>
        String(
          one(
            `INSERT INTO jmap_upload (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (account_id, blob_id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)
             RETURNING file`,
            r.accountId,
            r.blobId,
            r.file,
            r.size,
            r.type,
            r.createdAt,
            r.expiresAt,
          )![0],
        ),
    },
  };
}
