/**
 * Applies the versioned migrations (db/migrations.ts, the `postgres` statements) to a PostgreSQL
 * database: pending versions in one transaction, under a transaction-scoped advisory lock, so
 * that several nodes starting at once on a fresh database serialise — the first creates the
 * schema, the others find the versions recorded and do nothing.
 */
import type pg from "pg";
import { MIGRATIONS, type Migration } from "../migrations.ts";

/** pg_advisory_xact_lock key of the migration step ("pkmigrat") */
const MIGRATION_LOCK = 0x706b_6d69_6772_6174n;

/** Applies pending migrations; returns the versions applied now. */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly Pick<Migration, "version" | "name" | "postgres">[] = MIGRATIONS,
): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK.toString()]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`);
      const r = await client.query({ text: "SELECT version FROM schema_migrations", rowMode: "array" });
      const done = new Set((r.rows as unknown[][]).map((x) => Number(x[0])));
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        for (const stmt of m.postgres) await client.query(stmt);
        await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
          m.version,
          m.name,
          Date.now(),
        ]);
        applied.push(m.version);
      }
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    }
  } finally {
    client.release();
  }
  return applied;
}
