/**
 * Where a data directory keeps the store's files: a module of its own, without the store, so
 * that processes which only need the paths (the cluster primary's preflight) do not load it.
 */
import { join } from "node:path";

/** The SQLite database of a data directory (its presence is what "a store exists here" means). */
export function storeDatabasePath(dataDir: string): string {
  return join(dataDir, "store.sqlite");
}

export function defaultFeedSocketPath(dataDir: string): string {
  return join(dataDir, "run", "feed.sock");
}
