/**
 * SQLite backend plumbing: one better-sqlite3 connection per Store, its use serialized by a FIFO
 * mutex (ConnectionMutex); every database access here goes through that mutex (withConnection /
 * transaction), so prepared statements never interleave with another caller's open transaction.
 * All SQL is plain, prepared once per connection (stmt).
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { migrateSqlite } from "./migrations.ts";

export interface SqliteHandle {
  raw: Database.Database;
  /** prepared-statement cache for hot queries (portable SQL) */
  stmt(text: string, safeIntegers?: boolean): Database.Statement;
  /**
   * A statement prepared on a second, read-only connection (opened on first use). Each call is
   * its own snapshot of committed data and takes no mutex, so a hot single-statement read (POP3
   * RETR) is not queued behind this process's transactions waiting for the cross-process write
   * lock (a transaction holds the connection's mutex while it runs).
   */
  readStmt(text: string, safeIntegers?: boolean): Database.Statement;
  /** runs fn while holding the connection (no other transaction open in this process) */
  withConnection<T>(fn: () => Promise<T> | T): Promise<T>;
  /**
   * BEGIN IMMEDIATE … COMMIT (rolls back if fn throws). `redoable`: background work that a later
   * run redoes if a power loss takes it (sweeper, indexer) commits without its own WAL fsync
   */
  transaction<T>(fn: () => Promise<T> | T, opts?: { redoable?: boolean }): Promise<T>;
  /** the database file's path (its WAL is `${path}-wal`) */
  path: string;
  /** WAL size in octets above which the background jobs truncate it after a burst (0 = never) */
  walLimitBytes: number;
  close(): Promise<void>;
}

export interface SqliteOptions {
  busyTimeoutMs?: number;
  /** page cache of the writing connection, KiB (SQLite cache_size); default 16384 */
  cacheKiB?: number;
  /** page cache of the read-only connection (content reads), KiB; default 2048 */
  readerCacheKiB?: number;
  /**
   * WAL size bound, octets: SQLite truncates the WAL file to it after a checkpoint resets the log
   * (journal_size_limit), and the background jobs run a TRUNCATE checkpoint when a burst left it
   * larger. Default 64 MiB; 0 = no bound (SQLite's default: the file keeps its largest size).
   */
  walLimitBytes?: number;
}

/**
 * A set of integers bound as one parameter: `WHERE uid ${IN_LIST}` with `listParam(uids)`. One
 * statement for a set instead of one per row: the undelete window's per-message INSERT … SELECT
 * cost ~18 µs (the set form ~1 µs per message), a per-message DELETE from the message table ~9 µs
 * (~4.5) — docs/benchmarks.md, eighth round.
 */
export const IN_LIST = "IN (SELECT value FROM json_each(?))";

export function listParam(ids: readonly number[]): string {
  return JSON.stringify(ids);
}

export const DEFAULT_SQLITE_CACHE_KIB = 16_384;
export const DEFAULT_READER_CACHE_KIB = 2048;
export const DEFAULT_WAL_LIMIT_BYTES = 64 * 1048576;

/**
 * The connection's mutex: callers run one at a time, in the order they asked. (A query builder
 * used to provide it; it was kept for nothing else, at ~11 MiB of loaded code per process.)
 */
export class ConnectionMutex {
  #tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const before = this.#tail;
    let release = (): void => {};
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    return before.then(async () => {
      try {
        return await fn();
      } finally {
        release();
      }
    });
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "SQLITE_BUSY" || code === "SQLITE_BUSY_SNAPSHOT" || code === "SQLITE_LOCKED";
}

