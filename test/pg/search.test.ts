// The PostgreSQL search adapter gives the SQLite (FTS5) adapter's answers on one corpus: the corpus
// is appended to a SQLite store, its messages (mailbox, uid, blob id) and search texts are copied
// into PostgreSQL, and every query runs on both. The PostgreSQL `message` table here is the subset
// of SQLite's columns the adapter reads (mailbox_id, uid, blob_id); the db adapter owns the real one.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { parseMessage } from "../../src/mime/parse.ts";
import { searchText } from "../../src/mime/text.ts";
import { openSqlite } from "../../src/store/db/sqlite/sqlite.ts";
import { ensurePgEdgeSchema } from "../../src/store/pg/edge-schema.ts";
import { searchContract } from "../../src/store/search/contract.ts";
import { likeContains, PgSearch } from "../../src/store/search/postgres.ts";
import { type Fixture, fixture, msg } from "../../src/store/testing/helpers.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { CORPUS, QUERIES } from "./search-corpus.ts";

const skip = !postgresAvailable() && "PostgreSQL binaries missing";

describe("PostgreSQL search adapter", { skip }, () => {
  let cluster: PgCluster;
  let pool: pg.Pool;
  let f: Fixture;
  let search: PgSearch;
  let other: number;
  before(async () => {
    cluster = await startPostgres();
    pool = new pg.Pool({ connectionString: await cluster.createDatabase(), max: 4 });
    await ensurePgEdgeSchema(pool);
    await pool.query(
      "CREATE TABLE message (mailbox_id BIGINT NOT NULL, uid BIGINT NOT NULL, blob_id BIGINT NOT NULL, PRIMARY KEY (mailbox_id, uid))",
    );
    search = new PgSearch(pool);
    f = await fixture();
    other = (await f.store.createMailbox(f.accountId, "Other")).id;
    for (const m of CORPUS) await f.store.append(f.accountId, f.inbox, { raw: msg(m) });
    // copies share the blob (one text); the other mailbox must not leak into INBOX answers
    await f.store.copy(f.inbox, [1, 4], other);
    await f.store.append(f.accountId, other, { raw: msg({ subject: "only in other", body: "zebra" }) });
    const h = openSqlite(join(f.dir, "store.sqlite"));
    try {
      const rows = h.raw
        .prepare(
          "SELECT m.mailbox_id, m.uid, m.blob_id, t.headers, t.body FROM message m JOIN fts_text t ON t.id = m.blob_id",
        )
        .raw()
        .all() as [number, number, number, string, string][];
      const indexed = new Set<number>();
      for (const [mb, uid, blob, headers, body] of rows) {
        await pool.query("INSERT INTO message (mailbox_id, uid, blob_id) VALUES ($1, $2, $3)", [
          mb,
          uid,
          blob,
        ]);
        if (!indexed.has(blob)) await search.index(blob, { headers, body });
        indexed.add(blob);
      }
      assert.ok(rows.length >= CORPUS.length + 3);
    } finally {
      await h.close();
    }
  });
  after(async () => {
    await f?.close();
    await pool?.end();
    await cluster?.stop();
  });

  // the port's contract on its own database: message rows as the db adapter would write them
  let contractDb = 0;
  searchContract("postgres", async () => {
    const p = new pg.Pool({
      connectionString: await cluster.createDatabase(`contract_${++contractDb}`),
      max: 2,
    });
    await ensurePgEdgeSchema(p);
    await p.query(
      "CREATE TABLE message (mailbox_id BIGINT NOT NULL, uid BIGINT NOT NULL, blob_id BIGINT NOT NULL, PRIMARY KEY (mailbox_id, uid))",
    );
    const s = new PgSearch(p);
    let blobs = 0;
    const place = async (mailboxId: number, blobRef: number) => {
      const r = await p.query(
        `INSERT INTO message (mailbox_id, uid, blob_id)
         SELECT $1, COALESCE(max(uid), 0) + 1, $2 FROM message WHERE mailbox_id = $1 RETURNING uid`,
        [mailboxId, blobRef],
      );
      return Number(r.rows[0].uid);
    };
    return {
      search: s,
      inbox: 1,
      other: 2,
      append: async (mailboxId, raw) => {
        const blobRef = ++blobs;
        await s.index(blobRef, searchText(raw, parseMessage(raw)));
        return { uid: await place(mailboxId, blobRef), blobRef };
      },
      copy: async (from, uid, to) => {
        const r = await p.query("SELECT blob_id FROM message WHERE mailbox_id = $1 AND uid = $2", [
          from,
          uid,
        ]);
        return await place(to, Number(r.rows[0].blob_id));
      },
      close: () => p.end(),
    };
  });

  test("every query answers as FTS5 does, in INBOX and in the other mailbox", async () => {
    let nonEmpty = 0;
    for (const mailboxId of [f.inbox, other]) {
      for (const q of QUERIES) {
        const want = await f.store.searchText(mailboxId, q);
        const got = await search.query({ mailboxId }, q);
        assert.deepEqual(got, want, `${JSON.stringify(q)} in mailbox ${mailboxId}`);
        if (want.length > 0) nonEmpty++;
      }
    }
    assert.ok(nonEmpty > QUERIES.length / 2, `most queries find something (${nonEmpty})`);
  });

  test("answers themselves: substring, case, non-ASCII, literal wildcards, mailbox scope", async () => {
    const s = (value: string, field: "text" | "body" = "text") =>
      search.query({ mailboxId: f.inbox }, { field, value });
    assert.deepEqual(await s("EVENU"), [1]);
    assert.deepEqual(await s("MÜNCHEN"), [2]);
    assert.deepEqual(await s("会議"), [3]);
    assert.deepEqual(await s("мир"), [7]);
    assert.deepEqual(await s("100%"), [6]);
    assert.deepEqual(await s("%"), [6], "% is a literal character");
    assert.deepEqual(await s("e_c"), [6], "_ matches only an underscore");
    assert.deepEqual(await s("zebra"), [], "the other mailbox's message is not in INBOX");
    assert.deepEqual(await search.query({ mailboxId: other }, { field: "text", value: "zebra" }), [3]);
    assert.deepEqual(await s("quarterly report"), [1, 9]);
  });

  test("remove drops the entry for every copy; index re-adds; NUL is stored as a space", async () => {
    const blob = Number(
      (await pool.query("SELECT blob_id FROM message WHERE mailbox_id = $1 AND uid = 4", [f.inbox])).rows[0]
        .blob_id,
    );
    await search.remove(blob);
    assert.deepEqual(await search.query({ mailboxId: f.inbox }, { field: "body", value: "hello world" }), []);
    assert.deepEqual(await search.query({ mailboxId: other }, { field: "body", value: "hello world" }), []);
    await search.index(blob, { headers: "Subject: okapi\r\n", body: "an OKAPI\u0000here" });
    assert.deepEqual(await search.query({ mailboxId: f.inbox }, { field: "body", value: "okapi here" }), [4]);
    assert.deepEqual(
      await search.query({ mailboxId: other }, { field: "header", header: "subject", value: "OKAPI" }),
      [2],
    );
  });

  test("word search on the tsvector index ('simple': no stemming)", async () => {
    assert.deepEqual(await search.matchWords({ mailboxId: f.inbox }, "Revenue GREW"), [1]);
    assert.deepEqual(await search.matchWords({ mailboxId: f.inbox }, "reven"), [], "words, not substrings");
    assert.deepEqual(await search.matchWords({ mailboxId: f.inbox }, "grew revenues"), []);
  });

  test("likeContains escapes only the LIKE characters", () => {
    assert.equal(likeContains("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
    assert.equal(likeContains("日本"), "%日本%");
  });
});
