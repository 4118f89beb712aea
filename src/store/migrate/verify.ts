/**
 * The check at the end of `postkontor migrate` (index.ts): row counts of every copied table, and
 * per account a SHA-256 over what an IMAP client's cache depends on — each mailbox's name,
 * UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, and each message's mailbox, uid, flags, modseq, internal
 * date and content hash — computed the same way on the SQLite snapshot and on PostgreSQL. On the
 * PostgreSQL side a message's content counts only if blob_data holds it with the right size, so
 * a missing or truncated blob is a mismatch too.
 */
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import type pg from "pg";
import type { TablePlan } from "./plan.ts";

export interface VerifyResult {
  tables: Array<{ table: string; source: number; target: number }>;
  accounts: number;
  /** human-readable problems; empty = verified */
  problems: string[];
}

const MAILBOXES = `SELECT id, name, uidvalidity, uidnext, highestmodseq FROM mailbox WHERE account_id = $1 ORDER BY id`;

function messagesSql(pg: boolean): string {
  // the content counts when present with the size the blob row records
  const content = pg ? "CASE WHEN d.size = b.size THEN b.sha256 ELSE 'missing' END" : "b.sha256";
  return `SELECT m.mailbox_id, m.uid, m.flags, m.modseq, m.internal_date, ${content} AS content
    FROM message m JOIN blob b ON b.id = m.blob_id ${pg ? "LEFT JOIN blob_data d ON d.id = b.sha256" : ""}
    WHERE m.account_id = $1 ORDER BY m.mailbox_id, m.uid`;
}

function hashRows(rows: unknown[][]): string {
  const h = createHash("sha256");
  for (const r of rows) h.update(`${r.map((v) => String(v)).join("\u0001")}\n`);
  return h.digest("hex");
}

const lite = (sql: string) => sql.replaceAll("$1", "?");

export async function verifyMigration(
  src: Database.Database,
  dst: pg.Pool,
  plans: TablePlan[],
): Promise<VerifyResult> {
  const problems: string[] = [];
  const tables: VerifyResult["tables"] = [];
  for (const p of plans) {
    const s = Number((src.prepare(`SELECT COUNT(*) AS n FROM "${p.name}"`).get() as { n: number }).n);
    const r = await dst.query(`SELECT COUNT(*)::text AS n FROM "${p.name}"`);
    const t = Number((r.rows[0] as { n: string }).n);
    tables.push({ table: p.name, source: s, target: t });
    if (s !== t) problems.push(`table ${p.name}: ${s} rows in SQLite, ${t} in PostgreSQL`);
  }
  const accounts = src.prepare("SELECT id, address FROM account ORDER BY id").all() as Array<{
    id: number;
    address: string;
  }>;
  const mboxLite = src.prepare(lite(MAILBOXES)).raw(true).safeIntegers(true);
  const msgLite = src
    .prepare(lite(messagesSql(false)))
    .raw(true)
    .safeIntegers(true);
  for (const a of accounts) {
    const sh = hashRows([...mboxLite.all(a.id), ...msgLite.all(a.id)] as unknown[][]);
    const m = await dst.query({ text: MAILBOXES, values: [a.id], rowMode: "array" });
    const g = await dst.query({ text: messagesSql(true), values: [a.id], rowMode: "array" });
    const th = hashRows([...m.rows, ...g.rows] as unknown[][]);
    if (sh !== th)
      problems.push(`account ${a.address}: content hash differs (${sh.slice(0, 12)} ≠ ${th.slice(0, 12)})`);
  }
  return { tables, accounts: accounts.length, problems };
}
