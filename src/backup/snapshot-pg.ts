/**
 * The PostgreSQL source of a snapshot (snapshot.ts, docs/backup.md): the metadata copy and the
 * blobs of a PostgreSQL store, in the same format as an SQLite store's snapshot — a plain SQLite
 * database of this version's schema plus content-addressed blobs — so verify, list, prune and every
 * restore path read it unchanged.
 *
 * Consistency: one REPEATABLE READ READ ONLY transaction is the snapshot. Its id is exported
 * (pg_export_snapshot) and the blob readers' transactions import it (SET TRANSACTION SNAPSHOT), so
 * every row and every blob's content is read as of one instant. Mail keeps flowing meanwhile (a
 * read-only transaction takes no row locks), and content the sweeper deletes after that instant
 * stays visible to these transactions until they end — no GC barrier is needed, unlike SQLite.
 *
 * The metadata copy goes table by table through the plans of `postkontor migrate`
 * (store/migrate/plan.ts: every table both dialects create, the columns both have) in the other
 * direction (convertBack), with the SQLite triggers dropped while the rows go in (the copied
 * counters are already right) and re-created after. Search texts (search_text) become fts_text
 * rows queued in fts_pending, so a store restored from it indexes them in the background.
 */
import Database from "better-sqlite3";
import type pg from "pg";
import { PgBlobStore } from "../store/blob/postgres.ts";
import { MIGRATIONS } from "../store/db/migrations.ts";
import { openPool } from "../store/db/postgres/pg.ts";
import { migrateSqlite } from "../store/db/sqlite/migrations.ts";
import { convertBack, planTables } from "../store/migrate/plan.ts";

/** what snapshot.ts needs of a store to snapshot */
export interface SnapshotSource {
  /** writes the metadata copy (an SQLite database) at path, as of the snapshot's instant */
  metadata(path: string): Promise<void>;
  /** a blob's content as of that instant */
  read(sha: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** connections reading blobs at once (each in a transaction importing the snapshot) */
const READERS = 4;
/** rows per FETCH of the metadata copy */
const FETCH = 1000;

const quote = (id: string) => `"${id.replaceAll('"', '""')}"`;

export async function pgSnapshotSource(url: string): Promise<SnapshotSource> {
  const pool = openPool(url, READERS + 1);
  const clients: pg.PoolClient[] = [];
  const blobs = new PgBlobStore(pool);
  const close = async () => {
    for (const c of clients) {
      await c.query("ROLLBACK").catch(() => {});
      c.release();
    }
    clients.length = 0;
    await pool.end();
  };
  let main: pg.PoolClient;
  const readers: pg.PoolClient[] = [];
  try {
    main = await pool.connect();
    clients.push(main);
    const v = await main.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS ok");
    if ((v.rows[0] as { ok: boolean }).ok !== true) throw new Error("no store in this PostgreSQL database");
    const have = Number(
      ((await main.query("SELECT MAX(version) AS v FROM schema_migrations")).rows[0] as { v: number }).v,
    );
    const want = Math.max(...MIGRATIONS.map((m) => m.version));
    if (have !== want)
      throw new Error(
        `the PostgreSQL store is at schema version ${have}, this postkontor at ${want}: back it up with ` +
          "the postkontor version that serves it",
      );
    await main.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const snap = String(((await main.query("SELECT pg_export_snapshot() AS s")).rows[0] as { s: string }).s);
    for (let i = 0; i < READERS; i++) {
      const c = await pool.connect();
      clients.push(c);
      await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      // the id comes from PostgreSQL; quoted as a string literal all the same
      await c.query(`SET TRANSACTION SNAPSHOT '${snap.replaceAll("'", "''")}'`);
      readers.push(c);
    }
  } catch (e) {
    await close();
    throw e;
  }
  let turn = 0;
  return {
    metadata: (path) => copyMetadata(main, path),
    async read(sha) {
      // node-postgres queues the queries of one client: round robin over the readers
      const c = readers[turn++ % readers.length]!;
      const data = await blobs.getIn(c, sha);
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    },
    close,
  };
}

/** the rows of every shared table, read in c's transaction, into a new SQLite database at path */
async function copyMetadata(c: pg.PoolClient, path: string): Promise<void> {
  const db = new Database(path);
  try {
    migrateSqlite(db);
    db.pragma("foreign_keys = OFF");
    const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as Array<{
      name: string;
      sql: string;
    }>;
    const plans = await planTables(db, c);
    db.exec("BEGIN");
    for (const t of triggers) db.exec(`DROP TRIGGER ${quote(t.name)}`);
    for (const p of plans) {
      if (p.columns.length === 0) continue;
      // rows a migration seeded are replaced by the store's
      db.exec(`DELETE FROM ${quote(p.name)}`);
      const cols = p.columns.map(quote).join(", ");
      const ins = db.prepare(
        `INSERT INTO ${quote(p.name)} (${cols}) VALUES (${p.columns.map(() => "?").join(", ")})`,
      );
      await c.query(`DECLARE snapshot_rows NO SCROLL CURSOR FOR SELECT ${cols} FROM ${quote(p.name)}`);
      for (;;) {
        const r = await c.query({ text: `FETCH ${FETCH} FROM snapshot_rows`, rowMode: "array" });
        for (const row of r.rows as unknown[][]) ins.run(row.map((v, j) => convertBack(v, p.convs[j]!)));
        if (r.rows.length < FETCH) break;
      }
      await c.query("CLOSE snapshot_rows");
      // AUTOINCREMENT high-water marks: ids of deleted rows stay unused after a restore
      const sql = (
        db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(p.name) as {
          sql: string;
        }
      ).sql;
      if (!/AUTOINCREMENT/i.test(sql)) continue;
      for (const col of p.identity) {
        const s = await c.query({
          text: "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass)",
          values: [p.name, col],
          rowMode: "array",
        });
        const last = (s.rows as unknown[][])[0]?.[0];
        if (last === null || last === undefined) continue;
        const n = convertBack(last, "int");
        const had = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = ?").get(p.name) as
          | { seq: number }
          | undefined;
        if (!had) db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)").run(p.name, n);
        else if (BigInt(had.seq) < BigInt(n as number)) {
          db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = ?").run(n, p.name);
        }
      }
    }
    // search texts: the SQLite store's fts_text, queued for its trigram index
    const text = db.prepare("INSERT INTO fts_text (id, headers, body) VALUES (?, ?, ?)");
    const pending = db.prepare("INSERT INTO fts_pending (id) VALUES (?)");
    await c.query(
      `DECLARE snapshot_text NO SCROLL CURSOR FOR
         SELECT t.blob_ref, t.headers, t.body FROM search_text t JOIN blob b ON b.id = t.blob_ref`,
    );
    for (;;) {
      const r = await c.query({ text: `FETCH ${FETCH} FROM snapshot_text`, rowMode: "array" });
      for (const row of r.rows as unknown[][]) {
        const id = convertBack(row[0], "int");
        text.run(id, String(row[1] ?? ""), String(row[2] ?? ""));
        pending.run(id);
      }
      if (r.rows.length < FETCH) break;
    }
    await c.query("CLOSE snapshot_text");
    for (const t of triggers) db.exec(t.sql);
    db.exec("COMMIT");
    db.pragma("foreign_keys = ON");
    const bad = db.pragma("foreign_key_check") as unknown[];
    if (bad.length > 0) throw new Error(`metadata copy: ${bad.length} rows fail their foreign keys`);
  } finally {
    db.close();
  }
}
