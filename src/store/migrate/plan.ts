/**
 * What `postkontor migrate` copies, derived from the one migration list (db/migrations.ts) rather
 * than written per table: every table that both dialects create, in the order the list creates
 * them (so a referenced table is always copied before the tables referencing it), and per table
 * the columns both databases have, with the conversion the PostgreSQL column type needs
 * (INTEGER 0/1 → BOOLEAN, BLOB → BYTEA, 64-bit integers kept exact as bigint).
 *
 * The same plans serve the reverse direction (convertBack): a backup of a PostgreSQL store writes
 * its metadata copy as a SQLite database of this schema.
 *
 * Tables of one dialect only are not copied generically: SQLite's FTS5 tables (the search text
 * goes to search_text through the blob step, copy.ts) and PostgreSQL's edge tables (blob_data /
 * blob_chunk are filled from the SQLite store's blob files).
 */
import type Database from "better-sqlite3";
import type pg from "pg";
import { MIGRATIONS } from "../db/migrations.ts";

export type Conv = "bool" | "bytes" | "int" | "text";

export interface TablePlan {
  name: string;
  /** columns both sides have, in SQLite's order */
  columns: string[];
  convs: Conv[];
  /** the batch cursor: ["rowid"] for rowid tables, else the primary key columns */
  key: string[];
  /** true when the key is SQLite's rowid (selected as an extra first column) */
  rowid: boolean;
  /** PostgreSQL identity columns (their sequences are advanced past the copied ids) */
  identity: string[];
}

const CREATE_TABLE = /^\s*CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)/i;

function createdTables(stmts: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of stmts) {
    const m = CREATE_TABLE.exec(s);
    if (m) out.push(m[1]!.toLowerCase());
  }
  return out;
}

/** tables both dialects create, in the order of the migration list */
export function sharedTables(): string[] {
  const sqlite: string[] = [];
  const postgres = new Set<string>();
  for (const m of MIGRATIONS) {
    sqlite.push(...createdTables(m.sqlite));
    for (const t of createdTables(m.postgres)) postgres.add(t);
  }
  return sqlite.filter((t, i) => postgres.has(t) && sqlite.indexOf(t) === i);
}

function convOf(pgType: string): Conv {
  if (pgType === "boolean") return "bool";
  if (pgType === "bytea") return "bytes";
  if (pgType === "bigint" || pgType === "integer" || pgType === "smallint") return "int";
  return "text";
}

/** the copy plan of every shared table, from both databases' catalogs */
export async function planTables(src: Database.Database, dst: pg.ClientBase | pg.Pool): Promise<TablePlan[]> {
  const plans: TablePlan[] = [];
  for (const name of sharedTables()) {
    const info = src.prepare(`PRAGMA table_info(${name})`).all() as Array<{ name: string; pk: number }>;
    if (info.length === 0) throw new Error(`the SQLite store has no table ${name}: upgrade it first`);
    const r = await dst.query(
      `SELECT column_name, data_type, is_identity FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = $1`,
      [name],
    );
    const pgCols = new Map<string, { type: string; identity: boolean }>();
    for (const row of r.rows as Array<{ column_name: string; data_type: string; is_identity: string }>)
      pgCols.set(row.column_name, { type: row.data_type, identity: row.is_identity === "YES" });
    const columns = info.map((c) => c.name).filter((c) => pgCols.has(c));
    const sql = (
      src.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) as {
        sql: string;
      }
    ).sql;
    const withoutRowid = /WITHOUT\s+ROWID\s*$/i.test(sql.trim());
    const pk = info
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    plans.push({
      name,
      columns,
      convs: columns.map((c) => convOf(pgCols.get(c)!.type)),
      key: withoutRowid ? pk : ["rowid"],
      rowid: !withoutRowid,
      identity: [...pgCols].filter(([, v]) => v.identity).map(([k]) => k),
    });
  }
  return plans;
}

/** a SQLite value (safe integers: bigint) as the PostgreSQL parameter for its column */
export function convert(v: unknown, conv: Conv): unknown {
  if (v === null || v === undefined) return null;
  switch (conv) {
    case "bool":
      return Number(v) !== 0;
    case "bytes":
      return Buffer.isBuffer(v) ? v : Buffer.from(String(v), "utf8");
    case "int":
      return typeof v === "bigint" ? v.toString() : v;
    default:
      if (typeof v === "bigint") return v.toString();
      return Buffer.isBuffer(v) ? v.toString("utf8") : v;
  }
}

/**
 * The other direction (a PostgreSQL value as the SQLite column's: the metadata copy of a backup
 * of a PostgreSQL store, src/backup/snapshot-pg.ts): BOOLEAN → 0/1, BIGINT (text from node-postgres)
 * → a number, or a bigint past 2^53.
 */
export function convertBack(v: unknown, conv: Conv): unknown {
  if (v === null || v === undefined) return null;
  switch (conv) {
    case "bool":
      return v === true || v === "t" ? 1 : 0;
    case "bytes":
      return Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
    case "int": {
      if (typeof v === "number") return v;
      const n = BigInt(v as string);
      return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
    }
    default:
      if (typeof v === "string" || typeof v === "number" || Buffer.isBuffer(v)) return v;
      if (v instanceof Date) return v.toISOString();
      return JSON.stringify(v);
  }
}

/** cursor values (bigints included) as the JSON kept in the progress table, and back */
export function encodeCursor(vals: unknown[]): string {
  return JSON.stringify(vals.map((v) => (typeof v === "bigint" ? { big: v.toString() } : v)));
}

export function decodeCursor(s: string): unknown[] {
  return (JSON.parse(s) as unknown[]).map((v) =>
    v !== null && typeof v === "object" && "big" in v ? BigInt((v as { big: string }).big) : v,
  );
}
