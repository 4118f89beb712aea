/**
 * Small blobs in one SQLite database beside the blob files (`<blobs>/small.sqlite`), part of the
 * filesystem blob adapter (fs.ts; docs/architecture.md "Mail store"). A durable file costs two
 * fsyncs (the file, then its directory), and the disk's flush rate, not the CPU, bounded appends
 * and SMTP deliveries; blobs up to `store.small_blob_max_bytes` are instead inserted by one
 * writer thread (small-thread.ts) that commits whatever arrived meanwhile in one transaction:
 * one WAL fsync for a whole MULTIAPPEND or for the deliveries of many SMTP sessions at once. A
 * put resolves after that COMMIT, so the content is durable before the metadata transaction that
 * references it, exactly as with a file.
 *
 * It is a database of its own (not a table of store.sqlite) so that a backup's metadata copy
 * stays metadata: snapshots read small blobs like files, into the shared content-addressed
 * `blobs/` of the backup directory (backup/snapshot.ts).
 *
 * On the calling thread: one connection for reads (WAL: never blocked by the writer) and the
 * sweeper's deletes, which must finish under the store's write lock (ops-messages.ts explains the
 * GC protocol) and so run synchronously, waiting at most DELETE_BUSY_MS for another process's
 * insert batch.
 */
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { BlobWriterPool } from "./writer.ts";

export const SMALL_BLOB_DB = "small.sqlite";
/** blobs up to this size go to the small-blob database (store.small_blob_max_bytes) */
export const DEFAULT_SMALL_BLOB_MAX_BYTES = 128 * 1024;
/** a synchronous delete waits this long for another connection's insert batch */
const DELETE_BUSY_MS = 5000;
/** page cache per connection, KiB: rows are read once per request, the page cache barely helps */
const CACHE_KIB = 512;
/** the WAL file is truncated to this after a checkpoint resets it */
const WAL_LIMIT_BYTES = 16 * 1048576;

/**
 * Opens (creating if needed) the small-blob database at `path`. `busyMs`: how long a statement
 * waits for another connection's write lock (the writer thread may block; the caller's thread
 * only for deletes).
 */
export function openSmallDb(path: string, busyMs: number): Database.Database {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  // 0600 before SQLite opens it (its -wal and -shm files take this mode)
  closeSync(openSync(path, "a", 0o600));
  const db = new Database(path, { timeout: busyMs });
  db.pragma("journal_mode = WAL");
  // a commit is durable before a put resolves (the metadata that references it commits next)
  db.pragma("synchronous = FULL");
  db.pragma(`cache_size = ${-CACHE_KIB}`);
  db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
  // data last: the other columns are read without touching its overflow pages
  db.exec(`CREATE TABLE IF NOT EXISTS small_blob (
    id INTEGER PRIMARY KEY,
    sha TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    data BLOB NOT NULL
  )`);
  return db;
}

export class SmallBlobs {
  readonly path: string;
  readonly maxBytes: number;
  readonly #writer: BlobWriterPool | null;
  #db: Database.Database | null = null;
  readonly #stmts = new Map<string, Database.Statement>();

  /**
   * `maxBytes` 0: nothing new is stored here, but what is here is still read and deleted (the
   * setting may have been larger before). `threaded` false: inserts run on the calling thread,
   * one transaction each (a one-shot CLI without writer threads).
   */
  constructor(root: string, maxBytes: number, threaded: boolean) {
    this.path = join(root, SMALL_BLOB_DB);
    this.maxBytes = maxBytes;
    this.#writer =
      threaded && maxBytes > 0
        ? new BlobWriterPool(1, { script: new URL("./small-thread.ts", import.meta.url) })
        : null;
  }

  /** a statement on this thread's connection; null when there is no database (and `create` is false) */
  #stmt(text: string, create = false): Database.Statement | null {
    let s = this.#stmts.get(text);
    if (!s) {
      if (!this.#db) {
        if (!create && !existsSync(this.path)) return null;
        this.#db = openSmallDb(this.path, DELETE_BUSY_MS);
        // This connection's commits are deletes (and the unthreaded CLI's inserts, below): they
        // need not wait for an fsync. A delete lost in a crash leaves a row that nothing names,
        // which the orphan scan removes, and content-addressed rows are never wrong.
        if (this.#writer) this.#db.pragma("synchronous = NORMAL");
      }
      s = this.#db.prepare(text);
      this.#stmts.set(text, s);
    }
    return s;
  }

  /** stores the bytes (once per id) durably; resolves after the COMMIT */
  async put(id: string, data: Uint8Array): Promise<void> {
    if (this.#writer) {
      const copy = new Uint8Array(data);
      await this.#writer.call(0, { path: this.path, id, data: copy }, [copy.buffer]);
      return;
    }
    this.#stmt(INSERT, true)!.run(id, Date.now(), data);
  }

  getSync(id: string): Buffer | null {
    const r = this.#stmt("SELECT data FROM small_blob WHERE sha = ?")?.pluck().get(id);
    return r === undefined ? null : (r as Buffer);
  }

  existsSync(id: string): boolean {
    const st = this.#stmt("SELECT 1 FROM small_blob WHERE sha = ?");
    return st !== null && st.pluck().get(id) !== undefined;
  }

  sizeSync(id: string): number | null {
    const r = this.#stmt("SELECT length(data) FROM small_blob WHERE sha = ?")?.pluck().get(id);
    return r === undefined ? null : Number(r);
  }

  /** deletes the rows of these ids in one transaction (synchronous: see the module comment) */
  deleteSync(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const del = this.#stmt("DELETE FROM small_blob WHERE sha = ?");
    if (!del) return;
    this.#db!.transaction(() => {
      for (const id of ids) del.run(id);
    }).immediate();
  }

  /**
   * Ids of rows created at or before `before`, after id `afterRowid` in row order, at most
   * `limit` (the orphan scan pages through the table with it). Row ids grow with insertion
   * time, so the first newer row ends the list (`more` false): a scan soon after a bulk append
   * does not read the young rows; one that arrived out of order is seen by a later scan.
   */
  createdBefore(
    before: number,
    afterRowid: number,
    limit: number,
  ): { rows: Array<{ rowid: number; id: string }>; more: boolean } {
    const st = this.#stmt("SELECT id, sha, created_at FROM small_blob WHERE id > ? ORDER BY id LIMIT ?");
    const raw = (st?.raw(true).all(afterRowid, limit) ?? []) as Array<[number, string, number]>;
    const rows: Array<{ rowid: number; id: string }> = [];
    for (const [rowid, id, at] of raw) {
      if (at > before) return { rows, more: false };
      rows.push({ rowid, id });
    }
    return { rows, more: raw.length === limit };
  }

  async close(): Promise<void> {
    await this.#writer?.close();
    this.#stmts.clear();
    this.#db?.close();
    this.#db = null;
  }
}

/** the insert of small-thread.ts and of the unthreaded put (an existing id is kept) */
export const INSERT =
  "INSERT INTO small_blob (sha, created_at, data) VALUES (?, ?, ?) ON CONFLICT (sha) DO NOTHING";
