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

  test("ids are checked before any SQL", async () => {
    const b = new PgBlobStore(pool);
    await assert.rejects(b.get("../etc/passwd"), /invalid blob id/);
    await assert.rejects(b.put(Buffer.from("x"), "' OR 1=1 --"), /invalid blob id/);
  });
});
