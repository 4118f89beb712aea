/**
 * The search port (port.ts) through its async interface, on the FTS5 adapter opened over a second
 * connection to a store's database: index/remove/query by blob, scoped to one mailbox.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { openSqlite } from "../db/sqlite/sqlite.ts";
import { fixture, msg } from "../testing/helpers.ts";
import { Fts5Search } from "./fts.ts";

test("search port: query finds queued and indexed texts; remove drops, index re-adds", async () => {
  const f = await fixture();
  const h = openSqlite(join(f.dir, "store.sqlite"));
  try {
    const search = new Fts5Search(h);
    const a = await f.store.append(f.accountId, f.inbox, { raw: msg({ subject: "quarterly zebra report" }) });
    const b = await f.store.append(f.accountId, f.inbox, { raw: msg({ body: "nothing striped here" }) });
    const other = (await f.store.createMailbox(f.accountId, "Other")).id;
    await f.store.copy(f.inbox, [a.uid], other);
    const scope = { mailboxId: f.inbox };
    assert.deepEqual(await search.query(scope, { field: "text", value: "ZEBRA" }), [a.uid]);
    assert.deepEqual(await search.query(scope, { field: "header", header: "subject", value: "zebra" }), [
      a.uid,
    ]);
    assert.deepEqual(await search.query(scope, { field: "body", value: "zebra" }), []);
    assert.deepEqual(await search.query(scope, { field: "text", value: "" }), [a.uid, b.uid]);
    assert.deepEqual(await search.query({ mailboxId: other }, { field: "text", value: "zebra" }), [1]);
    const blobRef = Number(
      (
        h.raw.prepare("SELECT blob_id FROM message WHERE mailbox_id = ? AND uid = ?").get(f.inbox, a.uid) as {
          blob_id: number;
        }
      ).blob_id,
    );
    await search.remove(blobRef);
    assert.deepEqual(await search.query(scope, { field: "text", value: "zebra" }), []);
    // one entry per blob: the copy in the other mailbox went with it
    assert.deepEqual(await search.query({ mailboxId: other }, { field: "text", value: "zebra" }), []);
    await search.index(blobRef, { headers: "Subject: okapi\r\n", body: "an okapi" });
    assert.deepEqual(await search.query(scope, { field: "body", value: "okapi" }), [a.uid]);
    assert.deepEqual(await search.query({ mailboxId: other }, { field: "text", value: "OKAPI" }), [1]);
  } finally {
    await h.close();
    await f.close();
  }
});
