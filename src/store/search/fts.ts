/**
 * The SQLite adapter of the search port (port.ts). Text search on SQLite FTS5 (trigram tokenizer, case-insensitive): IMAP SEARCH TEXT / BODY /
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
import type { SqliteHandle } from "../db/sqlite/sqlite.ts";
import type { TextQuery } from "../types.ts";
import type { SearchIndex, SearchScope, SearchText } from "./port.ts";

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

/**
 * A blob that no message references any more (just marked for the sweeper) leaves the indexer's
 * queue: indexing its text (~0.5 ms) would only make the sweep queue the entry's delete, which
 * costs more again. It waits in fts_parked — never searched, as no message holds it — until the
 * sweep removes it (Fts5Search.removeSync) or a new message references the blob (unparkSync).
 * Inside the marking transaction.
 */
export function parkQueuedSync(stmt: Stmt, blobRef: number): void {
  if (stmt("DELETE FROM fts_pending WHERE id = ?").run(blobRef).changes > 0)
    stmt("INSERT OR IGNORE INTO fts_parked (id) VALUES (?)").run(blobRef);
}

/** A parked blob (parkQueuedSync) referenced again: its text goes back into the indexer's queue. */
export function unparkSync(stmt: Stmt, blobRef: number): void {
  if (stmt("DELETE FROM fts_parked WHERE id = ?").run(blobRef).changes > 0)
    stmt("INSERT OR IGNORE INTO fts_pending (id) VALUES (?)").run(blobRef);
}

/** an index entry whose blob was removed (queued in fts_dead, its rowid maybe reused since) never matches */
const LIVE = "NOT EXISTS (SELECT 1 FROM fts_dead d WHERE d.id = m.blob_id)";

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
           WHERE m.mailbox_id = ? AND fts MATCH ? AND ${LIVE} ORDER BY m.uid`,
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
         WHERE m.mailbox_id = ? AND fts MATCH ? AND ${LIVE} ORDER BY m.uid`,
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

/**
 * The port over the store's own SQLite connection. The async methods take the connection (or a
 * write transaction) themselves; the *Sync methods are for the SQLite store, which calls them
 * inside its own transactions on the same connection (the index changes commit with the rows
 * that reference them).
 */
export class Fts5Search implements SearchIndex {
  readonly #h: SqliteHandle;

  constructor(h: SqliteHandle) {
    this.#h = h;
    registerSearchFunctions(h.raw);
  }

  index(blobRef: number, text: SearchText): Promise<void> {
    return this.#h.transaction(() => this.indexSync(blobRef, text));
  }

  remove(blobRef: number): Promise<void> {
    return this.#h.transaction(() => this.removeSync(blobRef));
  }

  query(scope: SearchScope, q: TextQuery): Promise<number[]> {
    return this.#h.withConnection(() => this.querySync(scope, q));
  }

  /**
   * Stores the text and queues the blob for the trigram index (indexPendingSync): the index entry
   * is over half of an append's WAL pages, so APPEND commits without it; queries scan the queue.
   */
  indexSync(blobRef: number, text: SearchText): void {
    // a blob id reused after a sweep (SQLite hands out the highest deleted rowid again): its old
    // index entry goes now, before the new text can be indexed under the same rowid
    this.#dropDeadSync(blobRef);
    this.#h
      .stmt("INSERT INTO fts_text (id, headers, body) VALUES (?, ?, ?)")
      .run(blobRef, text.headers, text.body);
    this.#h.stmt("INSERT INTO fts_pending (id) VALUES (?)").run(blobRef);
  }

  /**
   * The blob's text leaves the search. A text still queued had no index entry; an indexed one's
   * entry is queued in fts_dead (searches skip it from now on) and deleted by
   * removeDeadSync in the indexer's idle time: the delete costs more than indexing did, and the
   * sweeper that calls this holds the write lock on the event loop of a process serving mail.
   */
  removeSync(blobRef: number): void {
    const queued =
      this.#h.stmt("DELETE FROM fts_pending WHERE id = ?").run(blobRef).changes > 0 ||
      this.#h.stmt("DELETE FROM fts_parked WHERE id = ?").run(blobRef).changes > 0;
    this.#h.stmt("DELETE FROM fts_text WHERE id = ?").run(blobRef);
    if (!queued)
      this.#h.stmt("INSERT OR IGNORE INTO fts_dead (id, at) VALUES (?, ?)").run(blobRef, Date.now());
  }

  #dropDeadSync(blobRef: number): void {
    if (this.#h.stmt("DELETE FROM fts_dead WHERE id = ?").run(blobRef).changes > 0)
      this.#h.stmt("DELETE FROM fts WHERE rowid = ?").run(blobRef);
  }

  /** Deletes up to `max` queued index entries of removed blobs; true if more may be queued. */
  removeDeadSync(max: number): boolean {
    const ids = this.#h.stmt("SELECT id FROM fts_dead ORDER BY id LIMIT ?").raw(true).all(max) as unknown[][];
    for (const r of ids) this.#dropDeadSync(Number(r[0]));
    return ids.length === max;
  }

  hasDeadSync(): boolean {
    return this.#h.stmt("SELECT 1 FROM fts_dead LIMIT 1").raw(true).get() !== undefined;
  }

  /** when (ms) the oldest index entry still to delete was queued, null when none */
  oldestDeadAtSync(): number | null {
    const r = this.#h.stmt("SELECT min(at) FROM fts_dead").raw(true).get() as [number | null] | undefined;
    return r?.[0] ?? null;
  }

  querySync(scope: SearchScope, q: TextQuery): number[] {
    return searchFts((text) => this.#h.stmt(text), scope.mailboxId, q);
  }

  hasPendingSync(): boolean {
    return this.#h.stmt("SELECT 1 FROM fts_pending LIMIT 1").raw(true).get() !== undefined;
  }

  /** creation time (ms) of the oldest blob still queued, null when none */
  oldestPendingAtSync(): number | null {
    const r = this.#h
      .stmt("SELECT b.created_at FROM fts_pending p JOIN blob b ON b.id = p.id ORDER BY p.id LIMIT 1")
      .raw(true)
      .get() as [number] | undefined;
    return r === undefined ? null : Number(r[0]);
  }

  /**
   * Moves queued texts into the trigram index, up to maxRows and maxChars of text (at least one);
   * inside the caller's write transaction. True if more may be queued.
   */
  indexPendingSync(maxRows: number, maxChars: number): boolean {
    const ids = this.#h
      .stmt(
        `SELECT p.id, COALESCE(length(t.headers) + length(t.body), -1) FROM fts_pending p
           LEFT JOIN fts_text t ON t.id = p.id ORDER BY p.id LIMIT ?`,
      )
      .raw(true)
      .all(maxRows) as unknown[][];
    const text = this.#h.stmt("SELECT headers, body FROM fts_text WHERE id = ?").raw(true);
    const insert = this.#h.stmt("INSERT INTO fts (rowid, headers, body) VALUES (?, ?, ?)");
    const dequeue = this.#h.stmt("DELETE FROM fts_pending WHERE id = ?");
    let chars = 0;
    let done = 0;
    for (const r of ids) {
      const id = Number(r[0]);
      const len = Number(r[1]);
      if (done > 0 && chars + len > maxChars) break;
      const t = len >= 0 ? (text.get(id) as [string, string] | undefined) : undefined;
      if (t) insert.run(id, t[0], t[1]);
      dequeue.run(id);
      chars += Math.max(0, len);
      done++;
    }
    return done < ids.length || ids.length === maxRows;
  }
}
