/**
 * Applies the versioned migrations (the one list for both dialects: db/migrations.ts) on SQLite,
 * inside one write transaction at open (BEGIN IMMEDIATE). Concurrent openers (server workers, the
 * CLI) serialize on the write lock; the loser finds the versions applied and does nothing.
 */
import type BetterSqlite3 from "better-sqlite3";
import { MIGRATIONS, type Migration } from "../migrations.ts";

export { MIGRATIONS, type Migration };

/** Applies pending migrations in one BEGIN IMMEDIATE transaction; returns versions applied now. */
export function migrateSqlite(
  db: BetterSqlite3.Database,
  migrations: readonly Pick<Migration, "version" | "name" | "sqlite">[] = MIGRATIONS,
): number[] {
  const applied: number[] = [];
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`);
    const done = new Set(
      (db.prepare("SELECT version FROM schema_migrations").raw().all() as unknown[][]).map((r) =>
        Number(r[0]),
      ),
    );
    const sorted = [...migrations].sort((a, b) => a.version - b.version);
    const insert = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    for (const m of sorted) {
      if (done.has(m.version)) continue;
      for (const stmt of m.sqlite) db.exec(stmt);
      insert.run(m.version, m.name, Date.now());
      applied.push(m.version);
    }
    db.exec("COMMIT");
  } catch (err) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw err;
  }
  return applied;
}
