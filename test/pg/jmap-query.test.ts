/**
 * JMAP queries from the store's indexes on PostgreSQL (the cases: test/jmap/query-store-cases.ts):
 * the JMAP app of the test server runs over a PostgreSQL store (startJmap's wrapStore) holding the
 * same accounts, created in the same order so that their ids match the ones HTTP Basic finds.
 */
import { after, before } from "node:test";
import { openPostgresStore } from "../../src/store/postgres.ts";
import type { Store } from "../../src/store/types.ts";
import { startJmap } from "../jmap/helpers.ts";
import { queryStoreCases } from "../jmap/query-store-cases.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { tempDir } from "../kit/temp.ts";

let cluster: PgCluster | null = null;
const skip = !postgresAvailable() && "PostgreSQL binaries missing";
before(async () => {
  if (!skip) cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
});

queryStoreCases(
  "JMAP queries from the store (PostgreSQL)",
  async () => {
    const dir = tempDir("pk-pg-jmap-query-");
    const url = await cluster!.createDatabase();
    const pgStore: Store = await openPostgresStore({
      url,
      dataDir: dir.dir,
      poolSize: 4,
      pruneDelayMs: null,
    });
    await pgStore.addDomain("example.com");
    const alice = await pgStore.createAccount("alice@example.com", "{PLAIN}x");
    await pgStore.createAccount("bob@example.com", "{PLAIN}x");
    const t = await startJmap({}, () => pgStore);
    if (alice.id !== t.imap.accountId) throw new Error("account ids differ between the stores");
    return {
      t,
      store: pgStore,
      accountId: alice.id,
      close: async () => {
        await t.close();
        await pgStore.close();
        dir.cleanup();
      },
    };
  },
  { skip },
);
