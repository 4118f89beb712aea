/**
 * The mail store — the only storage API protocol code imports (docs/architecture.md "Mail store"
 * and "Store layers").
 *
 * Layers: api/ (the interfaces by role; types.ts re-exports them) ← domain/ (the mail logic,
 * written once, async, against the ports) → ports (db/port.ts, blob/, search/, feed/, locks/,
 * keys/) ← adapters. openStore() builds the SQLite backend: db/sqlite (better-sqlite3, WAL,
 * synchronous=FULL; migrations at open; the group commit; background jobs in db/sqlite/jobs.ts:
 * blob sweeper, orphan scan, FTS5 indexer, history pruning), the filesystem blob adapter, the FTS5
 * search adapter, the Unix-socket feed hub, lock files and the keys table; store.ts wires the
 * domain modules over them.
 *
 * Invariants kept by domain/ (and checked for every adapter by conformance/):
 * - Every write is one transaction and takes one fresh modseq per account (RFC 7162 §3.1.1);
 *   mailbox HIGHESTMODSEQ, message rows, the expunge log and the account change log share it
 *   (domain/context.ts TxContext).
 * - UIDVALIDITY is seconds-based and strictly increasing per account, so a re-created name never
 *   reuses one (RFC 9051 §2.3.1.1). UIDs come from mailbox.uidnext and are never reused.
 * - Raw messages are content-addressed blobs written durably before the transaction that
 *   references them; per-recipient delivery headers are separate rows, prefixed on read. A
 *   transaction that drops a blob's last reference marks it; the adapter's sweeper deletes it
 *   off the reply path and never while referenced.
 * - The parsed MIME structure and the search text are computed once per blob at append.
 * - Quota usage counters change in the same transaction as the messages they count
 *   (domain/quota.ts: the one quota rule).
 * - The account change log (changes.ts): each write transaction records one row per Email /
 *   Mailbox / Thread it changed, so changesSinceState() answers RFC 8620 /changes from one index
 *   range; history older than store.change_log_days is pruned (cannotCalculateChanges before it,
 *   QRESYNC falls back to reporting every absent uid as VANISHED).
 * - After each commit a Beacon goes out on the change feed (feed/port.ts): synchronously to local
 *   subscribers, and through the hub to other processes.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { FsBlobStore } from "./blob/fs.ts";
import { DEFAULT_SMALL_BLOB_MAX_BYTES } from "./blob/small.ts";
import { SqliteDb } from "./db/sqlite/db.ts";
import { SqliteJobs } from "./db/sqlite/jobs.ts";
import { openSqlite } from "./db/sqlite/sqlite.ts";
import { Feed } from "./feed/hub.ts";
import { SqliteKeys } from "./keys/sqlite.ts";
import { FileLocks } from "./locks/file.ts";
import type { LockService } from "./locks/port.ts";
import type { MimeFns } from "./mime-fns.ts";
import { defaultFeedSocketPath, storeDatabasePath } from "./paths.ts";
import { Fts5Search } from "./search/fts.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, SqlStore } from "./store.ts";
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
  /** blobs up to this size go to the small-blob database (blob/small.ts); 0 = none. Default 128 KiB */
  smallBlobMaxBytes?: number;
  /** days of change-log / expunge-log history kept (store.change_log_days); 0 = forever. Default 90 */
  changeLogDays?: number;
  /** vacation "replied to" records are pruned after this (smtp.vacation_reply_interval); default 7 days */
  vacationReplyMs?: number;
  /** first background pruning run this long after open (then hourly); null = none. Default 60 s */
  pruneDelayMs?: number | null;
  /** take on background work other processes' commits left (db/sqlite/load.ts PeerPacing); default true */
  peerWork?: boolean;
  /** messages whose states each process caches between reads (store.state_cache_messages); default 500,000 */
  stateCacheMessages?: number;
  /** expunged messages stay recoverable this long (store.undelete_window); 0 = not kept. Default 0 */
  undeleteWindowMs?: number;
  /** page cache bound of the writing SQLite connection, KiB (store.sqlite_cache_kib); default 16384 */
  sqliteCacheKiB?: number;
  /** page cache bound of the read-only connection, KiB (store.sqlite_reader_cache_kib); default 2048 */
  sqliteReaderCacheKiB?: number;
  /** WAL file bound in octets (store.wal_limit_mb); 0 = unbounded. Default 64 MiB */
  walLimitBytes?: number;
  /** the locks port; default lock files under <dataDir>/run/locks (one host) */
  locks?: LockService;
  /** @internal tests of the store alone may inject MIME functions; production uses src/mime */
  mime?: MimeFns;
  /** @internal tests: called with the raw SQLite connection after migrations */
  sqliteHook?: (db: Database.Database) => void;
}

export { defaultFeedSocketPath, storeDatabasePath };

export async function openStore(opts: StoreOptions): Promise<Store> {
  // 0700: the store holds password hashes (docs/architecture.md, file modes)
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const mime: MimeFns = opts.mime ?? (await import("../mime/index.ts"));
  const h = openSqlite(storeDatabasePath(opts.dataDir), {
    busyTimeoutMs: opts.busyTimeoutMs,
    cacheKiB: opts.sqliteCacheKiB,
    readerCacheKiB: opts.sqliteReaderCacheKiB,
    walLimitBytes: opts.walLimitBytes,
  });
  const search = new Fts5Search(h);
  opts.sqliteHook?.(h.raw);
  const feed = new Feed(
    opts.feedSocketPath === null ? null : (opts.feedSocketPath ?? defaultFeedSocketPath(opts.dataDir)),
  );
  await feed.ready();
  const files = new FsBlobStore(join(opts.dataDir, "blobs"), {
    writerThreads: opts.blobWriterThreads ?? 2,
    smallMaxBytes: opts.smallBlobMaxBytes ?? DEFAULT_SMALL_BLOB_MAX_BYTES,
  });
  return new SqlStore(
    new SqliteDb(h, { files, search }),
    files,
    search,
    mime,
    feed,
    opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    {
      jobs: (hooks) =>
        new SqliteJobs(h, files, search, {
          orphanScanDelayMs: opts.orphanScanDelayMs,
          orphanMinAgeMs: opts.orphanMinAgeMs,
          changeLogDays: opts.changeLogDays,
          pruneDelayMs: opts.pruneDelayMs,
          peerWork: opts.peerWork,
          undeleteWindowMs: opts.undeleteWindowMs,
          ...(opts.vacationReplyMs !== undefined ? { vacationReplyMs: opts.vacationReplyMs } : {}),
          pruneVacationReplies: hooks.pruneVacationReplies,
          pruneWebmailSessions: hooks.pruneWebmailSessions,
          purge: hooks.purge,
          onBlobDeleted: hooks.onBlobDeleted,
        }),
      locks: opts.locks ?? new FileLocks(join(opts.dataDir, "run", "locks")),
      keys: new SqliteKeys(h),
      stateCacheMessages: opts.stateCacheMessages,
      undeleteWindowMs: opts.undeleteWindowMs,
    },
  );
}
