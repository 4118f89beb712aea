/**
 * The filesystem adapter of the blob port (port.ts). Content-addressed blob files: <root>/ab/cd/<sha256 hex>;
 * blobs up to `smallMaxBytes` instead go to the small-blob database (small.ts), and every read,
 * existence check and delete looks at both. Written (on a writer thread, writer.ts)
 * to a temp file in the same directory, fsynced, renamed into place and the directory fsynced
 * (durable.ts), so a blob is durable before
 * the SQL transaction that references it commits (docs/architecture.md "Mail store": never referenced-but-missing).
 * Identical content is stored once: if the file already exists it is reused.
 *
 * Beyond the port it offers synchronous fast paths that only the SQLite adapter uses, because it
 * must act while holding the database write lock without awaiting (exists, writeSync,
 * deleteSync) or because a small synchronous read beats four thread-pool round trips (get).
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync, unlinkSync } from "node:fs";
import { readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { blobDir, writeBlobDurableSync } from "./durable.ts";
import type { BlobStore } from "./port.ts";
import { SmallBlobs } from "./small.ts";
import { BlobWriterPool } from "./writer.ts";

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

const HEX64 = /^[0-9a-f]{64}$/;
/** blobs up to this size are read synchronously (see read()) */
const SYNC_READ_MAX = 1024 * 1024;
/** chunk size of stream() */
const STREAM_CHUNK = 256 * 1024;

export interface FsBlobStoreOptions {
  /**
   * Threads that write blobs (writer.ts); 0 = write synchronously on the calling thread (a
   * one-shot CLI). Default 2.
   */
  writerThreads?: number;
  /**
   * Blobs up to this many octets are stored in the small-blob database (small.ts) instead of a
   * file of their own; 0 (the default here; the store passes store.small_blob_max_bytes) = none.
   */
  smallMaxBytes?: number;
}

export class FsBlobStore implements BlobStore {
  readonly root: string;
  /** directories whose entries are known durable (for writes on this thread) */
  readonly #durableDirs = new Set<string>();
  readonly #pool: BlobWriterPool | null;
  readonly #small: SmallBlobs;

  constructor(root: string, opts: FsBlobStoreOptions = {}) {
    this.root = root;
    const threads = opts.writerThreads ?? 2;
    this.#pool = threads > 0 ? new BlobWriterPool(threads) : null;
    this.#small = new SmallBlobs(root, Math.max(0, Math.floor(opts.smallMaxBytes ?? 0)), threads > 0);
  }

  dirOf(id: string): string {
    return blobDir(this.root, id);
  }

  pathOf(id: string): string {
    if (!HEX64.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return join(this.dirOf(id), id);
  }

  /** Stores the bytes (if not present yet) durably; resolves with the blob id. */
  async put(data: Uint8Array, id: string = sha256Hex(data)): Promise<string> {
    // the small-blob insert keeps an existing row by itself (no lookup first)
    if (this.#small.maxBytes > 0 && data.byteLength <= this.#small.maxBytes) await this.#small.put(id, data);
    else if (!this.exists(id)) await this.write(id, data);
    return id;
  }

  /**
   * Always (re)writes the file durably (durable.ts: temp file fsynced, renamed, directory
   * fsynced) before resolving; on a writer thread unless the store has none.
   */
  async write(id: string, data: Uint8Array): Promise<void> {
    if (!this.#pool) return this.writeSync(id, data);
    this.pathOf(id);
    await this.#pool.write(this.root, id, data);
  }

  /**
   * The same write, synchronous on the calling thread: only inside a write transaction when a
   * blob file turned out to be missing (a concurrent GC removed it between put() and commit).
   */
  writeSync(id: string, data: Uint8Array): void {
    this.pathOf(id);
    writeBlobDurableSync(this.root, id, data, this.#durableDirs);
  }

  /** Stops the writer threads (pending writes are rejected). */
  async close(): Promise<void> {
    await this.#pool?.close();
    await this.#small.close();
  }

  async get(id: string): Promise<Buffer> {
    const path = this.pathOf(id);
    const small = this.#small.getSync(id);
    if (small) return small;
    // Small blobs (the common case) are read synchronously: open/fstat/read/close of a few dozen KB
    // from the page cache take microseconds, while the promise API costs four thread-pool round
    // trips per file (measured: ~40 % of POP3 RETR time). Large blobs keep the non-blocking path.
    const fd = openSync(path, "r");
    let size: number;
    try {
      size = fstatSync(fd).size;
      if (size <= SYNC_READ_MAX) {
        const buf = Buffer.allocUnsafe(size);
        let off = 0;
        // each iteration reads what is left; ends at EOF (a blob never changes once written)
        while (off < size) {
          const n = readSync(fd, buf, off, size - off, off);
          if (n === 0) break;
          off += n;
        }
        return off === size ? buf : buf.subarray(0, off);
      }
    } finally {
      closeSync(fd);
    }
    return readFile(path);
  }

  /** the bytes [start, end) in chunks of STREAM_CHUNK, read as they are consumed */
  async *stream(id: string, range: { start?: number; end?: number } = {}): AsyncIterable<Uint8Array> {
    const start = range.start ?? 0;
    if (range.end !== undefined && range.end <= start) return;
    const small = this.#small.getSync(id);
    if (small) {
      if (start < small.byteLength) yield small.subarray(start, range.end ?? small.byteLength);
      return;
    }
    // an open file stays readable even if the sweeper unlinks it meanwhile (POSIX)
    const rs = createReadStream(this.pathOf(id), {
      start,
      ...(range.end !== undefined ? { end: range.end - 1 } : {}),
      highWaterMark: STREAM_CHUNK,
    });
    try {
      for await (const chunk of rs) yield chunk as Buffer;
    } finally {
      rs.destroy();
    }
  }

  async has(id: string): Promise<boolean> {
    return this.exists(id);
  }

  /** synchronous existence check (SQLite adapter, under the write lock) */
  exists(id: string): boolean {
    const path = this.pathOf(id);
    return this.#small.existsSync(id) || existsSync(path);
  }

  async size(id: string): Promise<number | null> {
    const small = this.#small.sizeSync(id);
    if (small != null) return small;
    try {
      return (await stat(this.pathOf(id))).size;
    } catch {
      return null;
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await unlink(this.pathOf(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    this.#small.deleteSync([id]);
  }

  /** Synchronous delete, so the caller can do it while holding the database write lock. */
  deleteSync(id: string): void {
    this.deleteManySync([id]);
  }

  /** deleteSync of several blobs (the small-blob rows in one transaction) */
  deleteManySync(ids: readonly string[]): void {
    for (const id of ids) {
      try {
        unlinkSync(this.pathOf(id));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    this.#small.deleteSync(ids);
  }

  /** the small-blob database (the orphan scan walks it) */
  get small(): SmallBlobs {
    return this.#small;
  }
}
