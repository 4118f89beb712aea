/** JMAP queries from the store's indexes on SQLite (the cases: query-store-cases.ts). */
import { startJmap } from "./helpers.ts";
import { queryStoreCases } from "./query-store-cases.ts";

queryStoreCases("JMAP queries from the store (SQLite)", async () => {
  const t = await startJmap();
  return { t, store: t.imap.store, accountId: t.imap.accountId, close: () => t.close() };
});
