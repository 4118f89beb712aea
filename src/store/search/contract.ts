/**
 * The search port's contract (port.ts), written against the interface so that every adapter runs
 * it: port.test.ts (FTS5, messages appended to a SQLite store) and test/pg/search.test.ts
 * (PostgreSQL, message rows inserted beside the index).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { msg } from "../testing/helpers.ts";
import type { SearchIndex } from "./port.ts";

/** where the contract puts its messages; each adapter's test builds one */
export interface SearchEnv {
  search: SearchIndex;
  /** mailboxes (ids) the env provides */
  inbox: number;
  other: number;
  /** a new message in the mailbox whose text the index holds; its uid and the blobRef */
  append(mailboxId: number, raw: Buffer): Promise<{ uid: number; blobRef: number }>;
  /** a copy in another mailbox, sharing the blob; its uid there */
  copy(fromMailboxId: number, uid: number, toMailboxId: number): Promise<number>;
  close(): Promise<void>;
}

export function searchContract(name: string, open: () => Promise<SearchEnv>): void {
  test(`search port: ${name}: query finds indexed texts; remove drops, index re-adds`, async () => {
    const env = await open();
    try {
      const { search, inbox, other } = env;
      const a = await env.append(inbox, msg({ subject: "quarterly zebra report" }));
      const b = await env.append(inbox, msg({ body: "nothing striped here" }));
      const copied = await env.copy(inbox, a.uid, other);
      const scope = { mailboxId: inbox };
      assert.deepEqual(await search.query(scope, { field: "text", value: "ZEBRA" }), [a.uid]);
      assert.deepEqual(await search.query(scope, { field: "header", header: "subject", value: "zebra" }), [
        a.uid,
      ]);
      assert.deepEqual(await search.query(scope, { field: "body", value: "zebra" }), []);
      assert.deepEqual(await search.query(scope, { field: "text", value: "" }), [a.uid, b.uid]);
      assert.deepEqual(await search.query({ mailboxId: other }, { field: "text", value: "zebra" }), [copied]);
      await search.remove(a.blobRef);
      assert.deepEqual(await search.query(scope, { field: "text", value: "zebra" }), []);
      // one entry per blob: the copy in the other mailbox went with it
      assert.deepEqual(await search.query({ mailboxId: other }, { field: "text", value: "zebra" }), []);
      await search.index(a.blobRef, { headers: "Subject: okapi\r\n", body: "an okapi" });
      assert.deepEqual(await search.query(scope, { field: "body", value: "okapi" }), [a.uid]);
      assert.deepEqual(await search.query({ mailboxId: other }, { field: "text", value: "OKAPI" }), [copied]);
    } finally {
      await env.close();
    }
  });
}
