/** The conformance suites' usual start (suite.ts and the suite-*.ts files). */
import type { Id, Store } from "../types.ts";
import type { ConformanceStore } from "./suite.ts";

export interface Ctx {
  h: ConformanceStore;
  store: Store;
  accountId: Id;
  inbox: Id;
}

/** a fresh store with example.com, bob@example.com and his INBOX (the suites' usual start) */
export async function setup(open: () => Promise<ConformanceStore>): Promise<Ctx> {
  const h = await open();
  await h.store.addDomain("example.com");
  const acct = await h.store.createAccount("bob@example.com", "hash");
  const inbox = (await h.store.getMailbox(acct.id, "INBOX"))!.id;
  return { h, store: h.store, accountId: acct.id, inbox };
}
