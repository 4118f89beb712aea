/**
 * The mail store (DESIGN.md §3) — the only storage API protocol code imports.
 *
 * Implementation notes:
 * - Metadata in SQLite through kysely (SqliteDialect over better-sqlite3; WAL, synchronous=FULL,
 *   busy_timeout, foreign keys); schema by versioned migrations (db/sqlite/migrations.ts) applied at open.
 *   Hot queries (listMessages, changesSince, getMessages, storeFlags) are prepared statements with
 *   portable SQL, run while holding kysely's connection mutex.
 * - Every write is one BEGIN IMMEDIATE transaction and takes one fresh modseq from the account's
 *   counter (RFC 7162 §3.1.1); mailbox HIGHESTMODSEQ, message rows and the expunge log share it.
 * - UIDVALIDITY is seconds-based and strictly increasing per account, so a re-created name never
 *   reuses one (RFC 9051 §2.3.1.1). UIDs come from mailbox.uidnext and are never reused.
 * - Raw messages are content-addressed blobs (blob/fs.ts) written and fsynced before the
 *   transaction that references them; per-recipient delivery headers are separate rows,
 *   prefixed on read. A transaction that drops a blob's last reference marks it gc_pending; a
 *   background sweeper (sql/store.ts, "blob garbage collection") re-checks and deletes row, FTS
 *   entry and file in short write-lock batches, off the reply path; crash leftovers (marked
 *   blobs, orphan files) are swept after open. POP3 sizes (CRLF form) are stored per message.
 * - The parsed MIME structure (src/mime) and the search text are computed once per blob at
 *   append; copies share them. The text goes into the FTS5 trigram index (contentless, cheap
 *   deletes) a moment later, in batched background transactions; searches scan the few texts
 *   still queued, so results never depend on the indexer's progress.
 * - Write transactions wait for the SQLite write lock asynchronously (db/sqlite/sqlite.ts), never in
 *   SQLite's sleeping busy handler, so a worker's event loop keeps serving while another
 *   process writes.
 * - Quota usage counters change in the same transaction as the messages they count.
 * - Account change log (changes.ts, sql/changelog.ts): each write transaction records one row per
 *   Email / Mailbox / Thread it changed (net effect, its modseq) before it commits, so
 *   changesSinceState() answers RFC 8620 /changes from one index range. A background job prunes
 *   change- and expunge-log rows older than store.change_log_days (floors raised first: older
 *   states answer cannotCalculateChanges, older QRESYNC modseqs get every absent uid as
 *   VANISHED) and thread references without messages.
 * - conformance/suite.ts holds the invariants every adapter must keep; each adapter runs it.
 * - After each commit a Beacon goes out on the change feed (feed/port.ts; adapter feed/hub.ts): synchronously to local
 *   subscribers, and through the Unix-socket hub to other processes.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { FsBlobStore } from "./blob/fs.ts";
import { SqliteDb } from "./db/sqlite/db.ts";
import { openSqlite } from "./db/sqlite/sqlite.ts";
import { Feed } from "./feed/hub.ts";
import { SqliteKeys } from "./keys/sqlite.ts";
import { FileLocks } from "./locks/file.ts";
import type { LockService } from "./locks/port.ts";
import type { MimeFns } from "./mime-fns.ts";
import { Fts5Search } from "./search/fts.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, SqlStore } from "./sql/store.ts";
import type { Store } from "./types.ts";

export { type QuotaVerdict, quotaVerdict } from "./domain/quota.ts";
export { Feed, startFeedHub } from "./feed/hub.ts";
export type * from "./types.ts";
export { DeliveryRefused, StoreError } from "./types.ts";

export interface StoreOptions {
  dataDir: string;
  /** octets, delivery-header prefix included; default 50 MiB */
  maxMessageSize?: number;
  /** default <dataDir>/run/feed.sock; null = no cross-process feed */
  feedSocketPath?: string | null;
  /** SQLite busy timeout in ms (several processes share the database); default 15 s */
  busyTimeoutMs?: number;
  /** scan for orphan blob files (crash leftovers) this long after open; null = not at open. Default 30 s */
  orphanScanDelayMs?: number | null;
  /** orphan blob/temp files younger than this are kept (an append may be in flight). Default 15 min */
  orphanMinAgeMs?: number;
  /** threads writing blob files (blob/writer.ts); 0 = synchronously on the caller's thread. Default 2 */
  blobWriterThreads?: number;
  /** days of change-log / expunge-log history kept (store.change_log_days); 0 = forever. Default 90 */
  changeLogDays?: number;
  /** first background pruning run this long after open (then hourly); null = none. Default 60 s */
  pruneDelayMs?: number | null;
  /** the locks port; default lock files under <dataDir>/run/locks (one host) */
  locks?: LockService;
  /** @internal tests of the store alone may inject MIME functions; production uses src/mime */
  mime?: MimeFns;
  /** @internal tests: called with the raw SQLite connection after migrations */
  sqliteHook?: (db: Database.Database) => void;
}

/** The SQLite database of a data directory (its presence is what "a store exists here" means). */
export function storeDatabasePath(dataDir: string): string {
  return join(dataDir, "store.sqlite");
}

export function defaultFeedSocketPath(dataDir: string): string {
  return join(dataDir, "run", "feed.sock");
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  // 0700: the store holds password hashes (docs/architecture.md, file modes)
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const mime: MimeFns = opts.mime ?? (await import("../mime/index.ts"));
  const h = openSqlite(storeDatabasePath(opts.dataDir), { busyTimeoutMs: opts.busyTimeoutMs });
  const search = new Fts5Search(h);
  opts.sqliteHook?.(h.raw);
  const feed = new Feed(
    opts.feedSocketPath === null ? null : (opts.feedSocketPath ?? defaultFeedSocketPath(opts.dataDir)),
  );
  await feed.ready();
  const files = new FsBlobStore(join(opts.dataDir, "blobs"), { writerThreads: opts.blobWriterThreads ?? 2 });
  return new SqlStore(
    new SqliteDb(h, { files, search }),
    files,
    search,
    mime,
    feed,
    opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    {
      orphanScanDelayMs: opts.orphanScanDelayMs,
      orphanMinAgeMs: opts.orphanMinAgeMs,
      changeLogDays: opts.changeLogDays,
      pruneDelayMs: opts.pruneDelayMs,
      locks: opts.locks ?? new FileLocks(join(opts.dataDir, "run", "locks")),
      keys: new SqliteKeys(h),
    },
  );
}
