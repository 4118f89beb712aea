/**
 * Builds the concrete store from the config: the one place (with src/cli, through here) that
 * chooses the store's adapters (docs/architecture.md, "Mail store"). `[store] backend` selects
 * them: "sqlite" = SQLite database + filesystem blobs + FTS5 search + Unix-socket feed hub +
 * lock files; "postgres" = every adapter on the PostgreSQL database (store/postgres.ts: db, blob,
 * search, LISTEN/NOTIFY feed, locks, keys).
 */
import type { ResolvedConfig } from "../config/index.ts";
import { importDkimKeyFiles } from "../smtp/dkim/index.ts";
import { openStore } from "../store/index.ts";
import type { Store } from "../store/types.ts";

/** where one-time upgrade notices go (the server's logger; the CLI writes to stderr) */
export type StoreNotice = (fields: Record<string, unknown>, msg: string) => void;

const stderrNotice: StoreNotice = (fields, msg) => {
  process.stderr.write(`postkontor: ${msg} ${JSON.stringify(fields)}\n`);
};

/**
 * Opens the store; withFeed = false opens it without the cross-process change feed. A one-shot
 * command (oneShot) writes blobs on its own thread instead of starting writer threads, except a
 * "bulk" one (import, restore), which starts them like `serve`.
 * Key files of older versions (DKIM) are imported into the store's keys port once.
 */
export async function openConfiguredStore(
  config: ResolvedConfig,
  withFeed = true,
  oneShot: boolean | "bulk" = false,
  notice: StoreNotice = stderrNotice,
): Promise<Store> {
  let store: Store;
  switch (config.store.backend) {
    case "sqlite":
      store = await openStore({
        dataDir: config.data_dir,
        maxMessageSize: config.store.max_message_size,
        feedSocketPath: withFeed ? config.paths.feedSocket : null,
        blobWriterThreads: oneShot === true ? 0 : config.store.blob_writer_threads,
        smallBlobMaxBytes: config.store.small_blob_max_bytes,
        changeLogDays: config.store.change_log_days,
        vacationReplyMs: config.smtp.vacation_reply_interval,
        stateCacheMessages: config.store.state_cache_messages,
        undeleteWindowMs: config.store.undelete_window,
        sqliteCacheKiB: config.store.sqlite_cache_kib,
        sqliteReaderCacheKiB: config.store.sqlite_reader_cache_kib,
        walLimitBytes: config.store.wal_limit_mb * 1048576,
        // one-shot CLI commands do not run the background pruning job, nor the servers' work
        pruneDelayMs: oneShot ? null : undefined,
        peerWork: !oneShot,
      });
      break;
    case "postgres":
      store = await openPostgres(config, withFeed, oneShot !== false, notice);
      break;
    default:
      throw new Error(`unknown store backend ${JSON.stringify(config.store.backend satisfies never)}`);
  }
  try {
    const imported = await importDkimKeyFiles(store.keys, config.data_dir);
    if (imported.length > 0)
      notice(
        { keys: imported.map((k) => `${k.domain}/${k.selector}`), from: `${config.data_dir}/dkim` },
        "imported DKIM key files into the store (the files are kept, no longer read)",
      );
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/**
 * The PostgreSQL backend. `serve` (and the outbound runner) create the schema on a fresh
 * database; one-shot CLI commands require it to exist, as they require the SQLite file. Their
 * writes reach the sessions of every node through the LISTEN/NOTIFY feed; withFeed = false (the
 * server's one-time preparation) needs none.
 */
async function openPostgres(
  config: ResolvedConfig,
  withFeed: boolean,
  oneShot: boolean,
  notice: StoreNotice,
): Promise<Store> {
  if (config.store.url === "")
    throw new Error('[store] backend = "postgres" needs [store] url = "postgres://…"');
  // loaded only for this backend: a SQLite server never loads pg and the PostgreSQL adapters
  const { openPostgresStore } = await import("../store/postgres.ts");
  return openPostgresStore({
    url: config.store.url,
    poolSize: config.store.pool_size,
    dataDir: config.data_dir,
    create: !oneShot,
    maxMessageSize: config.store.max_message_size,
    listen: withFeed,
    feedHeartbeatMs: config.store.feed_heartbeat,
    onConnectionError: (err) => notice({ err: String(err) }, "PostgreSQL connection failed (retrying)"),
    changeLogDays: config.store.change_log_days,
    stateCacheMessages: config.store.state_cache_messages,
    vacationReplyMs: config.smtp.vacation_reply_interval,
    undeleteWindowMs: config.store.undelete_window,
    pruneDelayMs: oneShot ? null : undefined,
  });
}
