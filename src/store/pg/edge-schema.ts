/**
 * Tables of the PostgreSQL edge adapters: blob content (blob/postgres.ts), the search text
 * (search/postgres.ts). The feed (feed/postgres.ts) needs no table. The statements are one list so
 * that the dual-dialect migration list can take them as one version; until then
 * ensurePgEdgeSchema runs them (idempotent: IF NOT EXISTS everywhere) on a pool.
 *
 * - blob_data: one row per stored blob (id = SHA-256 hex, as the filesystem adapter names its
 *   files); chunk_size says how its content was cut, so a later change of the constant keeps old
 *   blobs readable. The row and its chunks commit in one transaction: a visible row means the
 *   whole content is there.
 * - blob_chunk: the content in chunks (n = 0, 1, …), deleted with the row; renamed with it when
 *   a streamed put learns its id at the end.
 * - search_text: the decoded text of one blob, keyed like the port by the db's numeric blob row
 *   id, stored lower-cased by the adapter (locale-independent, JavaScript's Unicode case mapping,
 *   as the SQLite adapter compares); trigram GIN indexes (pg_trgm) serve substring LIKE, a
 *   tsvector GIN index ('simple' configuration: no language, no stemming) serves word search.
 */
import type pg from "pg";

/** characters of each text that the word index (tsvector) covers: keeps it under 1 MB */
export const TSVECTOR_TEXT_CHARS = 100_000;

/** the word-index expression (queries must repeat it exactly for the index to apply) */
export const WORDS_EXPR = `to_tsvector('simple', left(headers, ${TSVECTOR_TEXT_CHARS}) || ' ' || left(body, ${TSVECTOR_TEXT_CHARS}))`;

export const PG_EDGE_DDL: readonly string[] = [
  `CREATE EXTENSION IF NOT EXISTS pg_trgm`,
  `CREATE TABLE IF NOT EXISTS blob_data (
    id TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    chunk_size INTEGER NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS blob_chunk (
    blob_id TEXT NOT NULL REFERENCES blob_data(id) ON DELETE CASCADE ON UPDATE CASCADE,
    n INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (blob_id, n)
  )`,
  `CREATE TABLE IF NOT EXISTS search_text (
    blob_ref BIGINT PRIMARY KEY,
    headers TEXT NOT NULL,
    body TEXT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS search_text_headers_trgm ON search_text USING gin (headers gin_trgm_ops)`,
  `CREATE INDEX IF NOT EXISTS search_text_body_trgm ON search_text USING gin (body gin_trgm_ops)`,
  `CREATE INDEX IF NOT EXISTS search_text_words ON search_text USING gin ((${WORDS_EXPR}))`,
];

/** Creates the edge adapters' tables if missing (one transaction; concurrent nodes serialize). */
export async function ensurePgEdgeSchema(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    // two nodes starting at once: CREATE ... IF NOT EXISTS can still race on the catalog
    await c.query("SELECT pg_advisory_xact_lock(hashtext('postkontor edge schema'))");
    for (const s of PG_EDGE_DDL) await c.query(s);
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}
