/**
 * The store conformance suite (suite.ts) run unchanged against the PostgreSQL adapter: one private
 * cluster for this file (test/kit/postgres.ts), a fresh database per test. Skipped with a reason
 * when the PostgreSQL binaries are not installed.
 */
import { after, before, describe } from "node:test";
import { type PgCluster, postgresAvailable, startPostgres } from "../../../test/kit/postgres.ts";
import { openPostgresStore } from "../postgres.ts";
import { tempDir } from "../testing/helpers.ts";
import type { Store } from "../types.ts";
import { runStoreConformance } from "./suite.ts";

const available = postgresAvailable();

describe("PostgreSQL adapter", { skip: !available && "PostgreSQL binaries missing" }, () => {
  let cluster: PgCluster | null = null;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  const openFresh = async (o: { undeleteWindowMs?: number } = {}) => {
    if (!cluster) throw new Error("cluster not started");
    const url = await cluster.createDatabase();
    const t = tempDir("pk-conf-pg-");
    const open = () => openPostgresStore({ url, poolSize: 8, dataDir: t.dir, pruneDelayMs: null, ...o });
    let store: Store = await open();
    const h = {
      store,
      async reopen(): Promise<Store> {
        await store.close();
        store = await open();
        h.store = store;
        return store;
      },
      async close(): Promise<void> {
        await store.close();
        t.cleanup();
      },
    };
    return h;
  };
  runStoreConformance("postgres", () => openFresh(), openFresh);
});
