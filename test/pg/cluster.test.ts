// The test kit's private PostgreSQL cluster starts, serves a fresh database, and is removed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import pg from "pg";
import { postgresAvailable, startPostgres } from "../kit/postgres.ts";

test("private PostgreSQL cluster: initdb, pg_ctl on a free port, a database, cleanup", {
  skip: !postgresAvailable() && "PostgreSQL binaries missing",
}, async () => {
  const cluster = await startPostgres();
  try {
    const url = await cluster.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const r = await c.query("SELECT current_database() AS db, 1 + 1 AS two");
      assert.equal(r.rows[0].two, 2);
      assert.match(r.rows[0].db, /^t_/);
      await c.query("CREATE EXTENSION IF NOT EXISTS pg_trgm");
    } finally {
      await c.end();
    }
  } finally {
    await cluster.stop();
  }
  assert.equal(existsSync(cluster.dir), false);
});
