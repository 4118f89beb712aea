/**
 * The Store on PostgreSQL (`[store] backend = "postgres"`): the same domain modules (store.ts
 * SqlStore) over the PostgreSQL db adapter (db/postgres), its jobs (sweeper, pruning), and every
 * edge adapter on the same database, so a cluster of nodes needs nothing but PostgreSQL
 * (docs/architecture.md "PostgreSQL adapter"):
 *
 * - blob: PgBlobStore. Message content is written by the db adapter inside the append's own
 *   transaction (`blobs.ensure` → writeIn on the transaction's connection), so rows never commit
 *   without their content and a failed or killed append leaves none behind; the sweeper deletes
 *   content with deleteIn in its transaction. JMAP uploads and reads go through the port.
 * - search: PgSearch, the text indexed in the same transaction (indexIn), removed by the sweeper
 *   (removeIn).
 * - feed: PgFeed (LISTEN/NOTIFY, published by the store's afterCommit hooks); `listen: false`
 *   (the server's one-time preparation) gets an in-process feed instead.
 * Opening migrates the schema (db/postgres/migrate.ts: several nodes may start at once).
 */
import { PgBlobStore, type PgStatements } from "./blob/postgres.ts";
import { PgDb } from "./db/postgres/db.ts";
import { PgJobs } from "./db/postgres/jobs.ts";
import { migratePostgres } from "./db/postgres/migrate.ts";
import type { PgContent } from "./db/postgres/ops-messages.ts";
import { type Exec, openPool } from "./db/postgres/pg.ts";
import { Feed } from "./feed/hub.ts";
import { PgFeed } from "./feed/postgres.ts";
import { PgKeys } from "./keys/postgres.ts";
import type { LockService } from "./locks/port.ts";
import { PgLocks } from "./locks/postgres.ts";
import type { MimeFns } from "./mime-fns.ts";
import { PgSearch } from "./search/postgres.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, SqlStore } from "./store.ts";
import type { ChangeFeed, Store } from "./types.ts";

export interface PostgresStoreOptions {
  /** postgres://user@host:port/db */
  url: string;
  /** false: the schema must exist already (admin commands); true (default): create or upgrade it */
  create?: boolean;
  /** connections of this node's pool (the feed keeps one of them). Default 10, at least 2 */
  poolSize?: number;
  /** the node's data directory (kept for symmetry with the SQLite store; nothing of the store is there) */
  dataDir: string;
  maxMessageSize?: number;
  /** days of change-log / expunge-log history kept; 0 = forever. Default 90 */
  changeLogDays?: number;
  /** messages whose states each process caches (store.state_cache_messages) */
  stateCacheMessages?: number;
  /** vacation replied-to records kept this long (smtp.vacation_reply_interval) */
  vacationReplyMs?: number;
  /** first background pruning run this long after open; null = none. Default 60 s */
  pruneDelayMs?: number | null;
  /** expunged messages stay recoverable this long (store.undelete_window); 0 = not kept. Default 0 */
  undeleteWindowMs?: number;
  /** false: an in-process feed instead of LISTEN/NOTIFY (a process that serves no sessions). Default true */
  listen?: boolean;
  /** the feed port; default PgFeed on this store's pool */
  feed?: ChangeFeed;
  /** how often the feed checks its listening connection (ms). Default 10 s */
  feedHeartbeatMs?: number;
  /** failures of pooled and listening connections (PostgreSQL restarts, network); default ignored */
  onConnectionError?: (err: unknown) => void;
  /** the locks port; default leases in the database (locks/postgres.ts) */
  locks?: LockService;
  /** @internal tests may inject MIME functions; production uses src/mime */
  mime?: MimeFns;
}

/** the db adapter's statements in the shape the edge adapters' `…In` methods take */
function statements(x: Exec): PgStatements {
  const defer = x.defer;
  return { query: (text, values) => x(text, values), ...(defer ? { defer } : {}) };
}

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<Store> {
  const mime: MimeFns = opts.mime ?? (await import("../mime/index.ts"));
  const poolSize = opts.poolSize ?? 10;
  if (poolSize < 2) throw new Error("the PostgreSQL pool needs at least 2 connections ([store] pool_size)");
  const pool = openPool(opts.url, poolSize, opts.onConnectionError);
  try {
    if (opts.create === false) {
      const r = await pool.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS ok");
      if (r.rows[0]?.ok !== true)
        throw new Error("no store in this PostgreSQL database: `postkontor serve` creates it");
    }
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const blobs = new PgBlobStore(pool);
  const search = new PgSearch(pool);
  let feed = opts.feed;
  if (!feed && opts.listen === false) feed = new Feed(null);
  if (!feed) {
    const f = new PgFeed(pool, {
      heartbeatMs: opts.feedHeartbeatMs,
      onConnectionError: opts.onConnectionError,
    });
    await f.ready();
    feed = f;
  }
  const content: PgContent = {
    ensure: async (x, sha, raw) => {
      await blobs.writeIn(statements(x), raw, sha);
    },
    drop: (x, id) => blobs.deleteIn(statements(x), id),
    index: (x, ref, text) => search.indexIn(statements(x), ref, text),
    unindex: (x, ref) => search.removeIn(statements(x), ref),
  };
  const db = new PgDb(pool, content);
  return new SqlStore(db, blobs, search, mime, feed, opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE, {
    jobs: (hooks) =>
      new PgJobs(pool, content, {
        changeLogDays: opts.changeLogDays,
        ...(opts.vacationReplyMs !== undefined ? { vacationReplyMs: opts.vacationReplyMs } : {}),
        pruneDelayMs: opts.pruneDelayMs,
        onBlobDeleted: hooks.onBlobDeleted,
        pruneVacationReplies: hooks.pruneVacationReplies,
        pruneWebmailSessions: hooks.pruneWebmailSessions,
        purge: hooks.purge,
        undeleteWindowMs: opts.undeleteWindowMs,
      }),
    locks: opts.locks ?? new PgLocks(pool),
    keys: new PgKeys(pool),
    stateCacheMessages: opts.stateCacheMessages,
    contentInWrite: true,
    undeleteWindowMs: opts.undeleteWindowMs,
  });
}
