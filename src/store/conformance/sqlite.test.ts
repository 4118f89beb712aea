/** The store conformance suite (suite.ts) run against the SQLite adapter. */
import { openStore } from "../index.ts";
import { tempDir } from "../testing/helpers.ts";
import type { Store } from "../types.ts";
import { runStoreConformance } from "./suite.ts";

async function openFresh(o: { undeleteWindowMs?: number } = {}) {
  const t = tempDir("pk-conf-");
  const open = () => openStore({ dataDir: t.dir, feedSocketPath: null, pruneDelayMs: null, ...o });
  let store: Store = await open();
  const h = {
    store,
    openSecond: open,
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
}

runStoreConformance("sqlite", () => openFresh(), openFresh);
