/**
 * The search port's contract (contract.ts) on the FTS5 adapter, opened over a second connection to
 * a store's database: messages are appended and copied through the store.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { FsBlobStore, sha256Hex } from "../blob/fs.ts";
import { sqliteOps } from "../db/sqlite/ops.ts";
import { sqliteMessageOps } from "../db/sqlite/ops-messages.ts";
import { openSqlite } from "../db/sqlite/sqlite.ts";
import { fixture, msg, tempDir } from "../testing/helpers.ts";
import { searchContract } from "./contract.ts";
import { Fts5Search } from "./fts.ts";

searchContract("fts5", async () => {
  const f = await fixture();
  const h = openSqlite(join(f.dir, "store.sqlite"));
  const other = (await f.store.createMailbox(f.accountId, "Other")).id;
  const blobRef = (mailboxId: number, uid: number) =>
    Number(
      (
        h.raw.prepare("SELECT blob_id FROM message WHERE mailbox_id = ? AND uid = ?").get(mailboxId, uid) as {
          blob_id: number;
        }
      ).blob_id,
    );
  return {
    search: new Fts5Search(h),
    inbox: f.inbox,
    other,
    append: async (mailboxId, raw) => {
      const { uid } = await f.store.append(f.accountId, mailboxId, { raw });
      return { uid, blobRef: blobRef(mailboxId, uid) };
    },
    copy: async (from, uid, to) => (await f.store.copy(from, [uid], to)).mapping[0]![1],
    close: async () => {
      await h.close();
      await f.close();
    },
  };
});

test("fts5: a removed text's index entry waits in fts_dead, never matches, and goes in idle time; a reused id starts clean", async () => {
  const f = await fixture();
  const h = openSqlite(join(f.dir, "store.sqlite"));
  try {
    const search = new Fts5Search(h);
    const { uid } = await f.store.append(f.accountId, f.inbox, { raw: msg({ subject: "striped zebra" }) });
    const ref = Number(
      (
        h.raw.prepare("SELECT blob_id FROM message WHERE mailbox_id = ? AND uid = ?").get(f.inbox, uid) as {
          blob_id: number;
        }
      ).blob_id,
    );
    const count = (sql: string) => Number((h.raw.prepare(sql).pluck().get(ref) as number | bigint) ?? 0);
    const zebra = () => search.query({ mailboxId: f.inbox }, { field: "text", value: "zebra" });
    await h.transaction(() => search.indexPendingSync(1000, 1e9));
    assert.equal(count("SELECT count(*) FROM fts WHERE rowid = ?"), 1, "indexed");
    assert.deepEqual(await zebra(), [uid]);

    // removed while its message row still points at the blob: the entry stays, queued, unseen
    await search.remove(ref);
    assert.equal(count("SELECT count(*) FROM fts_dead WHERE id = ?"), 1);
    assert.equal(count("SELECT count(*) FROM fts WHERE rowid = ?"), 1);
    assert.deepEqual(await zebra(), [], "a queued entry never matches");

    // the same id indexed again (SQLite reused the rowid): the old entry goes first
    await search.index(ref, { headers: "Subject: okapi\n", body: "" });
    assert.equal(count("SELECT count(*) FROM fts_dead WHERE id = ?"), 0);
    assert.equal(count("SELECT count(*) FROM fts WHERE rowid = ?"), 0);
    await h.transaction(() => search.indexPendingSync(1000, 1e9));
    assert.deepEqual(await zebra(), []);
    assert.deepEqual(await search.query({ mailboxId: f.inbox }, { field: "text", value: "okapi" }), [uid]);

    // removed again: the indexer's idle-time batch deletes the entry and empties the queue
    await search.remove(ref);
    assert.equal(count("SELECT count(*) FROM fts_dead WHERE id = ?"), 1);
    assert.equal(await h.transaction(() => search.removeDeadSync(64)), false);
    assert.equal(count("SELECT count(*) FROM fts_dead WHERE id = ?"), 0);
    assert.equal(count("SELECT count(*) FROM fts WHERE rowid = ?"), 0);
  } finally {
    await h.close();
    await f.close();
  }
});

test("fts5: a queued text whose blob is marked unreferenced is parked, never indexed, swept without a delete; referenced again, it is queued back", async () => {
  // one connection and no store around it: no background indexer can take the queued text first
  const t = tempDir();
  const h = openSqlite(join(t.dir, "store.sqlite"));
  const files = new FsBlobStore(join(t.dir, "blobs"), { writerThreads: 0 });
  try {
    const search = new Fts5Search(h);
    const ops = sqliteOps(h);
    const msgOps = sqliteMessageOps(h, files, search);
    const raw = Buffer.from("Subject: parked quagga\r\n\r\nbody\r\n");
    const content = {
      sha: sha256Hex(raw),
      raw,
      parsed: "{}",
      parsedVersion: 0,
      text: () => ({ headers: "Subject: parked quagga\n", body: "body" }),
    };
    const { id } = await h.transaction(() => msgOps.blobs.ensure(content));
    const count = (table: string, col = "id") =>
      Number(h.raw.prepare(`SELECT count(*) FROM ${table} WHERE ${col} = ?`).pluck().get(id));
    assert.equal(count("fts_pending"), 1, "queued by the append");

    // its last message went (no message row was ever inserted here): the mark parks the text
    assert.equal(await h.transaction(() => ops.blobs.markUnreferenced([id])), 1);
    assert.equal(count("fts_pending"), 0);
    assert.equal(count("fts_parked"), 1);
    assert.equal(await h.transaction(() => search.indexPendingSync(1000, 1e9)), false);
    assert.equal(count("fts", "rowid"), 0, "not indexed");

    // an append of the same content before the sweep: unmarked, and its text queued again
    await h.transaction(() => msgOps.blobs.ensure(content));
    assert.equal(count("fts_parked"), 0);
    assert.equal(count("fts_pending"), 1);
    await h.transaction(() => search.indexPendingSync(1000, 1e9));
    assert.equal(count("fts", "rowid"), 1, "indexed once referenced again");

    // marked once more after indexing: nothing to park; the sweep queues the entry's delete
    await h.transaction(() => ops.blobs.markUnreferenced([id]));
    assert.equal(count("fts_parked"), 0);
    await h.transaction(() => search.removeSync(id));
    assert.equal(count("fts_dead"), 1);

    // a parked text swept: no index entry to delete, nothing left behind
    const { id: id2 } = await h.transaction(() =>
      msgOps.blobs.ensure({ ...content, raw: Buffer.from("x"), sha: sha256Hex(Buffer.from("x")) }),
    );
    await h.transaction(() => ops.blobs.markUnreferenced([id2]));
    await h.transaction(() => search.removeSync(id2));
    for (const table of ["fts_pending", "fts_parked", "fts_dead", "fts_text"])
      assert.equal(
        Number(h.raw.prepare(`SELECT count(*) FROM ${table} WHERE id = ?`).pluck().get(id2)),
        0,
        table,
      );
  } finally {
    await files.close();
    await h.close();
    t.cleanup();
  }
});
