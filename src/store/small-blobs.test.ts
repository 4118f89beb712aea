/**
 * Small blobs in blobs/small.sqlite (blob/small.ts): the same invariants as the blob files
 * (store.test.ts "durability order", gc.test.ts) — content committed before the row that
 * references it, never referenced-but-missing, swept when unreferenced, crash leftovers removed
 * by the orphan scan — plus the size threshold and reads after the threshold is lowered to 0.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { FsBlobStore, sha256Hex } from "./blob/fs.ts";
import { openSmallDb, SMALL_BLOB_DB } from "./blob/small.ts";
import { openStore, type StoreOptions } from "./index.ts";
import type { SqlStore } from "./store.ts";
import { gcIdle, msg, tempDir } from "./testing/helpers.ts";

function blobPath(dir: string, sha: string): string {
  return join(dir, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha);
}

/** the small-blob rows, read through a connection of our own (what another process sees) */
function smallRows(dir: string): Map<string, Buffer> {
  const path = join(dir, "blobs", SMALL_BLOB_DB);
  if (!existsSync(path)) return new Map();
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare("SELECT sha, data FROM small_blob").raw(true).all() as Array<[string, Buffer]>;
    return new Map(rows);
  } finally {
    db.close();
  }
}

async function setup(dir: string, opts: Partial<StoreOptions> = {}) {
  const store = await openStore({ dataDir: dir, feedSocketPath: null, ...opts });
  if (!(await store.getDomain("example.com"))) await store.addDomain("example.com");
  const acct = (await store.getAccount("u@example.com")) ?? (await store.createAccount("u@example.com", "h"));
  const inbox = (await store.getMailbox(acct.id, "INBOX"))!.id;
  return { store, accountId: acct.id, inbox };
}

