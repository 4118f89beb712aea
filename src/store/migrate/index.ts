/**
 * `postkontor migrate --to postgres://…`: moves a single-node SQLite store into PostgreSQL so that
 * IMAP clients keep their caches — the same account, mailbox and message ids, UIDVALIDITY, UIDs,
 * modseqs, flags and dates, the change and expunge logs (docs/architecture.md "PostgreSQL
 * adapter").
 *
 * 1. Snapshot: the live database is copied in one read transaction (`VACUUM INTO`) to
 *    <data_dir>/migrate-snapshot.sqlite, so `serve` keeps running and the copy is consistent. The
 *    snapshot gets a random id; the target's progress table names it, and a resumed run reuses
 *    the same file (a changed source between runs would make the key cursors meaningless).
 * 2. Target: the schema is created (the one migration list); a database that holds a store not
 *    started by this snapshot's migration is refused.
 * 3. Copy (copy.ts): table by table in batches, each batch committed with its progress row.
 * 4. Finish: identity sequences advanced past the copied ids, mailbox counters recounted.
 * 5. Verify (verify.ts): row counts and per-account content hashes; the snapshot file is removed
 *    once they match.
 *
 * Mail that arrives at the SQLite store after the snapshot is not copied: stop `serve` (or stop
 * delivery) before the final run, or run again after switching (the summary says how old the
 * snapshot is).
 */
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type pg from "pg";
import { FsBlobStore } from "../blob/fs.ts";
import { MIGRATIONS } from "../db/migrations.ts";
import { migratePostgres } from "../db/postgres/migrate.ts";
import { openPool } from "../db/postgres/pg.ts";
import { storeDatabasePath } from "../index.ts";
import { type CopyProgress, copyTable, finishCopy } from "./copy.ts";
import { planTables, sharedTables } from "./plan.ts";
import { type VerifyResult, verifyMigration } from "./verify.ts";

export interface MigrateOptions {
  dataDir: string;
  url: string;
  /** rows per committed batch; default 500 */
  batchRows?: number;
  /** only compare source and target (no copy) */
  verifyOnly?: boolean;
  onBatch?: (p: CopyProgress) => void;
}

export interface MigrateResult {
  snapshot: string;
  /** rows copied by this run, per table */
  copied: Record<string, number>;
  resumed: boolean;
  verify: VerifyResult;
}

export class MigrateRefused extends Error {}

/** pg_try_advisory_lock key of a running migrate ("pkmigcpy") */
const MIGRATE_LOCK = 0x706b_6d69_6763_7079n;

export function snapshotPath(dataDir: string): string {
  return join(dataDir, "migrate-snapshot.sqlite");
}

const PROGRESS_DDL = `CREATE TABLE IF NOT EXISTS migrate_progress (
  tbl TEXT PRIMARY KEY,
  snapshot TEXT NOT NULL,
  cursor TEXT,
  rows BIGINT NOT NULL DEFAULT 0,
  done BOOLEAN NOT NULL DEFAULT false
)`;

/** a fresh consistent copy of the live store, tagged with a new id */
function takeSnapshot(dataDir: string): string {
  const path = snapshotPath(dataDir);
  rmSync(path, { force: true });
  const live = new Database(storeDatabasePath(dataDir), { fileMustExist: true });
  try {
    // one read transaction; the path is ours, quoted as an SQL string literal
    live.exec(`VACUUM INTO '${path.replaceAll("'", "''")}'`);
  } finally {
    live.close();
  }
  chmodSync(path, 0o600); // it holds password hashes, like the store
  const id = randomUUID();
  const s = new Database(path);
  try {
    s.exec("CREATE TABLE migrate_snapshot (id TEXT NOT NULL)");
    s.prepare("INSERT INTO migrate_snapshot (id) VALUES (?)").run(id);
  } finally {
    s.close();
  }
  return id;
}

function snapshotId(path: string): string | null {
  if (!existsSync(path)) return null;
  const s = new Database(path, { readonly: true });
  try {
    return (s.prepare("SELECT id FROM migrate_snapshot").get() as { id: string } | undefined)?.id ?? null;
  } catch {
    return null;
  } finally {
    s.close();
  }
}

