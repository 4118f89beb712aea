/**
 * The copy step of `postkontor migrate` (index.ts): table by table (plan.ts), in batches ordered by
 * the table's key; each batch and the progress row that records its last key commit in one
 * PostgreSQL transaction, so an interrupted run resumes after the last committed batch and never
 * copies a row twice. The source is a static snapshot (index.ts), so the key order is stable
 * across runs.
 *
 * Table hooks: a `blob` row brings its content (the SQLite store's blob file, written into
 * blob_data / blob_chunk by PgBlobStore.writeIn in the batch's transaction) and its search text
 * (fts_text → search_text); a `jmap_upload` row brings its upload file the same way.
 */
import type Database from "better-sqlite3";
import type pg from "pg";
import { type BlobStore, isBlobNotFound } from "../blob/port.ts";
import { PgBlobStore } from "../blob/postgres.ts";
import { PgSearch } from "../search/postgres.ts";
import { convert, decodeCursor, encodeCursor, type TablePlan } from "./plan.ts";

export interface CopyProgress {
  table: string;
  rows: number;
}

export interface CopyOptions {
  src: Database.Database;
  pool: pg.Pool;
  /** the live store's blob files (read-only use) */
  files: BlobStore;
  batchRows: number;
  /** called after each committed batch */
  onBatch?: (p: CopyProgress) => void;
  /** blobs whose content the live store no longer had (collected after the snapshot) */
  missing: string[];
}

const quote = (id: string) => `"${id.replaceAll('"', '""')}"`;

async function inTx<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (e) {
    broken = e as Error;
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release(broken);
  }
}

type Hook = (c: pg.PoolClient, rows: Record<string, unknown>[]) => Promise<void>;

function hooks(o: CopyOptions): Record<string, Hook> {
  const pgBlobs = new PgBlobStore(o.pool);
  const ftsText = o.src.prepare("SELECT headers, body FROM fts_text WHERE id = ?");
  const content = async (sha: string): Promise<Uint8Array | null> => {
    try {
      return await o.files.get(sha);
    } catch (e) {
      if (isBlobNotFound(e)) return null;
      throw e;
    }
  };
  return {
    blob: async (c, rows) => {
      const search = new PgSearch(c);
      for (const r of rows) {
        const sha = String(r.sha256);
        const data = await content(sha);
        // gone from the live store: marked for collection already (the PostgreSQL sweeper drops
        // the row), or its last message was expunged after the snapshot and the sweeper
        // collected it meanwhile — verification then reports that account's content as missing
        if (data === null) {
          if (Number(r.gc_pending ?? 0) === 0) o.missing.push(sha);
          continue;
        }
        await pgBlobs.writeIn(c, data, sha);
        const t = ftsText.get(r.id) as { headers: string; body: string } | undefined;
        if (t) await search.index(Number(r.id), { headers: t.headers, body: t.body });
      }
    },
    jmap_upload: async (c, rows) => {
      for (const r of rows) {
        const data = await content(String(r.file));
        if (data !== null) await pgBlobs.writeIn(c, data, String(r.file));
      }
    },
  };
}