describe("small blobs", () => {
  test("messages up to the threshold go to the database, larger ones to files; both read back exact", async () => {
    const t = tempDir();
    const { store, accountId, inbox } = await setup(t.dir, { smallBlobMaxBytes: 4096 });
    try {
      const small = msg({ subject: "small", body: "short" });
      const large = msg({ subject: "large", body: "x".repeat(8000) });
      const [a, b] = await store.appendMany(accountId, inbox, [{ raw: small }, { raw: large }]);
      const rows = smallRows(t.dir);
      assert.ok(rows.get(sha256Hex(small))?.equals(small), "the small one is a committed row");
      assert.equal(existsSync(blobPath(t.dir, sha256Hex(small))), false, "and has no file");
      assert.equal(rows.has(sha256Hex(large)), false);
      assert.ok(existsSync(blobPath(t.dir, sha256Hex(large))), "the large one is a file");
      assert.ok(Buffer.from(await store.readMessage(inbox, a!.uid)).equals(small));
      assert.ok(Buffer.from(await store.readMessage(inbox, b!.uid)).equals(large));
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("the port's reads: get, ranges of stream, size, has; delete", async () => {
    const t = tempDir();
    const files = new FsBlobStore(join(t.dir, "blobs"), { writerThreads: 1, smallMaxBytes: 1024 });
    try {
      const data = Buffer.from("0123456789".repeat(20));
      const id = await files.put(data);
      assert.ok((await files.get(id)).equals(data));
      const chunks: Buffer[] = [];
      for await (const c of files.stream(id, { start: 5, end: 15 })) chunks.push(Buffer.from(c));
      assert.equal(Buffer.concat(chunks).toString(), "5678901234");
      const none: Uint8Array[] = [];
      for await (const c of files.stream(id, { start: 500 })) none.push(c);
      assert.deepEqual(none, []);
      assert.equal(await files.size(id), 200);
      assert.equal(await files.has(id), true);
      // empty content is a blob too
      const empty = await files.put(Buffer.alloc(0));
      assert.equal((await files.get(empty)).byteLength, 0);
      await files.delete(id);
      assert.equal(await files.has(id), false);
      assert.equal(await files.size(id), null);
      await assert.rejects(files.get(id), { code: "ENOENT" });
    } finally {
      await files.close();
      t.cleanup();
    }
  });

  test("many puts at once share transactions and all commit; a closed store refuses", async () => {
    const t = tempDir();
    const files = new FsBlobStore(join(t.dir, "blobs"), { writerThreads: 1, smallMaxBytes: 1 << 20 });
    const datas = Array.from({ length: 300 }, (_, i) => Buffer.from(`message ${i}\r\n`.repeat(20 + i)));
    try {
      const ids = await Promise.all(datas.map((d) => files.put(d)));
      const rows = smallRows(t.dir);
      for (let i = 0; i < datas.length; i++) assert.ok(rows.get(ids[i]!)?.equals(datas[i]!), `row ${i}`);
      // the same content again is one row
      await Promise.all([files.put(datas[0]!), files.put(datas[0]!)]);
      assert.equal(smallRows(t.dir).size, datas.length);
    } finally {
      await files.close();
    }
    await assert.rejects(files.put(Buffer.from("after close")), /closed/);
    t.cleanup();
  });

  test("the row is committed when the transaction inserts the message that references it", async () => {
    const t = tempDir();
    const checks: Array<{ sha: string; complete: boolean }> = [];
    const { store, accountId, inbox } = await setup(t.dir, {
      sqliteHook: (db) => {
        db.function("test_small_check", (sha: unknown) => {
          const s = String(sha);
          checks.push({ sha: s, complete: smallRows(t.dir).get(s)?.length !== undefined });
          return 0;
        });
        db.exec(`CREATE TEMP TRIGGER test_small_ins AFTER INSERT ON main.message BEGIN
          SELECT test_small_check((SELECT sha256 FROM main.blob WHERE id = NEW.blob_id));
        END`);
      },
    });
    try {
      const raws = [msg({ subject: "durable 1" }), msg({ subject: "durable 2" })];
      await store.append(accountId, inbox, { raw: raws[0]! });
      await store.appendMany(accountId, inbox, [{ raw: raws[1]! }, { raw: raws[0]! }]);
      assert.deepEqual(
        checks,
        [raws[0]!, raws[1]!, raws[0]!].map((r) => ({ sha: sha256Hex(r), complete: true })),
      );
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("the sweeper deletes unreferenced rows; a failed append leaves none; a lost row is rewritten", async () => {
    const t = tempDir();
    let fail = false;
    const { store, accountId, inbox } = await setup(t.dir, {
      sqliteHook: (db) => {
        db.function("test_maybe_fail", () => {
          if (fail) throw new Error("injected failure");
          return 0;
        });
        db.exec(`CREATE TEMP TRIGGER test_fail BEFORE INSERT ON main.message BEGIN
          SELECT test_maybe_fail();
        END`);
      },
    });
    try {
      const raw = msg({ subject: "sweep me" });
      const sha = sha256Hex(raw);
      const a = await store.append(accountId, inbox, { raw });
      const b = await store.append(accountId, inbox, { raw });
      await store.expunge(inbox, [a.uid]);
      await gcIdle(store);
      assert.ok(smallRows(t.dir).has(sha), "still referenced by the second copy");
      await store.expunge(inbox, [b.uid]);
      await gcIdle(store);
      assert.equal(smallRows(t.dir).has(sha), false, "swept with its last reference");

      const other = msg({ subject: "will fail" });
      fail = true;
      await assert.rejects(store.append(accountId, inbox, { raw: other }), /injected failure/);
      fail = false;
      assert.equal(smallRows(t.dir).has(sha256Hex(other)), false, "no orphan row");

      // content lost behind our back is written again by the next append of it
      const c = await store.append(accountId, inbox, { raw });
      const db = new Database(join(t.dir, "blobs", SMALL_BLOB_DB));
      db.prepare("DELETE FROM small_blob WHERE sha = ?").run(sha);
      db.close();
      const d = await store.append(accountId, inbox, { raw });
      assert.ok(Buffer.from(await store.readMessage(inbox, c.uid)).equals(raw));
      assert.ok(Buffer.from(await store.readMessage(inbox, d.uid)).equals(raw));
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("the orphan scan removes old rows no blob or upload names, and keeps the rest", async () => {
    const t = tempDir();
    const { store, accountId, inbox } = await setup(t.dir);
    try {
      // an append that crashed an hour ago between its small-blob commit and its metadata commit
      const orphan = sha256Hex(Buffer.from("orphan content"));
      const young = sha256Hex(Buffer.from("young orphan, append maybe in flight"));
      const db = openSmallDb(join(t.dir, "blobs", SMALL_BLOB_DB), 1000);
      const ins = db.prepare("INSERT INTO small_blob (sha, created_at, data) VALUES (?, ?, ?)");
      ins.run(orphan, Date.now() - 3_600_000, Buffer.from("x"));
      const kept = msg({ subject: "kept" });
      await store.append(accountId, inbox, { raw: kept });
      ins.run(young, Date.now(), Buffer.from("y"));
      db.close();
      assert.equal(await (store as SqlStore).collectGarbage({ orphanMinAgeMs: 60_000 }), 1);
      const rows = smallRows(t.dir);
      assert.equal(rows.has(orphan), false, "old orphan removed");
      assert.ok(rows.has(young), "a young orphan is kept");
      assert.ok(rows.has(sha256Hex(kept)), "referenced content kept");
      assert.equal(await (store as SqlStore).collectGarbage({ orphanMinAgeMs: 0 }), 1);
      assert.equal(smallRows(t.dir).has(young), false);
      assert.ok(Buffer.from(await store.readMessage(inbox, 1)).equals(kept));
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("with the threshold lowered to 0, stored rows are still read and swept; new content goes to files", async () => {
    const t = tempDir();
    const s1 = await setup(t.dir);
    const before = msg({ subject: "stored small" });
    const a = await s1.store.append(s1.accountId, s1.inbox, { raw: before });
    await s1.store.close();
    const { store, inbox } = await setup(t.dir, { smallBlobMaxBytes: 0 });
    try {
      assert.ok(Buffer.from(await store.readMessage(inbox, a.uid)).equals(before));
      const after = msg({ subject: "stored as a file" });
      const b = await store.append(s1.accountId, inbox, { raw: after });
      assert.ok(existsSync(blobPath(t.dir, sha256Hex(after))));
      assert.equal(smallRows(t.dir).has(sha256Hex(after)), false);
      assert.ok(Buffer.from(await store.readMessage(inbox, b.uid)).equals(after));
      await store.expunge(inbox, [a.uid]);
      await gcIdle(store);
      assert.equal(smallRows(t.dir).has(sha256Hex(before)), false);
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});
