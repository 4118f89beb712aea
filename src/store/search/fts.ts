/**
 * Text search on SQLite FTS5 (trigram tokenizer, case-insensitive): IMAP SEARCH TEXT / BODY /
 * HEADER (RFC 9051 §6.4.4: substring, case-insensitive) and JMAP text filters.
 * The index is keyed by blob id, so copies of a message share one entry; every query is
 * restricted to the uids of one mailbox. The FTS5 table is contentless with contentless_delete
 * (deleting an entry does not re-tokenize the text); the text itself is in fts_text (same id).
 * Texts queued in fts_pending (appended, not indexed yet) are scanned like short needles, so
 * results never depend on the background indexer's progress.
 * - needles of 3+ characters: trigram MATCH on a quoted phrase (exact substring);
 * - shorter needles (no trigram to look up): scan of the mailbox's indexed text with a
 *   case-insensitive contains function;
 * - HEADER name value: candidates from the headers column, then each candidate's "name: value"
 *   lines are checked so that the match lies in that header's value.
 */
import type Database from "better-sqlite3";
import type { TextQuery } from "../types.ts";

export function registerSearchFunctions(db: Database.Database): void {
  db.function("pk_icontains", { deterministic: true }, (hay: unknown, needle: unknown) => {
    if (typeof hay !== "string" || typeof needle !== "string") return 0;
    return hay.toLowerCase().includes(needle.toLowerCase()) ? 1 : 0;
  });
}

/** FTS5 string literal: double quotes inside are doubled (FTS5 query syntax, "strings"). */
export function ftsPhrase(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

type Stmt = (text: string) => Database.Statement;

function uidsOf(rows: unknown[][]): number[] {
  return rows.map((r) => Number(r[0]));
}

/**
 * Does a `name: value` line of the indexed header text hold `value` (case-insensitive)? The text
 * has the field lines, then an empty line and the address-parsed From/To/Cc/Bcc lines
 * (mime/searchText): `address` looks at those, otherwise the field lines are searched. Texts
 * indexed before the address lines existed have no empty line: there `address` falls back to the
 * field lines.
 */
export function headerLineMatches(headers: string, name: string, value: string, address = false): boolean {
  const want = name.toLowerCase();
  const v = value.toLowerCase();
  const lines = headers.split(/\r?\n/);
  const blank = lines.indexOf("");
  const hasAddr = blank !== -1 && blank < lines.length - 1 && lines[blank + 1] !== "";
  const from = address && hasAddr ? blank + 1 : 0;
  const to = !address && hasAddr ? blank : lines.length;
  for (let i = from; i < to; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    if (line.slice(0, colon).trim().toLowerCase() !== want) continue;
    if (
      line
        .slice(colon + 1)
        .toLowerCase()
        .includes(v)
    )
      return true;
  }
  return false;
}

export function searchFts(stmt: Stmt, mailboxId: number, q: TextQuery): number[] {
  const value = q.value;
  const long = charLength(value) >= 3;
  if (q.field === "header") {
    const name = (q.header ?? "").toLowerCase();
    if (name.length === 0) return [];
    const rows = long
      ? [
          ...(stmt(
            `SELECT m.uid, t.headers FROM message m JOIN fts f ON f.rowid = m.blob_id
           JOIN fts_text t ON t.id = m.blob_id
           WHERE m.mailbox_id = ? AND fts MATCH ? ORDER BY m.uid`,
          )
            .raw()
            .all(mailboxId, `{headers} : ${ftsPhrase(value)}`) as unknown[][]),
          // not indexed yet: every queued candidate, checked line by line below
          ...(stmt(
            `SELECT m.uid, t.headers FROM fts_pending p JOIN message m ON m.blob_id = p.id
           JOIN fts_text t ON t.id = p.id WHERE m.mailbox_id = ?`,
          )
            .raw()
            .all(mailboxId) as unknown[][]),
        ].sort((a, b) => Number(a[0]) - Number(b[0]))
      : (stmt(
          `SELECT m.uid, t.headers FROM message m JOIN fts_text t ON t.id = m.blob_id
           WHERE m.mailbox_id = ? ORDER BY m.uid`,
        )
          .raw()
          .all(mailboxId) as unknown[][]);
    return rows
      .filter((r) => headerLineMatches(String(r[1] ?? ""), name, value, q.address === true))
      .map((r) => Number(r[0]));
  }
  if (value.length === 0) {
    return uidsOf(
      stmt("SELECT uid FROM message WHERE mailbox_id = ? ORDER BY uid").raw().all(mailboxId) as unknown[][],
    );
  }
  const cond =
    q.field === "body"
      ? "pk_icontains(t.body, ?)"
      : "(pk_icontains(t.headers, ?) OR pk_icontains(t.body, ?))";
  const args = q.field === "body" ? [value] : [value, value];
  if (long) {
    const match = q.field === "body" ? `{body} : ${ftsPhrase(value)}` : ftsPhrase(value);
    const indexed = uidsOf(
      stmt(
        `SELECT m.uid FROM message m JOIN fts f ON f.rowid = m.blob_id
         WHERE m.mailbox_id = ? AND fts MATCH ? ORDER BY m.uid`,
      )
        .raw()
        .all(mailboxId, match) as unknown[][],
    );
    // texts queued for the indexer are scanned (usually none or a few)
    const queued = uidsOf(
      stmt(
        `SELECT m.uid FROM fts_pending p JOIN message m ON m.blob_id = p.id
         JOIN fts_text t ON t.id = p.id WHERE m.mailbox_id = ? AND ${cond}`,
      )
        .raw()
        .all(mailboxId, ...args) as unknown[][],
    );
    if (queued.length === 0) return indexed;
    return [...new Set([...indexed, ...queued])].sort((a, b) => a - b);
  }
  return uidsOf(
    stmt(
      `SELECT m.uid FROM message m JOIN fts_text t ON t.id = m.blob_id
       WHERE m.mailbox_id = ? AND ${cond} ORDER BY m.uid`,
    )
      .raw()
      .all(mailboxId, ...args) as unknown[][],
  );
}
