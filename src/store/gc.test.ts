/**
 * Background blob GC invariants: never referenced-but-missing (dedupe racing with the sweeper,
 * within one connection and across two), crash leftovers swept (marked blobs, orphan files,
 * temp files), and the migration of a store written before the sweeper existed.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { sha256Hex } from "./blob/fs.ts";
import { MIGRATIONS, migrateSqlite } from "./db/sqlite/migrations.ts";
import { openStore } from "./index.ts";
import type { SqlStore } from "./store.ts";
import { gcIdle, msg, tempDir } from "./testing/helpers.ts";
import type { Store } from "./types.ts";

function blobPath(dir: string, sha: string): string {
  return join(dir, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha);
}

function sql(store: Store): SqlStore {
  return store as SqlStore;
}

/** every message row's blob file exists and reads back byte-exact */
async function assertNoMissing(store: Store, mailboxId: number): Promise<void> {
  const rows = await store.listMessages(mailboxId);
  for (const r of rows) {
    const data = await store.readMessage(mailboxId, r.uid);
    assert.ok(data.byteLength > 0, `uid ${r.uid} readable`);
  }
}

async function setup(dir: string, hook?: (db: Database.Database) => void) {
  const store = await openStore({
    smallBlobMaxBytes: 0,
    dataDir: dir,
    feedSocketPath: null,
    sqliteHook: hook,
  });
  if (!(await store.getDomain("example.com"))) await store.addDomain("example.com");
  const acct = (await store.getAccount("u@example.com")) ?? (await store.createAccount("u@example.com", "h"));
  const inbox = (await store.getMailbox(acct.id, "INBOX"))!.id;
  return { store, accountId: acct.id, inbox };
}

