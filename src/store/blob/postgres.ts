/**
 * The PostgreSQL adapter of the blob port (port.ts): message content in the database, so a
 * cluster of nodes needs nothing but PostgreSQL (docs/architecture.md "Store layers").
 *
 * - Ids are the same as the filesystem adapter's (SHA-256 hex of the content), so a store can
 *   move between adapters without renaming anything.
 * - put writes the content in chunks of CHUNK octets (one INSERT each, so no statement carries
 *   the whole of a large message) and the blob_data row in one transaction; the promise
 *   resolves after COMMIT, i.e. once PostgreSQL made it durable. An existing blob is a no-op; two
 *   puts of the same content at once serialize on the primary key and the second does nothing.
 * - putStream(source) stores content that arrives in pieces (an import, a large SMTP DATA) without
 *   holding it whole: chunks are written under a temporary id while the SHA-256 is computed, and
 *   the row is renamed to the content's id before COMMIT (the chunks follow by ON UPDATE
 *   CASCADE); if that content is already there the transaction is rolled back instead.
 * - stream(id, range) reads only the chunks the range covers, one chunk per query, and cuts the
 *   first and last on the server (substring), so a 50 MB FETCH BODY[] or a partial fetch never
 *   holds more than one chunk. Each query is its own snapshot: should the blob be deleted while it
 *   is streamed (the sweeper collected it), the next chunk is missing and the stream rejects with
 *   the port's "not found" error, as get() would.
 * - writeIn/deleteIn take the caller's client: inside a db write transaction the content commits
 *   (or goes) together with the rows that reference it.
 * - No synchronous paths: the SQLite store's fast paths (exists/writeSync/deleteSync of
 *   FsBlobStore) stay with the filesystem adapter.
 */
import { createHash, randomUUID } from "node:crypto";
import type pg from "pg";
import { sha256Hex } from "./fs.ts";
import { BlobNotFoundCode, type BlobStore } from "./port.ts";

/** octets per blob_chunk row (and per chunk of stream()) */
export const CHUNK = 256 * 1024;

const HEX64 = /^[0-9a-f]{64}$/;

function checkId(id: string): string {
  if (!HEX64.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
  return id;
}

function notFound(id: string): Error {
  const e = new Error(`blob ${id} not found`) as NodeJS.ErrnoException;
  e.code = BlobNotFoundCode;
  return e;
}

function asBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
}

/**
 * What writeIn/deleteIn need of a connection: a pool, a client, or a db adapter's transaction
 * (store/postgres.ts hands the PostgreSQL db adapter's statements in this shape).
 */
export interface PgStatements {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null }>;
  /**
   * a db write transaction's deferred write (db/postgres/pg.ts Exec): queued, sent with the
   * transaction's next statement or before its COMMIT; absent = run each statement at once
   */
  defer?(table: string, text: string, values: unknown[]): void;
}