async function targetEmpty(pool: pg.Pool): Promise<boolean> {
  for (const t of sharedTables()) {
    const r = await pool.query(`SELECT EXISTS (SELECT 1 FROM "${t}") AS any`);
    if ((r.rows[0] as { any: boolean }).any) return false;
  }
  return true;
}

function checkSourceVersion(src: Database.Database): void {
  const have = Number(
    (src.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number }).v,
  );
  const want = Math.max(...MIGRATIONS.map((m) => m.version));
  if (have !== want)
    throw new MigrateRefused(
      `the SQLite store is at schema version ${have}, this postkontor at ${want}: ` +
        "run `postkontor serve` of this version on it once (it upgrades the store), then migrate",
    );
}

export async function migrateToPostgres(o: MigrateOptions): Promise<MigrateResult> {
  if (!existsSync(storeDatabasePath(o.dataDir))) throw new MigrateRefused(`no SQLite store in ${o.dataDir}`);
  const pool = openPool(o.url, 4);
  // one migrate at a time per target: a session advisory lock on a connection of its own, held
  // until the end (the connection is closed, never returned to the pool, so the lock goes with it)
  let guard: pg.PoolClient | null = null;
  try {
    guard = await pool.connect();
    const got = await guard.query("SELECT pg_try_advisory_lock($1) AS ok", [MIGRATE_LOCK.toString()]);
    if ((got.rows[0] as { ok: boolean }).ok !== true)
      throw new MigrateRefused("another `postkontor migrate` is copying into this database");
    await migratePostgres(pool);
    await pool.query(PROGRESS_DDL);
    const path = snapshotPath(o.dataDir);
    const prog = await pool.query("SELECT DISTINCT snapshot FROM migrate_progress");
    const started = (prog.rows as Array<{ snapshot: string }>).map((r) => r.snapshot);
    let snapshot: string;
    let resumed = false;
    if (started.length > 0) {
      snapshot = started[0]!;
      if (started.length > 1 || snapshotId(path) !== snapshot) {
        const done = await pool.query("SELECT 1 FROM migrate_progress WHERE tbl = '*' AND done");
        if (done.rows.length > 0 && o.verifyOnly) snapshot = takeSnapshot(o.dataDir);
        else
          throw new MigrateRefused(
            done.rows.length > 0
              ? "this PostgreSQL database already holds a migrated store (verify it with --verify-only)"
              : `a migration into this database started from snapshot ${snapshot}, whose file ` +
                  `${path} is gone: drop and re-create the target database, then migrate again`,
          );
      } else resumed = true;
    } else {
      if (!(await targetEmpty(pool)))
        throw new MigrateRefused(
          "the PostgreSQL database already holds a different store: refusing to copy into it",
        );
      if (o.verifyOnly) throw new MigrateRefused("nothing migrated into this database yet");
      snapshot = takeSnapshot(o.dataDir);
    }
    const src = new Database(path, { readonly: true, fileMustExist: true });
    try {
      checkSourceVersion(src);
      const plans = await planTables(src, pool);
      const copied: Record<string, number> = {};
      const missing: string[] = [];
      if (!o.verifyOnly) {
        const files = new FsBlobStore(join(o.dataDir, "blobs"), { writerThreads: 0 });
        try {
          for (const p of plans) {
            copied[p.name] = await copyTable(
              { src, pool, files, batchRows: o.batchRows ?? 500, onBatch: o.onBatch, missing },
              p,
              snapshot,
            );
          }
        } finally {
          await files.close();
        }
        await finishCopy(src, pool, plans);
        await pool.query(
          `INSERT INTO migrate_progress (tbl, snapshot, done) VALUES ('*', $1, true)
           ON CONFLICT (tbl) DO UPDATE SET done = true`,
          [snapshot],
        );
      }
      const verify = await verifyMigration(src, pool, plans);
      for (const sha of missing)
        verify.problems.push(
          `blob ${sha}: deleted from the live store during the copy (its messages were expunged after ` +
            "the snapshot); drop the target database and migrate again, with delivery stopped",
        );
      src.close();
      if (verify.problems.length === 0) rmSync(path, { force: true });
      return { snapshot, copied, resumed, verify };
    } finally {
      if (src.open) src.close();
    }
  } finally {
    guard?.release(true);
    await pool.end();
  }
}
