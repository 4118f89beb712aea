/**
 * The store's PostgreSQL pool (db/postgres/pg.ts openPool) when the server ends a connection that
 * is checked out but has no query in flight (a transaction between two statements, a client held
 * for a blob stream): node-postgres then emits 'error' on the client, the pool does not listen
 * while it is lent out, and without a listener of ours the process would end. The error is
 * reported to onError, the client is not reused, and the next query gets a fresh connection.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { openPool } from "../../src/store/db/postgres/pg.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";

describe("PostgreSQL pool: a lent-out connection ended by the server", {
  skip: !postgresAvailable() && "PostgreSQL binaries missing",
}, () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  test("is reported, not fatal; the pool serves the next query on a new connection", async () => {
    const url = await cluster.createDatabase("poolerr");
    const errors: unknown[] = [];
    const pool = openPool(url, 2, (e) => errors.push(e));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const c = await pool.connect();
      const pid = Number((await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
      // no query in flight on c now: the termination arrives as an 'error' event
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      for (let i = 0; i < 200 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(errors.length > 0, "the error reached onError");
      c.release();
      const r = await pool.query("SELECT pg_backend_pid() AS pid");
      assert.notEqual(Number(r.rows[0].pid), pid, "a new connection");
    } finally {
      await admin.end();
      await pool.end();
    }
  });
});
