/**
 * The db port's operations for JMAP uploads (re-exported by db/port.ts, whose rules apply): one row
 * per pending upload of an account; the bytes are a blob-port file of their own (`file`, a random
 * name no message content can hash to), deleted with the row by the expiry job.
 */
import type { Maybe } from "./port.ts";

export interface UploadRow {
  accountId: number;
  /** the JMAP blob id ("U" + SHA-256 hex of the content) */
  blobId: string;
  /** blob-port name of the bytes */
  file: string;
  size: number;
  type: string;
  createdAt: number;
  expiresAt: number;
}

export interface UploadsRead {
  /** the account's upload with this blob id (expired ones too: the caller checks), or null */
  get(accountId: number, blobId: string): Maybe<UploadRow | null>;
  /** octets of the account's uploads not expired at `now` */
  pendingBytes(accountId: number, now: number): Maybe<number>;
}

export interface UploadsWrite extends UploadsRead {
  /**
   * Inserts the row; when the account already has this blob id, only its expiry moves to the
   * later one. Returns the file the row names (the existing one when it was there).
   */
  upsert(r: UploadRow): Maybe<string>;
}
