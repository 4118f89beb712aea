/**
 * JMAP uploads over the db and blob ports: the bytes are written durably as a blob-port file under
 * a random 256-bit name (never a content hash, so message blobs and their GC never share it), then
 * one row (account, blob id, file, size, type, expiry) is written. Every worker process and node
 * sees the row, so any of them serves the download, Email/import or attachment. Expired rows and
 * their files are removed by the store's background job (sqlite/jobs.ts expireUploads).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Id } from "../api/model.ts";
import type { Upload } from "../api/uploads.ts";
import type { BlobStore } from "../blob/port.ts";
import type { UploadRow } from "../db/port.ts";
import type { DomainDeps } from "./context.ts";

export class Uploads {
  readonly #d: DomainDeps;
  readonly #files: BlobStore;
  constructor(deps: DomainDeps, files: BlobStore) {
    this.#d = deps;
    this.#files = files;
  }

  #upload(r: UploadRow): Upload {
    const files = this.#files;
    return {
      blobId: r.blobId,
      size: r.size,
      type: r.type,
      expiresAt: new Date(r.expiresAt),
      stream: () => files.stream(r.file),
    };
  }

  async putUpload(accountId: Id, data: Uint8Array, type: string, ttlMs: number): Promise<Upload> {
    const blobId = `U${createHash("sha256").update(data).digest("hex")}`;
    const file = randomBytes(32).toString("hex");
    await this.#files.put(data, file);
    const now = Date.now();
    const row: UploadRow = {
      accountId,
      blobId,
      file,
      size: data.byteLength,
      type,
      createdAt: now,
      expiresAt: now + ttlMs,
    };
    let kept: string;
    try {
      kept = await this.#d.db.write((w) => w.uploads.upsert(row));
    } catch (err) {
      await this.#files.delete(file).catch(() => {});
      throw err;
    }
    // the account had this content already: its file stays, ours goes
    if (kept !== file) await this.#files.delete(file).catch(() => {});
    return this.#upload({ ...row, file: kept });
  }

  async getUpload(accountId: Id, blobId: string): Promise<Upload | null> {
    if (!blobId.startsWith("U") || blobId.length !== 65) return null;
    const r = await this.#d.db.read((q) => q.uploads.get(accountId, blobId));
    if (!r || r.expiresAt <= Date.now()) return null;
    return this.#upload(r);
  }

  pendingUploadBytes(accountId: Id): Promise<number> {
    return this.#d.db.read((q) => q.uploads.pendingBytes(accountId, Date.now()));
  }
}
