/** The db port's JMAP upload operations on PostgreSQL (db/port-uploads.ts; table `jmap_upload`, migration 16). */
import type { UploadRow, UploadsWrite } from "../port-uploads.ts";
import { type Exec, num } from "./pg.ts";

const COLS = "account_id, blob_id, file, size, type, created_at, expires_at";

function toRow(r: unknown[]): UploadRow {
  return {
    accountId: num(r[0]),
    blobId: String(r[1]),
    file: String(r[2]),
    size: num(r[3]),
    type: String(r[4]),
    createdAt: num(r[5]),
    expiresAt: num(r[6]),
  };
}

export function pgUploadOps(x: Exec): { uploads: UploadsWrite } {
  return {
    uploads: {
      get: async (accountId, blobId) => {
        const r = (
          await x(`SELECT ${COLS} FROM jmap_upload WHERE account_id = $1 AND blob_id = $2`, [
            accountId,
            blobId,
          ])
        ).rows[0];
        return r ? toRow(r) : null;
      },
      pendingBytes: async (accountId, now) =>
        num(
          (
            await x(
              "SELECT COALESCE(SUM(size), 0) FROM jmap_upload WHERE account_id = $1 AND expires_at > $2",
              [accountId, now],
            )
          ).rows[0]![0],
        ),
      upsert: async (r) =>
        String(
          (
            await x(
              `INSERT INTO jmap_upload (${COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (account_id, blob_id)
               DO UPDATE SET expires_at = GREATEST(jmap_upload.expires_at, excluded.expires_at)
               RETURNING file`,
              [r.accountId, r.blobId, r.file, r.size, r.type, r.createdAt, r.expiresAt],
            )
          ).rows[0]![0],
        ),
    },
  };
}