describe("blob GC", () => {
  test("expunge marks; the sweeper removes row, FTS entries and file; shared blobs stay", async () => {
    const t = tempDir();
    let db: Database.Database | null = null;
    const { store, accountId, inbox } = await setup(t.dir, (d) => {
      db = d;
    });
    try {
      const raw = msg({ subject: "sweep me", body: "zebrafish unique words" });
      const sha = sha256Hex(raw);
      const a = await store.append(accountId, inbox, { raw });
      const b = await store.append(accountId, inbox, { raw });
      await gcIdle(store); // indexed: the sweep below has an index entry to delete
      await store.expunge(inbox, [a.uid]);
      await gcIdle(store);
      assert.ok(existsSync(blobPath(t.dir, sha)), "still referenced by the second copy");
      assert.deepEqual(await store.searchText(inbox, { field: "text", value: "zebrafish" }), [b.uid]);
      await store.expunge(inbox, [b.uid]);
      await gcIdle(store);
      assert.equal(existsSync(blobPath(t.dir, sha)), false);
      const d = db as unknown as Database.Database;
      assert.deepEqual(d.prepare("SELECT COUNT(*) AS n FROM blob").get(), { n: 0 });
      assert.deepEqual(d.prepare("SELECT COUNT(*) AS n FROM fts_text").get(), { n: 0 });
      // the index entry was queued by the sweep and deleted by the indexer (search/fts.ts)
      assert.deepEqual(d.prepare("SELECT COUNT(*) AS n FROM fts_dead").get(), { n: 0 });
      // the contentless index has no entry left either: a MATCH finds nothing
      assert.deepEqual(d.prepare("SELECT rowid FROM fts WHERE fts MATCH '\"zebrafish\"'").all(), []);
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("an append that dedupes to a marked blob unmarks it; a file swept meanwhile is rewritten", async () => {
    const t = tempDir();
    let db: Database.Database | null = null;
    const { store, accountId, inbox } = await setup(t.dir, (d) => {
      db = d;
    });
    try {
      const d = db as unknown as Database.Database;
      const raw = msg({ subject: "dedupe vs gc" });
      const sha = sha256Hex(raw);
      await store.append(accountId, inbox, { raw });
      // another process's expunge committed a mark whose sweeper has not run yet
      d.prepare("UPDATE blob SET gc_pending = 1 WHERE sha256 = ?").run(sha);
      const r2 = await store.append(accountId, inbox, { raw });
      assert.deepEqual(d.prepare("SELECT gc_pending AS g FROM blob WHERE sha256 = ?").get(sha), { g: 0 });
      await sql(store).collectGarbage();
      assert.ok(existsSync(blobPath(t.dir, sha)));
      assert.ok(Buffer.from(await store.readMessage(inbox, r2.uid)).equals(raw));

      // a sweep that unlinked the file and then rolled back leaves a marked row without a file;
      // the deduping append must rewrite it under the write lock
      await store.expunge(
        inbox,
        (await store.listMessages(inbox)).map((m) => m.uid),
      );
      await gcIdle(store);
      await store.append(accountId, inbox, { raw });
      d.prepare("UPDATE blob SET gc_pending = 1 WHERE sha256 = ?").run(sha);
      unlinkSync(blobPath(t.dir, sha));
      const r3 = await store.append(accountId, inbox, { raw });
      assert.ok(Buffer.from(await store.readMessage(inbox, r3.uid)).equals(raw));
      await sql(store).collectGarbage();
      await assertNoMissing(store, inbox);
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("appends and expunges of the same content race on two connections: never referenced-but-missing", async () => {
    const t = tempDir();
    const A = await setup(t.dir);
    const B = await setup(t.dir);
    try {
      const raws = [msg({ subject: "race 1" }), msg({ subject: "race 2" }), msg({ subject: "race 3" })];
      // bounded: 40 rounds, each a fixed set of concurrent operations
      for (let round = 0; round < 40; round++) {
        const raw = raws[round % raws.length]!;
        const ops: Array<Promise<unknown>> = [];
        ops.push(A.store.append(A.accountId, A.inbox, { raw }));
        ops.push(
          (async () => {
            const uids = (await B.store.listMessages(B.inbox)).map((m) => m.uid);
            if (uids.length) await B.store.expunge(B.inbox, uids);
          })(),
        );
        ops.push(B.store.append(B.accountId, B.inbox, { raw }));
        ops.push(
          (async () => {
            const uids = (await A.store.listMessages(A.inbox)).map((m) => m.uid);
            if (uids.length) await A.store.expunge(A.inbox, uids.slice(0, 1));
          })(),
        );
        await Promise.all(ops);
        await assertNoMissing(A.store, A.inbox);
      }
      await gcIdle(A.store);
      await gcIdle(B.store);
      await assertNoMissing(A.store, A.inbox);
      // and once everything is expunged, everything is collected
      await A.store.expunge(
        A.inbox,
        (await A.store.listMessages(A.inbox)).map((m) => m.uid),
      );
      await sql(A.store).collectGarbage();
      await sql(B.store).collectGarbage();
      for (const raw of raws) assert.equal(existsSync(blobPath(t.dir, sha256Hex(raw))), false);
    } finally {
      await A.store.close();
      await B.store.close();
      t.cleanup();
    }
  });

  test("texts queued for the FTS indexer are found by every search kind; the indexer drains the queue", async () => {
    const t = tempDir();
    let db: Database.Database | null = null;
    const { store, accountId, inbox } = await setup(t.dir, (d) => {
      db = d;
    });
    try {
      const d = db as unknown as Database.Database;
      const a = await store.append(accountId, inbox, {
        raw: msg({ subject: "Quarterly numbers", body: "the zebrafish report" }),
      });
      const b = await store.append(accountId, inbox, {
        raw: msg({ subject: "other", body: "nothing here" }),
      });
      await gcIdle(store);
      assert.deepEqual(d.prepare("SELECT COUNT(*) AS n FROM fts_pending").get(), { n: 0 }, "indexed");
      const queries = [
        [{ field: "text", value: "ZEBRAFISH" }, [a.uid]],
        [{ field: "body", value: "zebrafish" }, [a.uid]],
        [{ field: "body", value: "quarterly" }, []],
        [{ field: "header", header: "subject", value: "quarterly" }, [a.uid]],
        [{ field: "text", value: "ze" }, [a.uid]],
        [{ field: "text", value: "no such text" }, []],
      ] as const;
      const check = async (label: string) => {
        for (const [q, want] of queries)
          assert.deepEqual(await store.searchText(inbox, q), want, `${label} ${q.value}`);
      };
      await check("indexed:");
      // back to the queued state (as after a crash before the indexer ran): same answers
      const blobIds = d.prepare("SELECT id FROM blob").all() as Array<{ id: number }>;
      for (const { id } of blobIds) {
        d.prepare("DELETE FROM fts WHERE rowid = ?").run(id);
        d.prepare("INSERT INTO fts_pending (id) VALUES (?)").run(id);
      }
      assert.deepEqual(d.prepare("SELECT rowid FROM fts WHERE fts MATCH '\"zebrafish\"'").all(), []);
      await check("queued:");
      // the next append triggers the indexer, which drains the whole queue
      await store.append(accountId, inbox, { raw: msg({ subject: "trigger" }) });
      await gcIdle(store);
      assert.deepEqual(d.prepare("SELECT COUNT(*) AS n FROM fts_pending").get(), { n: 0 });
      await check("re-indexed:");
      assert.equal(b.uid, a.uid + 1);
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("crash leftovers: marked blobs are swept at open; old orphan and temp files by the orphan scan", async () => {
    const t = tempDir();
    const s1 = await setup(t.dir);
    const kept = msg({ subject: "kept" });
    const lost = msg({ subject: "marked before a crash" });
    await s1.store.append(s1.accountId, s1.inbox, { raw: kept });
    await s1.store.append(s1.accountId, s1.inbox, { raw: lost });
    await s1.store.close();
    // simulate a crash after the expunge commit, before the sweeper ran
    const d = new Database(join(t.dir, "store.sqlite"));
    d.prepare("DELETE FROM message WHERE blob_id = (SELECT id FROM blob WHERE sha256 = ?)").run(
      sha256Hex(lost),
    );
    d.prepare("UPDATE blob SET gc_pending = 1 WHERE sha256 = ?").run(sha256Hex(lost));
    d.close();
    // an append that crashed between writing its blob file and committing; and a temp file
    const orphan = sha256Hex(Buffer.from("orphan content"));
    const young = sha256Hex(Buffer.from("young orphan, append maybe in flight"));
    for (const sha of [orphan, young]) {
      mkdirSync(join(t.dir, "blobs", sha.slice(0, 2), sha.slice(2, 4)), { recursive: true });
      writeFileSync(blobPath(t.dir, sha), "x");
    }
    const tmp = join(t.dir, "blobs", orphan.slice(0, 2), orphan.slice(2, 4), ".tmp-1-abc");
    writeFileSync(tmp, "partial");
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(blobPath(t.dir, orphan), old, old);
    utimesSync(tmp, old, old);

    const store = await openStore({
      smallBlobMaxBytes: 0,
      dataDir: t.dir,
      feedSocketPath: null,
      orphanScanDelayMs: 0,
      orphanMinAgeMs: 60_000,
    });
    try {
      // the startup sweep and the orphan scan run in the background; wait (bounded) for both
      for (let i = 0; i < 200 && (existsSync(blobPath(t.dir, orphan)) || existsSync(tmp)); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      await gcIdle(store);
      assert.equal(existsSync(blobPath(t.dir, sha256Hex(lost))), false, "marked blob swept at open");
      assert.equal(existsSync(blobPath(t.dir, orphan)), false, "old orphan removed");
      assert.equal(existsSync(tmp), false, "old temp file removed");
      assert.ok(existsSync(blobPath(t.dir, young)), "a young orphan is kept");
      assert.ok(existsSync(blobPath(t.dir, sha256Hex(kept))), "referenced blob kept");
      const inbox = (await store.getMailbox((await store.getAccount("u@example.com"))!.id, "INBOX"))!.id;
      await assertNoMissing(store, inbox);
      // collectGarbage with age 0 takes the young one too, never a referenced file
      assert.equal(await sql(store).collectGarbage({ orphanMinAgeMs: 0 }), 1);
      assert.equal(existsSync(blobPath(t.dir, young)), false);
      assert.ok(existsSync(blobPath(t.dir, sha256Hex(kept))));
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("migration from a store written before the sweeper: search keeps working, unreferenced blobs collected", async () => {
    const t = tempDir();
    const mime = await import("../mime/index.ts");
    const path = join(t.dir, "store.sqlite");
    const db = new Database(path);
    migrateSqlite(
      db,
      MIGRATIONS.filter((m) => m.version < 4),
    );
    const raw = msg({ subject: "Old quarterly report", body: "legacy body text\r\n" });
    const orphanRaw = msg({ subject: "unreferenced" });
    const now = Date.now();
    db.prepare("INSERT INTO domain (name, created_at) VALUES ('example.com', ?)").run(now);
    db.prepare(
      "INSERT INTO account (domain_id, address, password_hash, settings, created_at) VALUES (1, 'u@example.com', 'h', '{}', ?)",
    ).run(now);
    db.prepare(
      "INSERT INTO mailbox (account_id, name, uidvalidity, uidnext, highestmodseq, created_at) VALUES (1, 'INBOX', 1, 2, 1, ?)",
    ).run(now);
    for (const [i, r] of [raw, orphanRaw].entries()) {
      const parsed = mime.parseMessage(r);
      db.prepare(
        "INSERT INTO blob (id, sha256, size, parsed, parsed_version, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(i + 1, sha256Hex(r), r.length, JSON.stringify(parsed), parsed.version, now);
      const text = mime.searchText(r, parsed);
      db.prepare("INSERT INTO fts (rowid, headers, body) VALUES (?, ?, ?)").run(
        i + 1,
        text.headers,
        text.body,
      );
      mkdirSync(join(t.dir, "blobs", sha256Hex(r).slice(0, 2), sha256Hex(r).slice(2, 4)), {
        recursive: true,
      });
      writeFileSync(blobPath(t.dir, sha256Hex(r)), r);
    }
    db.prepare(
      `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
         internal_date, save_date, flags, flag_bits, modseq) VALUES (1, 1, 1, 'M1', 'T1', 1, NULL, ?, ?, ?, '', 0, 1)`,
    ).run(raw.length, now, now);
    db.close();

    const store = await openStore({
      smallBlobMaxBytes: 0,
      dataDir: t.dir,
      feedSocketPath: null,
      orphanScanDelayMs: null,
    });
    try {
      assert.deepEqual(await store.searchText(1, { field: "text", value: "quarterly" }), [1]);
      assert.deepEqual(await store.searchText(1, { field: "body", value: "legacy" }), [1]);
      assert.deepEqual(await store.searchText(1, { field: "header", header: "subject", value: "old" }), [1]);
      const [m] = await store.getMessages(1, [1]);
      assert.equal(m!.lineEndingFixups, undefined, "unknown for rows stored before the column");
      await sql(store).collectGarbage();
      assert.equal(existsSync(blobPath(t.dir, sha256Hex(orphanRaw))), false, "unreferenced blob collected");
      assert.ok(existsSync(blobPath(t.dir, sha256Hex(raw))));
      // new appends index into the new tables; expunge of the old row cleans its entries
      await store.append(1, 1, { raw: msg({ subject: "new quarterly" }) });
      assert.deepEqual(await store.searchText(1, { field: "text", value: "quarterly" }), [1, 2]);
      await store.expunge(1, [1]);
      await gcIdle(store);
      assert.deepEqual(await store.searchText(1, { field: "text", value: "quarterly" }), [2]);
      assert.equal(existsSync(blobPath(t.dir, sha256Hex(raw))), false);
      assert.deepEqual(
        readdirSync(join(t.dir, "blobs")).filter((n) => n.startsWith(".")),
        [],
        "no temp files at the top level",
      );
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});

describe("blob writes", () => {
  test("one appendMany of 600 new messages into a fresh store (hundreds of new directories) succeeds", async () => {
    // regression: each write once fsynced every not-yet-synced directory, so open handles grew
    // with the square of the batch and a large MULTIAPPEND failed with EMFILE
    const t = tempDir();
    const { store, accountId, inbox } = await setup(t.dir);
    try {
      const inputs = Array.from({ length: 600 }, (_, i) => ({ raw: msg({ subject: `bulk ${i}` }) }));
      const r = await store.appendMany(accountId, inbox, inputs);
      assert.equal(r.length, 600);
      const metas = await store.getMessages(
        inbox,
        r.map((x) => x.uid),
      );
      for (const m of metas) assert.ok(existsSync(blobPath(t.dir, m.blobId)));
      assert.equal(new Set(metas.map((m) => m.blobId.slice(0, 4))).size > 300, true, "many new directories");
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});