/** copies what is left of one table; returns the rows copied by this call */
export async function copyTable(o: CopyOptions, plan: TablePlan, snapshot: string): Promise<number> {
  const hook = hooks(o)[plan.name];
  const progress = await o.pool.query("SELECT cursor, rows, done FROM migrate_progress WHERE tbl = $1", [
    plan.name,
  ]);
  const p = progress.rows[0] as { cursor: string | null; rows: string; done: boolean } | undefined;
  if (p?.done) return 0;
  let cursor = p?.cursor ? decodeCursor(p.cursor) : null;
  let total = Number(p?.rows ?? 0);
  let copied = 0;
  const keyList = plan.key.map(quote).join(", ");
  const cols = plan.columns.map(quote).join(", ");
  const select = (after: boolean) =>
    o.src
      .prepare(
        `SELECT ${plan.rowid ? "rowid AS __key, " : ""}${cols} FROM ${quote(plan.name)}` +
          (after ? ` WHERE (${keyList}) > (${plan.key.map(() => "?").join(", ")})` : "") +
          ` ORDER BY ${keyList} LIMIT ?`,
      )
      .safeIntegers(true);
  const first = select(false);
  const next = select(true);
  // PostgreSQL takes at most 65535 parameters per statement
  const perInsert = Math.max(1, Math.floor(60_000 / Math.max(1, plan.columns.length)));
  for (;;) {
    const rows = (cursor ? next.all(...cursor, o.batchRows) : first.all(o.batchRows)) as Record<
      string,
      unknown
    >[];
    const last = rows[rows.length - 1];
    const nextCursor = last ? plan.key.map((k) => last[k === "rowid" ? "__key" : k]) : cursor;
    await inTx(o.pool, async (c) => {
      for (let i = 0; i < rows.length; i += perInsert) {
        const part = rows.slice(i, i + perInsert);
        const values: unknown[] = [];
        const tuples = part.map((r) => {
          const ph = plan.columns.map((col, j) => {
            values.push(convert(r[col], plan.convs[j]!));
            return `$${values.length}`;
          });
          return `(${ph.join(", ")})`;
        });
        await c.query(
          `INSERT INTO ${quote(plan.name)} (${cols}) OVERRIDING SYSTEM VALUE VALUES ${tuples.join(", ")}`,
          values,
        );
      }
      if (hook && rows.length > 0) await hook(c, rows);
      await c.query(
        `INSERT INTO migrate_progress (tbl, snapshot, cursor, rows, done) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tbl) DO UPDATE SET cursor = EXCLUDED.cursor, rows = EXCLUDED.rows, done = EXCLUDED.done`,
        [
          plan.name,
          snapshot,
          nextCursor ? encodeCursor(nextCursor) : null,
          total + rows.length,
          rows.length < o.batchRows,
        ],
      );
    });
    total += rows.length;
    copied += rows.length;
    cursor = nextCursor;
    if (rows.length > 0) o.onBatch?.({ table: plan.name, rows: total });
    if (rows.length < o.batchRows) return copied;
  }
}

/**
 * After the rows: identity sequences past every copied id (and past SQLite's AUTOINCREMENT
 * high-water mark, so ids of deleted rows are not reused either), and the per-mailbox counters
 * recounted (the PostgreSQL triggers counted the copied messages on top of the copied counters).
 */
export async function finishCopy(src: Database.Database, pool: pg.Pool, plans: TablePlan[]): Promise<void> {
  const hasSeq =
    src.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get() !== undefined;
  const seqOf = hasSeq
    ? src.prepare("SELECT seq FROM sqlite_sequence WHERE name = ?").safeIntegers(true)
    : null;
  await inTx(pool, async (c) => {
    for (const p of plans) {
      for (const col of p.identity) {
        const s = await c.query("SELECT pg_get_serial_sequence($1, $2) AS seq", [p.name, col]);
        const seq = (s.rows[0] as { seq: string | null }).seq;
        if (!seq) continue;
        const m = await c.query(`SELECT COALESCE(MAX(${quote(col)}), 0)::text AS m FROM ${quote(p.name)}`);
        let high = BigInt((m.rows[0] as { m: string }).m);
        const r = seqOf?.get(p.name) as { seq: bigint } | undefined;
        if (r && r.seq > high) high = r.seq;
        if (high > 0n) await c.query("SELECT setval($1, $2, true)", [seq, high.toString()]);
      }
    }
    await c.query(`UPDATE mailbox SET (n_messages, n_unseen, n_deleted, total_size) = (
      SELECT COUNT(*), COALESCE(SUM(CASE WHEN (flag_bits & 1) = 0 THEN 1 ELSE 0 END), 0),
             COALESCE(SUM(CASE WHEN (flag_bits & 8) <> 0 THEN 1 ELSE 0 END), 0), COALESCE(SUM(size), 0)
      FROM message WHERE message.mailbox_id = mailbox.id)`);
    await c.query(`UPDATE mailbox SET (n_threads, n_dup_emails) = (
      SELECT COUNT(DISTINCT thread_id), COUNT(*) - COUNT(DISTINCT email_id)
      FROM message WHERE message.mailbox_id = mailbox.id AND (flag_bits & 8) = 0)`);
  });
}
