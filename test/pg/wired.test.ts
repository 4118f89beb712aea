// The PostgreSQL store with its own edge adapters wired (store/postgres.ts): SEARCH through the
// Store answers as the SQLite store does on one corpus; message content, search texts and JMAP
// upload bytes live in the database (nothing under the data dir); two stores on one database see
// each other's commits through the LISTEN/NOTIFY feed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { openPostgresStore } from "../../src/store/postgres.ts";
import { type Fixture, fixture, msg, tempDir } from "../../src/store/testing/helpers.ts";
import type { Beacon, Store } from "../../src/store/types.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { CORPUS, QUERIES } from "./search-corpus.ts";

const skip = !postgresAvailable() && "PostgreSQL binaries missing";

interface Node {
  store: Store;
  dir: string;
  close(): Promise<void>;
}

describe("PostgreSQL store, edge adapters wired", { skip }, () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  async function openNode(url: string): Promise<Node> {
    const t = tempDir("pk-pg-wired-");
    const store = await openPostgresStore({ url, dataDir: t.dir, poolSize: 4, pruneDelayMs: null });
    return {
      store,
      dir: t.dir,
      close: async () => {
        await store.close();
        t.cleanup();
      },
    };
  }

  async function account(store: Store): Promise<{ id: number; inbox: number }> {
    await store.addDomain("example.com");
    const a = await store.createAccount("bob@example.com", "hash");
    return { id: a.id, inbox: (await store.getMailbox(a.id, "INBOX"))!.id };
  }

  test("SEARCH TEXT/BODY/HEADER through the store equals the SQLite store's answers", async () => {
    const url = await cluster.createDatabase();
    const n = await openNode(url);
    let f: Fixture | null = null;
    try {
      f = await fixture();
      const p = await account(n.store);
      const pOther = (await n.store.createMailbox(p.id, "Other")).id;
      const sOther = (await f.store.createMailbox(f.accountId, "Other")).id;
      for (const m of CORPUS) {
        const raw = msg(m);
        await f.store.append(f.accountId, f.inbox, { raw });
        await n.store.append(p.id, p.inbox, { raw });
      }
      const extra = msg({ subject: "only in other", body: "zebra" });
      await f.store.append(f.accountId, sOther, { raw: extra });
      await n.store.append(p.id, pOther, { raw: extra });
      let nonEmpty = 0;
      for (const q of QUERIES) {
        for (const [s, pg] of [
          [f.inbox, p.inbox],
          [sOther, pOther],
        ] as const) {
          const want = await f.store.searchText(s, q);
          const got = await n.store.searchText(pg, q);
          assert.deepEqual(got, want, JSON.stringify(q));
          if (want.length > 0) nonEmpty++;
        }
      }
      assert.ok(nonEmpty > QUERIES.length / 2, "the corpus answers most queries with something");
    } finally {
      await f?.close();
      await n.close();
    }
  });

  test("content, search text and upload bytes are in PostgreSQL; expired uploads go with their bytes", async () => {
    const url = await cluster.createDatabase();
    const n = await openNode(url);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const count = async (table: string) =>
      (await pool.query(`SELECT COUNT(*)::int AS n FROM ${table}`)).rows[0].n as number;
    try {
      const p = await account(n.store);
      const raw = msg({ subject: "in the database", body: "kept as chunks" });
      const a = await n.store.append(p.id, p.inbox, { raw });
      assert.deepEqual(Buffer.from(await n.store.readMessage(p.inbox, a.uid)), raw);
      assert.equal(await count("blob_data"), 1);
      assert.equal(await count("search_text"), 1);
      assert.equal(existsSync(join(n.dir, "blobs")), false, "no blob files under the data dir");

      const bytes = Buffer.from("upload bytes for JMAP");
      const u = await n.store.putUpload(p.id, bytes, "text/plain", 3_600_000);
      assert.equal(await count("blob_data"), 2, "upload bytes are a blob-port entry");
      const got: Buffer[] = [];
      for await (const c of (await n.store.getUpload(p.id, u.blobId))!.stream()) got.push(Buffer.from(c));
      assert.deepEqual(Buffer.concat(got), bytes);
      assert.equal(await n.store.expireUploads(new Date()), 0);
      assert.equal(await n.store.expireUploads(new Date(Date.now() + 2 * 3_600_000)), 1);
      assert.equal(await count("blob_data"), 1, "the upload's bytes went with its row");
      assert.equal(await count("jmap_upload"), 0);
    } finally {
      await pool.end();
      await n.close();
    }
  });

  test("two stores on one database: a commit on one reaches the other's subscribers", async () => {
    const url = await cluster.createDatabase();
    const a = await openNode(url);
    const b = await openNode(url);
    try {
      const p = await account(a.store);
      const seen = new Promise<Beacon>((resolve) => {
        const off = a.store.feed.subscribe(p.id, (beacon) => {
          if (beacon.mailboxId === p.inbox) {
            off();
            resolve(beacon);
          }
        });
      });
      const r = await b.store.append(p.id, p.inbox, { raw: msg({ subject: "from node b" }) });
      const beacon = await seen;
      assert.equal(BigInt(beacon.modseq), r.modseq);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
