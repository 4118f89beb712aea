/**
 * The Store on PostgreSQL (`[store] backend = "postgres"`): the same domain modules (store.ts
 * SqlStore) over the PostgreSQL db adapter (db/postgres), its jobs (sweeper, pruning), the keys
 * and locks adapters on the same database, and the blob / search / feed adapters given by the
 * caller. Opening migrates the schema (db/postgres/migrate.ts: several nodes may start at once).
 *
 * Wiring points until the PostgreSQL blob, search and feed adapters exist (docs/architecture.md
 * "PostgreSQL adapter"): blobs default to the filesystem adapter under <dataDir>/blobs (one host,
 * or a shared file system); the feed defaults to the in-process Feed (plus the host's Unix-socket
 * hub when a path is given), so other nodes see changes only when they look; the search default
 * answers every text query with an error instead of a wrong result.
 */
import { join } from "node:path";
import { FsBlobStore } from "./blob/fs.ts";
import type { BlobStore } from "./blob/port.ts";
import { PgDb } from "./db/postgres/db.ts";
import { PgJobs } from "./db/postgres/jobs.ts";
import { migratePostgres } from "./db/postgres/migrate.ts";
import type { PgContent } from "./db/postgres/ops-messages.ts";
import { openPool } from "./db/postgres/pg.ts";
import { Feed } from "./feed/hub.ts";
import { PgKeys } from "./keys/postgres.ts";
import type { LockService } from "./locks/port.ts";
import { PgLocks } from "./locks/postgres.ts";
import type { MimeFns } from "./mime-fns.ts";
import type { SearchIndex } from "./search/port.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, SqlStore } from "./store.ts";
import { type ChangeFeed, type Store, StoreError } from "./types.ts";

export interface PostgresStoreOptions {
  /** postgres://user@host:port/db */
  url: string;
  /** false: the schema must exist already (admin commands); true (default): create or upgrade it */
  create?: boolean;
  /** connections of this node's pool. Default 10 */
  poolSize?: number;
  /** the node's data directory (the default blob adapter's files live under it) */
  dataDir: string;
  maxMessageSize?: number;
  /** days of change-log / expunge-log history kept; 0 = forever. Default 90 */
  changeLogDays?: number;
  /** first background pruning run this long after open; null = none. Default 60 s */
  pruneDelayMs?: number | null;
  /** threads writing blob files of the default blob adapter; 0 = on the caller's thread. Default 2 */
  blobWriterThreads?: number;
  /** the blob port; default FsBlobStore under <dataDir>/blobs (WIRING POINT: PostgreSQL blobs) */
  blobs?: BlobStore;
  /** the search port; default refuses text queries (WIRING POINT: PostgreSQL full-text search) */
  search?: SearchIndex;
  /** the feed port; default the in-process Feed + host hub (WIRING POINT: LISTEN/NOTIFY) */
  feed?: ChangeFeed;
  /** Unix socket of the host's feed hub for the default feed; null = in-process only */
  feedSocketPath?: string | null;
  /** the locks port; default leases in the database (locks/postgres.ts) */
  locks?: LockService;
  /** @internal tests may inject MIME functions; production uses src/mime */
  mime?: MimeFns;
}

/** Stands in for the search port until its PostgreSQL adapter is wired: never a wrong answer. */
class NoTextSearch implements SearchIndex {
  async index(): Promise<void> {}
  async remove(): Promise<void> {}
  async query(): Promise<number[]> {
    throw new StoreError("CANNOT", "text search is not available on the PostgreSQL backend yet");
  }
}

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<Store> {
  const mime: MimeFns = opts.mime ?? (await import("../mime/index.ts"));
  const pool = openPool(opts.url, opts.poolSize ?? 10);
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
  const blobs =
    opts.blobs ??
    new FsBlobStore(join(opts.dataDir, "blobs"), {
      writerThreads: opts.blobWriterThreads ?? 2,
    });
  const search = opts.search ?? new NoTextSearch();
  let feed = opts.feed;
  if (!feed) {
    const f = new Feed(opts.feedSocketPath ?? null);
    await f.ready();
    feed = f;
  }
  const content: PgContent = {
    ensure: async (sha, raw) => {
      if (!(await blobs.has(sha))) await blobs.put(raw, sha);
    },
    drop: (sha) => blobs.delete(sha),
    index: (ref, text) => search.index(ref, text),
  };
  const db = new PgDb(pool, content);
  return new SqlStore(db, blobs, search, mime, feed, opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE, {
    jobs: (hooks) =>
      new PgJobs(pool, content, {
        changeLogDays: opts.changeLogDays,
        pruneDelayMs: opts.pruneDelayMs,
        onBlobDeleted: hooks.onBlobDeleted,
        pruneVacationReplies: hooks.pruneVacationReplies,
        purge: hooks.purge,
      }),
    locks: opts.locks ?? new PgLocks(pool),
    keys: new PgKeys(pool),
  });
}
