// The blob port's contract (src/store/blob/contract.ts) on the PostgreSQL adapter, plus what only
// it can get wrong: chunk rows, durability at resolve, a blob deleted while it is streamed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { blobContract } from "../../src/store/blob/contract.ts";
import { sha256Hex } from "../../src/store/blob/fs.ts";
import { isBlobNotFound } from "../../src/store/blob/port.ts";
import { CHUNK, PgBlobStore } from "../../src/store/blob/postgres.ts";
import { ensurePgEdgeSchema } from "../../src/store/pg/edge-schema.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";

const skip = !postgresAvailable() && "PostgreSQL binaries missing";

describe("PostgreSQL blob adapter", { skip }, () => {
  let cluster: PgCluster;
  let pool: pg.Pool;
  before(async () => {
    cluster = await startPostgres();
    pool = new pg.Pool({ connectionString: await cluster.createDatabase(), max: 4 });
    await ensurePgEdgeSchema(pool);
    await ensurePgEdgeSchema(pool); // idempotent
  });
  after(async () => {
    await pool?.end();
    await cluster?.stop();
  });

  blobContract("postgres", () => new PgBlobStore(pool));

  test("content is in chunk rows, committed when put resolves; seen by another pool", async () => {
    const b = new PgBlobStore(pool);
    const data = Buffer.alloc(2 * CHUNK + 1, 7);
    const id = await b.put(data);
    assert.equal(id, sha256Hex(data));
    const other = new pg.Pool({ connectionString: pool.options.connectionString, max: 1 });
    try {
      const r = await other.query(
        "SELECT n, length(data) AS len FROM blob_chunk WHERE blob_id = $1 ORDER BY n",
        [id],
      );
      assert.deepEqual(
        r.rows.map((x) => [x.n, x.len]),
        [
          [0, CHUNK],
          [1, CHUNK],
          [2, 1],
        ],
      );
      assert.equal(await new PgBlobStore(other).size(id), data.length);
    } finally {
      await other.end();
    }
    await b.delete(id);
    const left = await pool.query("SELECT count(*)::int AS n FROM blob_chunk WHERE blob_id = $1", [id]);
    assert.equal(left.rows[0].n, 0, "chunks go with the blob");
  });

  test("a blob deleted while streamed ends the stream with not-found", async () => {
    const b = new PgBlobStore(pool);
    const data = Buffer.alloc(3 * CHUNK, 1);
    const id = await b.put(data);
    const it = b.stream(id)[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.byteLength, CHUNK);
    await b.delete(id);
    await assert.rejects(it.next(), (e) => isBlobNotFound(e));
  });

  test("putStream: content in pieces, id from the hash, deduplicated, nothing left on failure", async () => {
    const b = new PgBlobStore(pool);
    const data = Buffer.alloc(4 * CHUNK + 5);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
    async function* pieces(buf: Buffer, size: number, failAt = -1) {
      for (let off = 0; off < buf.length; off += size) {
        if (failAt >= 0 && off >= failAt) throw new Error("source broke");
        yield buf.subarray(off, off + size);
      }
    }
    const [id, again] = await Promise.all([
      b.putStream(pieces(data, 70_001)),
      b.putStream(pieces(data, CHUNK)),
    ]);
    assert.equal(id, sha256Hex(data));
    assert.equal(again, id);
    assert.ok(Buffer.from(await b.get(id)).equals(data));
    const rows = await pool.query(
      "SELECT length(data) AS len FROM blob_chunk WHERE blob_id = $1 ORDER BY n",
      [id],
    );
    assert.deepEqual(
      rows.rows.map((r) => r.len),
      [CHUNK, CHUNK, CHUNK, CHUNK, 5],
    );
    assert.equal(await b.putStream(pieces(data, 1 << 20)), id, "existing content: same id");
    await assert.rejects(b.putStream(pieces(Buffer.alloc(3 * CHUNK, 9), 100_000, CHUNK)), /source broke/);
    assert.equal(await b.has(sha256Hex(Buffer.alloc(3 * CHUNK, 9))), false);
    const empty = await b.putStream(pieces(Buffer.alloc(0), 1));
    assert.equal(empty, sha256Hex(Buffer.alloc(0)));
    assert.equal(await b.size(empty), 0);
    const tmp = await pool.query("SELECT count(*)::int AS n FROM blob_data WHERE id LIKE 'tmp-%'");
    assert.equal(tmp.rows[0].n, 0, "no temporary rows survive");
    await b.delete(id);
    await b.delete(empty);
  });

  test("a range reads only the chunks it covers, cut on the server", async () => {
    const spied = new pg.Pool({ connectionString: pool.options.connectionString, max: 2 });
    let octets = 0;
    const query = spied.query.bind(spied);
    spied.query = (async (...args: Parameters<typeof query>) => {
      const r = await (query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args);
      for (const row of r.rows as unknown[])
        for (const v of Object.values(row as object)) if (Buffer.isBuffer(v)) octets += v.length;
      return r;
    }) as typeof spied.query;
    try {
      const b = new PgBlobStore(spied);
      const data = Buffer.alloc(8 * CHUNK);
      for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
      const id = await b.put(data);
      octets = 0;
      const parts: Uint8Array[] = [];
      for await (const c of b.stream(id, { start: 5 * CHUNK - 3, end: 5 * CHUNK + 4 })) parts.push(c);
      assert.ok(Buffer.concat(parts).equals(data.subarray(5 * CHUNK - 3, 5 * CHUNK + 4)));
      assert.equal(octets, 7, "seven octets asked, seven read");
      await b.delete(id);
    } finally {
      await spied.end();
    }
  });

  test("writeIn/deleteIn run inside the caller's transaction: nothing visible before COMMIT, nothing left after ROLLBACK", async () => {
    const b = new PgBlobStore(pool);
    const data = Buffer.from(`Subject: in a transaction\r\n\r\n${"x".repeat(CHUNK)}\r\n`);
    const id = sha256Hex(data);
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      assert.equal(await b.writeIn(c, data), true);
      assert.equal(await b.writeIn(c, data), false, "already there (in this transaction)");
      assert.equal(await b.has(id), false, "not visible before COMMIT");
      await c.query("ROLLBACK");
      assert.equal(await b.has(id), false);
      await c.query("BEGIN");
      await b.writeIn(c, data);
      await c.query("COMMIT");
      assert.ok(Buffer.from(await b.get(id)).equals(data));
      await c.query("BEGIN");
      await b.deleteIn(c, id);
      assert.equal(await b.has(id), true, "still there until COMMIT");
      await c.query("COMMIT");
      assert.equal(await b.has(id), false);
    } finally {
      c.release();
    }
  });

  test("schema: nodes creating it at once on a fresh database all succeed", async () => {
    const fresh = await cluster.createDatabase();
    const ps = [1, 2, 3].map(() => new pg.Pool({ connectionString: fresh, max: 1 }));
    try {
      await Promise.all(ps.map((p) => ensurePgEdgeSchema(p)));
      const t = await ps[0]!.query(
        "SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('blob_data', 'blob_chunk', 'search_text')",
      );
      assert.equal(t.rows[0].n, 3);
    } finally {
      for (const p of ps) await p.end();
    }
  });

  test("ids are checked before any SQL", async () => {
    const b = new PgBlobStore(pool);
    await assert.rejects(b.get("../etc/passwd"), /invalid blob id/);
    await assert.rejects(b.put(Buffer.from("x"), "' OR 1=1 --"), /invalid blob id/);
  });
});
