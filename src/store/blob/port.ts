/**
 * The blob port: raw message content, content-addressed by SHA-256 hex (docs/architecture.md "Mail store", "Raw
 * messages are stored byte-exact, content-addressed"). The mail logic stores and reads message
 * bytes only through this interface; adapters: fs.ts (files under the data dir, single node),
 * postgres.ts (chunks in PostgreSQL, for a cluster); an S3-compatible one would fit the same
 * contract. contract.ts holds the tests every adapter runs.
 *
 * Contract:
 * - put resolves only once the bytes are durable (a transaction may reference the id right after:
 *   never referenced-but-missing); putting content that is already there is a cheap no-op.
 * - get/stream of an id that is not there reject with an error whose `code` is "ENOENT"
 *   (BlobNotFoundCode), so callers can tell "collected meanwhile" from an I/O failure.
 * - stream reads large blobs in chunks (FETCH BODY[] / POP3 RETR of a 50 MB message never holds
 *   it in memory); start/end select a byte range (end exclusive).
 * - delete of a missing id is not an error.
 */

export const BlobNotFoundCode = "ENOENT";

export interface BlobStat {
  size: number;
}

export interface BlobStore {
  /** stores the bytes durably if not present yet; resolves with the id (SHA-256 hex) */
  put(data: Uint8Array, id?: string): Promise<string>;
  /** the whole blob */
  get(id: string): Promise<Uint8Array>;
  has(id: string): Promise<boolean>;
  /** size in octets, null when absent */
  size(id: string): Promise<number | null>;
  /** the blob (or bytes [start, end) of it) in chunks */
  stream(id: string, range?: { start?: number; end?: number }): AsyncIterable<Uint8Array>;
  delete(id: string): Promise<void>;
  /** stops background writers; pending puts are rejected */
  close(): Promise<void>;
}

/** true for the "blob not there" error of get/stream */
export function isBlobNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === BlobNotFoundCode;
}