export class PgBlobStore implements BlobStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async put(data: Uint8Array, id: string = sha256Hex(data)): Promise<string> {
    checkId(id);
    if (await this.has(id)) return id;
    const c = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await c.query("BEGIN");
      await this.writeIn(c, data, id);
      await c.query("COMMIT");
      return id;
    } catch (e) {
      broken = e as Error;
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      c.release(broken);
    }
  }

  /**
   * Writes the content inside the caller's transaction on c (for the db adapter: the content then
   * commits with the rows that reference it, atomically). False when it was there already; null
   * when c defers and the content fits one chunk: row and chunk are then queued (the db adapter
   * sends them with its next statement), each `ON CONFLICT DO NOTHING` — content that is there,
   * or that a concurrent writer commits first, has both already (they commit together).
   */
  async writeIn(c: PgStatements, data: Uint8Array, id: string = sha256Hex(data)): Promise<boolean | null> {
    checkId(id);
    if (c.defer && data.byteLength <= CHUNK) {
      c.defer(
        "blob_data",
        `INSERT INTO blob_data (id, size, chunk_size, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING`,
        [id, data.byteLength, CHUNK, Date.now()],
      );
      c.defer(
        "blob_chunk",
        "INSERT INTO blob_chunk (blob_id, n, data) VALUES ($1, 0, $2) ON CONFLICT (blob_id, n) DO NOTHING",
        [id, Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
      );
      return null;
    }
    // the row first: a concurrent writer of the same id waits here until that one commits
    const r = await c.query(
      `INSERT INTO blob_data (id, size, chunk_size, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING`,
      [id, data.byteLength, CHUNK, Date.now()],
    );
    if (r.rowCount !== 1) return false;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    // an empty blob has one empty chunk, so get() can tell it from a missing one
    const chunks = Math.max(1, Math.ceil(buf.length / CHUNK));
    for (let n = 0; n < chunks; n++) {
      const text = "INSERT INTO blob_chunk (blob_id, n, data) VALUES ($1, $2, $3)";
      const values = [id, n, buf.subarray(n * CHUNK, (n + 1) * CHUNK)];
      if (c.defer) c.defer("blob_chunk", text, values);
      else await c.query(text, values);
    }
    return true;
  }

  /** deletes inside the caller's transaction on c (the blob sweeper: with the db's blob row) */
  async deleteIn(c: PgStatements, id: string): Promise<void> {
    checkId(id);
    // chunks go with the row (ON DELETE CASCADE)
    await c.query("DELETE FROM blob_data WHERE id = $1", [id]);
  }

  /** stores content read from source, chunk by chunk; resolves with its id once committed */
  async putStream(source: AsyncIterable<Uint8Array>): Promise<string> {
    const tmp = `tmp-${randomUUID()}`;
    const hash = createHash("sha256");
    const c = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await c.query("BEGIN");
      await c.query("INSERT INTO blob_data (id, size, chunk_size, created_at) VALUES ($1, 0, $2, $3)", [
        tmp,
        CHUNK,
        Date.now(),
      ]);
      let n = 0;
      let size = 0;
      let pending: Buffer[] = [];
      let pendingLen = 0;
      const write = (data: Buffer) =>
        c.query("INSERT INTO blob_chunk (blob_id, n, data) VALUES ($1, $2, $3)", [tmp, n++, data]);
      for await (const piece of source) {
        hash.update(piece);
        size += piece.byteLength;
        pending.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
        pendingLen += piece.byteLength;
        // each round writes one full chunk and keeps the rest
        while (pendingLen >= CHUNK) {
          const buf = Buffer.concat(pending, pendingLen);
          await write(buf.subarray(0, CHUNK));
          pending = [buf.subarray(CHUNK)];
          pendingLen -= CHUNK;
        }
      }
      if (pendingLen > 0 || n === 0) await write(Buffer.concat(pending, pendingLen));
      const id = hash.digest("hex");
      const there = await c.query("SELECT 1 FROM blob_data WHERE id = $1", [id]);
      if (there.rows.length > 0) {
        await c.query("ROLLBACK");
        return id;
      }
      try {
        await c.query("UPDATE blob_data SET id = $1, size = $2 WHERE id = $3", [id, size, tmp]);
        await c.query("COMMIT");
      } catch (e) {
        // the same content committed by a concurrent put meanwhile
        if ((e as { code?: string }).code !== "23505") throw e;
        await c.query("ROLLBACK");
      }
      return id;
    } catch (e) {
      broken = e as Error;
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      c.release(broken);
    }
  }

  async get(id: string): Promise<Uint8Array> {
    return this.getIn(this.#pool, id);
  }

  /**
   * get() on the caller's connection — inside its transaction, so a backup reading in the
   * snapshot of its metadata copy (src/backup/snapshot-pg.ts) still sees content collected since
   */
  async getIn(c: pg.Pool | pg.ClientBase, id: string): Promise<Uint8Array> {
    checkId(id);
    const r = await c.query({
      text: `SELECT c.data FROM blob_data b JOIN blob_chunk c ON c.blob_id = b.id
             WHERE b.id = $1 ORDER BY c.n`,
      values: [id],
      rowMode: "array",
    });
    if (r.rows.length === 0) throw notFound(id);
    return r.rows.length === 1
      ? asBuffer(r.rows[0]![0])
      : Buffer.concat(r.rows.map((row) => asBuffer(row[0])));
  }

  async has(id: string): Promise<boolean> {
    return (await this.size(id)) !== null;
  }

  async size(id: string): Promise<number | null> {
    checkId(id);
    const r = await this.#pool.query({
      text: "SELECT size FROM blob_data WHERE id = $1",
      values: [id],
      rowMode: "array",
    });
    return r.rows.length === 0 ? null : Number(r.rows[0]![0]);
  }

  /** bytes [start, end) in chunks of at most CHUNK octets, each read when the consumer asks */
  async *stream(id: string, range: { start?: number; end?: number } = {}): AsyncIterable<Uint8Array> {
    checkId(id);
    const head = await this.#pool.query({
      text: "SELECT size, chunk_size FROM blob_data WHERE id = $1",
      values: [id],
      rowMode: "array",
    });
    if (head.rows.length === 0) throw notFound(id);
    const size = Number(head.rows[0]![0]);
    const chunk = Number(head.rows[0]![1]);
    const start = Math.max(0, range.start ?? 0);
    const end = Math.min(size, range.end ?? size);
    if (end <= start) return;
    for (let n = Math.floor(start / chunk); n * chunk < end; n++) {
      const from = Math.max(start - n * chunk, 0);
      const len = Math.min(end - n * chunk, chunk) - from;
      // substring is 1-based; only the needed part of the chunk crosses the wire
      const r = await this.#pool.query({
        text: "SELECT substring(data FROM $3 FOR $4) FROM blob_chunk WHERE blob_id = $1 AND n = $2",
        values: [id, n, from + 1, len],
        rowMode: "array",
      });
      if (r.rows.length === 0) throw notFound(id);
      yield asBuffer(r.rows[0]![0]);
    }
  }

  async delete(id: string): Promise<void> {
    await this.deleteIn(this.#pool, id);
  }

  /** the pool belongs to the caller */
  async close(): Promise<void> {}
}
