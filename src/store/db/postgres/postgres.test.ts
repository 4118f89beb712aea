/**
 * The PostgreSQL adapter beyond the conformance suite: migrations from several nodes at once,
 * the keys and locks ports on the database, two nodes claiming the outbound queue (FOR UPDATE
 * SKIP LOCKED), and admin openers refusing a database without the schema. One private cluster
 * for this file (test/kit/postgres.ts), a database per test.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { type PgCluster, postgresAvailable, startPostgres } from "../../../../test/kit/postgres.ts";
import { PgBlobStore } from "../../blob/postgres.ts";
import { PgLocks } from "../../locks/postgres.ts";
import { openPostgresStore } from "../../postgres.ts";
import { gcIdle, tempDir } from "../../testing/helpers.ts";
import type { Store } from "../../types.ts";
import { MIGRATIONS } from "../migrations.ts";
import { migrateSqlite } from "../sqlite/migrations.ts";
import { claimPgJob } from "./jobs.ts";
import { migratePostgres } from "./migrate.ts";
import { openPool } from "./pg.ts";

describe("PostgreSQL adapter", { skip: !postgresAvailable() && "PostgreSQL binaries missing" }, () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  async function openNode(
    url: string,
    create = true,
  ): Promise<{ store: Store; dir: string; close(): Promise<void> }> {
    const t = tempDir("pk-pg-node-");
    try {
      const store = await openPostgresStore({ url, dataDir: t.dir, poolSize: 4, pruneDelayMs: null, create });
      return {
        store,
        dir: t.dir,
        close: async () => {
          await store.close();
          t.cleanup();
        },
      };
    } catch (e) {
      t.cleanup();
      throw e;
    }
  }

  test("three nodes migrating one fresh database at once: every version applied exactly once", async () => {
    const url = await cluster.createDatabase();
    const pools = [openPool(url, 2), openPool(url, 2), openPool(url, 2)];
    try {
      const applied = await Promise.all(pools.map((p) => migratePostgres(p)));
      const all = applied.flat().sort((a, b) => a - b);
      assert.deepEqual(
        all,
        MIGRATIONS.map((m) => m.version),
      );
      assert.deepEqual(await migratePostgres(pools[0]!), []);
      const r = await pools[0]!.query("SELECT version, name FROM schema_migrations ORDER BY version");
      assert.deepEqual(
        r.rows,
        MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
      );
      // a failing migration rolls back entirely
      const bad = [{ version: 1001, name: "bad", postgres: ["CREATE TABLE t1 (a int)", "SYNTAX ERROR"] }];
      await assert.rejects(migratePostgres(pools[0]!, bad));
      const t1 = await pools[0]!.query("SELECT to_regclass('t1') IS NULL AS gone");
      assert.equal(t1.rows[0].gone, true);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  test("both dialects of the one migration list build the same tables and columns", async () => {
    const url = await cluster.createDatabase();
    const pool = openPool(url, 1);
    const lite = new Database(":memory:");
    try {
      await migratePostgres(pool);
      migrateSqlite(lite);
      const pgCols = (
        await pool.query(
          `SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY table_name, column_name`,
        )
      ).rows
        .map((r) => `${r.table_name}.${r.column_name}`)
        // the PostgreSQL-only tables of the blob and search adapters (migration 13) and the
        // shared limit counters (migration 18: a single SQLite node counts in memory)
        .filter((c) => !/^(blob_data|blob_chunk|search_text|shared_counter)\./.test(c));
      const tables = (
        lite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{
          name: string;
        }>
      )
        .map((t) => t.name)
        // the search tables belong to the search port's adapters, not to this list on PostgreSQL
        .filter((n) => !n.startsWith("fts") && n !== "sqlite_sequence");
      const liteCols = tables
        .flatMap((t) =>
          (lite.prepare(`SELECT name FROM pragma_table_info('${t}')`).all() as Array<{ name: string }>).map(
            (c) => `${t}.${c.name}`,
          ),
        )
        .sort();
      assert.ok(liteCols.includes("message.crlf_size") && liteCols.includes("change_log.obj_id"));
      assert.deepEqual([...pgCols].sort(), liteCols);
    } finally {
      lite.close();
      await pool.end();
    }
  });

  test("the hourly job is claimed by one of several nodes at once, and again once due", async () => {
    const url = await cluster.createDatabase();
    const pools = [openPool(url, 1), openPool(url, 1), openPool(url, 1)];
    try {
      await migratePostgres(pools[0]!);
      const hour = 3_600_000;
      const now = Date.now();
      // three nodes whose timers fire at the same moment: exactly one runs it
      const won = await Promise.all(pools.map((p) => claimPgJob(p, "prune", hour, now)));
      assert.equal(won.filter(Boolean).length, 1);
      assert.equal(await claimPgJob(pools[1]!, "other", hour, now), true, "each job has its own time");
      assert.equal(await claimPgJob(pools[2]!, "prune", hour, now + hour), true);
      assert.equal(await claimPgJob(pools[0]!, "prune", hour, now + hour + 10), false);
    } finally {
      for (const p of pools) await p.end();
    }
  });

  test("an admin opener (create: false) refuses a database without the schema; serve creates it", async () => {
    const url = await cluster.createDatabase();
    await assert.rejects(openNode(url, false), /no store in this PostgreSQL database/);
    const node = await openNode(url);
    await node.close();
    const admin = await openNode(url, false);
    await admin.close();
  });

  test("keys port on PostgreSQL: put/get/list/delete, no silent overwrite, shared by every node", async () => {
    const url = await cluster.createDatabase();
    const a = await openNode(url);
    const b = await openNode(url);
    try {
      const k = a.store.keys;
      assert.equal(await k.get("dkim", "example.org/a"), null);
      assert.equal(await k.put("dkim", "example.org/a", "A"), true);
      assert.equal(await k.put("dkim", "example.org/a", "other"), false, "exists: not overwritten");
      assert.equal(Buffer.from((await k.get("dkim", "example.org/a"))!.secret).toString(), "A");
      assert.equal(await k.put("dkim", "example.org/a", new Uint8Array([1, 2, 3]), { replace: true }), true);
      assert.deepEqual([...(await b.store.keys.get("dkim", "example.org/a"))!.secret], [1, 2, 3]);
      await k.put("dkim", "example.org/b", "b");
      await k.put("dkim", "example.org.evil/c", "c");
      await k.put("dkim", "ex_mple/e", "e");
      await k.put("other", "example.org/d", "d");
      assert.deepEqual(
        (await b.store.keys.list("dkim", "example.org/")).map((x) => x.name),
        ["example.org/a", "example.org/b"],
      );
      assert.deepEqual(
        (await k.list("dkim", "ex_")).map((x) => x.name),
        ["ex_mple/e"],
      );
      assert.equal(await b.store.keys.delete("dkim", "example.org/b"), true);
      assert.equal(await k.get("dkim", "example.org/b"), null);
      assert.equal(await k.delete("dkim", "example.org/b"), false);
      await assert.rejects(k.put("dkim", "n", ""), /invalid key secret/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("locks port on PostgreSQL: one holder across nodes, renew, release, expiry", async () => {
    const url = await cluster.createDatabase();
    const p1 = openPool(url, 2);
    const p2 = openPool(url, 2);
    try {
      const n1 = new PgLocks(p1);
      const n2 = new PgLocks(p2);
      const racing = await Promise.all([
        n1.acquire("pop3/1", "a", 60_000),
        n2.acquire("pop3/1", "b", 60_000),
      ]);
      assert.equal(racing.filter((l) => l !== null).length, 1, "exactly one node gets the lease");
      const held = racing.find((l) => l !== null)!;
      const other = held.owner === "a" ? n2 : n1;
      assert.equal(await other.acquire("pop3/1", "c", 60_000), null, "[IN-USE] while held");
      assert.ok(await n1.acquire("pop3/2", "a", 60_000), "another name is free");
      assert.equal(await held.renew(60_000), true);
      await held.release();
      await held.release(); // idempotent
      const again = await other.acquire("pop3/1", "c", 1);
      assert.ok(again, "free after release");
      // a lease not renewed within its ttl is free again, and the old holder learns it lost it
      await new Promise((r) => setTimeout(r, 20));
      const taken = await n1.acquire("pop3/1", "d", 60_000);
      assert.ok(taken, "free after expiry");
      assert.equal(await again.renew(60_000), false, "lost");
      await again.release(); // never removes the new holder's lease
      assert.equal(await n2.acquire("pop3/1", "e", 60_000), null);
      await assert.rejects(n1.acquire("../x", "o", 1), /invalid lease name/);
    } finally {
      await p1.end();
      await p2.end();
    }
  });

  test("two nodes claiming the outbound queue at once never get the same entry", async () => {
    const url = await cluster.createDatabase();
    const a = await openNode(url);
    const b = await openNode(url);
    try {
      const ids = new Set<number>();
      for (let i = 0; i < 40; i++) {
        const e = await a.store.enqueueOutbound({
          accountId: null,
          mailFrom: "",
          recipients: [{ address: `r${i}@example.net` }],
          message: Buffer.from(`Subject: ${i}\r\n\r\nbody\r\n`),
        });
        ids.add(e.id);
      }
      const seen = new Map<number, string>();
      // bounded: 40 entries, each round claims at least one or ends
      for (let round = 0; round < 50; round++) {
        const [ca, cb] = await Promise.all([
          a.store.claimOutbound({ owner: "node-a", leaseMs: 60_000, limit: 3 }),
          b.store.claimOutbound({ owner: "node-b", leaseMs: 60_000, limit: 3 }),
        ]);
        if (ca.length + cb.length === 0) break;
        for (const [owner, list] of [
          ["node-a", ca],
          ["node-b", cb],
        ] as const) {
          for (const c of list) {
            assert.equal(seen.has(c.entry.id), false, `entry ${c.entry.id} claimed twice`);
            seen.set(c.entry.id, owner);
          }
        }
      }
      assert.deepEqual(
        [...seen.keys()].sort((x, y) => x - y),
        [...ids].sort((x, y) => x - y),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
  test("two nodes writing one mailbox at once: distinct uids, one modseq per transaction, no lost flag", async () => {
    const url = await cluster.createDatabase();
    const a = await openNode(url);
    const b = await openNode(url);
    try {
      await a.store.addDomain("example.com");
      const acct = await a.store.createAccount("bob@example.com", "hash");
      const inbox = (await a.store.getMailbox(acct.id, "INBOX"))!.id;
      const raw = (i: number) => Buffer.from(`From: x@example.com\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n`);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? a.store : b.store).append(acct.id, inbox, { raw: raw(i) }),
        ),
      );
      const uids = results.map((r) => r.uid).sort((x, y) => x - y);
      assert.deepEqual(
        uids,
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      assert.equal(new Set(results.map((r) => r.modseq)).size, 30, "one modseq per transaction");
      // each node sets a different flag on every message at once: both flags end up on each
      await Promise.all(
        uids.flatMap((u) => [
          a.store.storeFlags(inbox, [u], "add", ["$A"]),
          b.store.storeFlags(inbox, [u], "add", ["$B"]),
        ]),
      );
      const rows = await b.store.listMessages(inbox);
      for (const r of rows) assert.deepEqual([...r.flags].sort(), ["$A", "$B"], `uid ${r.uid}`);
      let max = 0n;
      for (const r of rows) if (r.modseq > max) max = r.modseq;
      assert.equal((await a.store.getMailboxById(inbox))!.highestModseq, max);
      assert.equal((await b.store.getAccountById(acct.id))!.usedMessages, 30);
    } finally {
      await a.close();
      await b.close();
    }
  });
  test("the sweeper removes a blob's row, content and search text once no message references it, and only then", async () => {
    const url = await cluster.createDatabase();
    const n = await openNode(url);
    const pool = openPool(url, 2);
    const content = new PgBlobStore(pool);
    const texts = async () => (await pool.query("SELECT COUNT(*)::int AS n FROM search_text")).rows[0].n;
    try {
      const { store } = n;
      await store.addDomain("example.com");
      const acct = await store.createAccount("bob@example.com", "hash");
      const inbox = (await store.getMailbox(acct.id, "INBOX"))!.id;
      const other = (await store.createMailbox(acct.id, "Other")).id;
      const raw = Buffer.from("From: x@example.com\r\nSubject: gc\r\n\r\nbody\r\n");
      const a = await store.append(acct.id, inbox, { raw });
      const [m] = await store.getMessages(inbox, [a.uid]);
      assert.equal(await content.has(m!.blobId), true, "content in PostgreSQL");
      assert.equal(await texts(), 1, "search text written with the message");
      const cp = await store.copy(inbox, [a.uid], other);
      await store.expunge(inbox, [a.uid]);
      await gcIdle(store);
      assert.equal(await content.has(m!.blobId), true, "the copy still references it");
      await store.expunge(other, [cp.mapping[0]![1]]);
      await gcIdle(store);
      assert.equal(await content.has(m!.blobId), false, "content removed");
      assert.equal(await texts(), 0, "search text removed");
      const r = await pool.query("SELECT COUNT(*)::int AS n FROM blob");
      assert.equal(r.rows[0].n, 0, "row removed");
      // the same content appended again is stored again
      const b = await store.append(acct.id, inbox, { raw });
      assert.deepEqual(Buffer.from(await store.readMessage(inbox, b.uid)), raw);
      assert.equal(await texts(), 1, "indexed again");
    } finally {
      await n.close();
      await pool.end();
    }
  });
});
