/**
 * Login throttling for `[store] backend = "postgres"`: the counters live in the database
 * (src/auth/throttle-shared.ts over src/store/counters/postgres.ts), so every node — and every
 * worker process of a node — counts the same failures. The SQLite backend keeps its in-memory
 * counters (one process, or the primary over cluster IPC: limits-ipc.ts).
 */
import type { LoginThrottle } from "../auth/index.ts";
import { sharedThrottle } from "../auth/throttle-shared.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { throttleOptions } from "./limits-ipc.ts";
import type { Logger } from "./log.ts";

/** connections of the counters' own pool (one query per login check or failure) */
const POOL_SIZE = 2;

/**
 * null for the SQLite backend; the store's schema (migration 20) must exist already. The pg
 * modules load only here, for the PostgreSQL backend.
 */
export async function openSharedThrottle(
  config: ResolvedConfig,
  logger: Logger,
): Promise<{ throttle: LoginThrottle; close(): Promise<void> } | null> {
  if (config.store.backend !== "postgres" || config.store.url === "") return null;
  const [{ PgCounters }, { openPool }] = await Promise.all([
    import("../store/counters/postgres.ts"),
    import("../store/db/postgres/pg.ts"),
  ]);
  const pool = openPool(config.store.url, POOL_SIZE);
  let lastLog = 0;
  const onError = (e: unknown) => {
    // at most one line every 10 s while the database does not answer
    const now = Date.now();
    if (now - lastLog < 10_000) return;
    lastLog = now;
    logger.warn({ err: String(e) }, "shared login throttle unavailable: counting in this process");
  };
  return {
    throttle: sharedThrottle(new PgCounters(pool), throttleOptions(config), onError),
    close: () => pool.end(),
  };
}