export function openSqlite(path: string, opts: SqliteOptions = {}): SqliteHandle {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // created 0600 before SQLite opens it: the database holds password hashes, and SQLite gives the
  // -wal and -shm files the mode of the database file
  closeSync(openSync(path, "a", 0o600));
  const busyTimeoutMs = opts.busyTimeoutMs ?? 15_000;
  const raw = new Database(path, { timeout: busyTimeoutMs });
  // WAL: readers never block the writer; synchronous=FULL: a commit is durable before we
  // acknowledge (docs/architecture.md "Mail store"). journal_mode needs the busy handler when several processes open at once.
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = FULL");
  raw.pragma("foreign_keys = ON");
  raw.pragma("temp_store = MEMORY");
  // a bound, not an allocation: pages are cached as they are read (docs/benchmarks.md "Fixed memory")
  raw.pragma(`cache_size = ${-Math.max(64, Math.floor(opts.cacheKiB ?? DEFAULT_SQLITE_CACHE_KIB))}`);
  const walLimitBytes = Math.max(0, Math.floor(opts.walLimitBytes ?? DEFAULT_WAL_LIMIT_BYTES));
  // after a checkpoint resets the log, SQLite truncates the WAL file to this size instead of
  // keeping the largest size a burst (a big DELETE) once gave it
  raw.pragma(`journal_size_limit = ${walLimitBytes > 0 ? walLimitBytes : -1}`);
  migrateSqlite(raw);
  // The write lock is waited for asynchronously (transaction below), never in SQLite's busy
  // handler: that sleeps inside the call and freezes this process's event loop, and with two
  // connections in one process (tests, CLI + server) it cannot even finish the holder's
  // transaction. Reads in WAL mode do not wait for writers; the short timeout left covers the
  // rare WAL-index recovery.
  raw.pragma("busy_timeout = 100");

  // A PRAGMA that sets something does it while it is prepared (SQLite's parser runs it), not
  // when a prepared statement runs: a statement prepared once and run again sets nothing. So
  // these are prepared each time (raw.exec: ~0.75 µs each; raw.pragma, which also shapes a
  // result, ~9 µs — and a writer waiting for another process's lock tries every millisecond).
  const commit = raw.prepare("COMMIT");
  /** one BEGIN IMMEDIATE attempt that does not wait: false when another connection holds the lock */
  const tryBeginImmediate = (): boolean => {
    raw.exec("PRAGMA busy_timeout = 0");
    try {
      raw.exec("BEGIN IMMEDIATE");
      return true;
    } catch (err) {
      if (!isBusy(err)) throw err;
      return false;
    } finally {
      raw.exec("PRAGMA busy_timeout = 100");
    }
  };

  const mutex = new ConnectionMutex();
  const cache = new Map<string, Database.Statement>();
  const stmt = (text: string, safeIntegers = false) => {
    const key = (safeIntegers ? "S:" : "N:") + text;
    let s = cache.get(key);
    if (!s) {
      s = raw.prepare(text);
      if (safeIntegers) s.safeIntegers(true);
      cache.set(key, s);
    }
    return s;
  };
  let reader: Database.Database | null = null;
  const readCache = new Map<string, Database.Statement>();
  const readStmt = (text: string, safeIntegers = false) => {
    const key = (safeIntegers ? "S:" : "N:") + text;
    let s = readCache.get(key);
    if (!s) {
      if (!reader) {
        // WAL (set above): this reader never blocks and is never blocked by the writer
        reader = new Database(path, { readonly: true, fileMustExist: true, timeout: 100 });
        reader.pragma(
          `cache_size = ${-Math.max(64, Math.floor(opts.readerCacheKiB ?? DEFAULT_READER_CACHE_KIB))}`,
        );
      }
      s = reader.prepare(text);
      if (safeIntegers) s.safeIntegers(true);
      readCache.set(key, s);
    }
    return s;
  };
  const withConnection = <T>(fn: () => Promise<T> | T): Promise<T> => mutex.run(fn);
  /**
   * BEGIN IMMEDIATE … COMMIT. The connection (its mutex) is held only while an attempt runs:
   * between attempts — while another process holds the write lock — this process's reads and
   * other transactions go on. Bounded by busyTimeoutMs; each failed attempt sleeps ≥ 1 ms, a short
   * fixed poll that hands the lock over quickly.
   *
   * `redoable` (docs/architecture.md "Durability"): synchronous = NORMAL for this commit alone —
   * its WAL frames reach the disk with the next FULL commit's fsync or the next checkpoint, and a
   * power loss before that takes this commit (and only unsynced ones after it) back. For the
   * sweeper's and the indexer's batches: their marks and queues stay, and they run again.
   */
  const transaction = async <T>(fn: () => Promise<T> | T, opts?: { redoable?: boolean }): Promise<T> => {
    const deadline = Date.now() + busyTimeoutMs;
    const redoable = opts?.redoable === true;
    for (;;) {
      const attempt = await mutex.run(async () => {
        // (SQLite refuses to change it inside a transaction)
        if (redoable) raw.exec("PRAGMA synchronous = NORMAL");
        try {
          if (!tryBeginImmediate()) return null;
          try {
            const r = await fn();
            commit.run();
            return { r };
          } catch (err) {
            if (raw.inTransaction) raw.exec("ROLLBACK");
            throw err;
          }
        } finally {
          if (redoable) raw.exec("PRAGMA synchronous = FULL");
        }
      });
      if (attempt) return attempt.r;
      if (Date.now() >= deadline) {
        throw Object.assign(new Error("database is locked (write lock not obtained in time)"), {
          code: "SQLITE_BUSY",
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  return {
    raw,
    stmt,
    readStmt,
    withConnection,
    transaction,
    path,
    walLimitBytes,
    close: async () => {
      readCache.clear();
      reader?.close();
      reader = null;
      // after every holder of the connection is done, as the query builder's destroy did
      await mutex.run(() => raw.close());
    },
  };
}
