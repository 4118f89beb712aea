import type { Id } from "./model.ts";

/** A pending upload (JMAP, RFC 8620 §6.1): bytes kept for a while, visible to every process. */
export interface Upload {
  /** "U" + SHA-256 hex of the content */
  blobId: string;
  size: number;
  type: string;
  expiresAt: Date;
  /** the bytes, in chunks */
  stream(): AsyncIterable<Uint8Array>;
}

export interface UploadStore {
  /**
   * Keeps data for the account until `ttlMs` from now (the same content again only extends the
   * expiry). Quota is the caller's to check first (`pendingUploadBytes`).
   */
  putUpload(accountId: Id, data: Uint8Array, type: string, ttlMs: number): Promise<Upload>;
  /** the account's upload of that blob id while it has not expired, or null */
  getUpload(accountId: Id, blobId: string): Promise<Upload | null>;
  /** octets of the account's pending (not expired) uploads */
  pendingUploadBytes(accountId: Id): Promise<number>;
  /** removes uploads (rows and bytes) that expired before `before` (the background job runs it); the count */
  expireUploads(before: Date): Promise<number>;
}
