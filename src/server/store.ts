/** Builds the concrete store from the config (only src/server and src/cli do this, DESIGN.md §2). */
import type { ResolvedConfig } from "../config/index.ts";
import { openStore } from "../store/index.ts";
import type { Store } from "../store/types.ts";

/**
 * Opens the store; withFeed = false opens it without the cross-process change feed. A one-shot
 * command (oneShot) writes blobs on its own thread instead of starting writer threads.
 */
export function openConfiguredStore(
  config: ResolvedConfig,
  withFeed = true,
  oneShot = false,
): Promise<Store> {
  return openStore({
    dataDir: config.data_dir,
    maxMessageSize: config.store.max_message_size,
    feedSocketPath: withFeed ? config.paths.feedSocket : null,
    blobWriterThreads: oneShot ? 0 : config.store.blob_writer_threads,
    changeLogDays: config.store.change_log_days,
    // one-shot CLI commands do not run the background pruning job
    pruneDelayMs: oneShot ? null : undefined,
  });
}
