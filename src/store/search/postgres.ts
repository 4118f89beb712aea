/**
 * The PostgreSQL adapter of the search port (port.ts): IMAP SEARCH TEXT/BODY/HEADER (RFC 9051
 * §6.4.4: substring, case-insensitive) with the same answers as the SQLite adapter (fts.ts).
 *
 * - The text of a blob is stored lower-cased in search_text (pg/edge-schema.ts) by JavaScript's
 *   Unicode case mapping, the same folding fts.ts compares with, so results do not depend on the
 *   database's locale (a cluster made with the C locale lower-cases only ASCII).
 * - Substring: `LIKE '%needle%'` on the lower-cased columns with the needle's `%`, `_` and `\`
 *   escaped; the pg_trgm GIN indexes narrow the candidates for needles of 3+ characters and
 *   PostgreSQL rechecks every candidate, so the index only changes speed, never the answer.
 *   Shorter needles scan the mailbox's texts (as fts.ts does).
 * - HEADER name value: candidates whose header text holds the value, then the same line check as
 *   fts.ts (headerLineMatches) so that the match lies in that header's value.
 * - Scope: the message table of the db adapter, assumed to have SQLite's columns (message:
 *   mailbox_id, uid, blob_id = the blob row id used as blobRef).
 * - Word search (matchWords) uses the tsvector index ('simple' configuration): for JMAP's text
 *   filters later; IMAP never uses it (words are not substrings).
 * - index() is immediate (no pending queue): the text is findable when it resolves. The adapter
 *   runs on a pool or on one client, so a db adapter can index inside its own write transaction
 *   (the text then commits with the rows that reference it, as SQLite's indexSync does).
 */
import type pg from "pg";
import type { PgStatements } from "../blob/postgres.ts";
import { WORDS_EXPR } from "../pg/edge-schema.ts";
import type { TextQuery } from "../types.ts";
import { charLength, headerLineMatches } from "./fts.ts";
import type { SearchIndex, SearchScope, SearchText } from "./port.ts";

/** `%needle%` for LIKE: the needle's wildcard and escape characters are literal (PostgreSQL's default escape `\`) */
export function likeContains(needle: string): string {
  let out = "%";
  for (const ch of needle) out += ch === "%" || ch === "_" || ch === "\\" ? `\\${ch}` : ch;
  return `${out}%`;
}

/** PostgreSQL text cannot hold NUL: it becomes a space (one character for one) */
function pgText(s: string): string {
  return s.includes("\u0000") ? s.replaceAll("\u0000", " ") : s;
}

function uidsOf(rows: unknown[][]): number[] {
  return rows.map((r) => Number(r[0]));
}

/** a pool or one client (a transaction in progress) */
export type PgQueryable = pg.Pool | pg.PoolClient | pg.Client;

export class PgSearch implements SearchIndex {
  readonly #pool: PgQueryable;

  constructor(pool: PgQueryable) {
    this.#pool = pool;
  }

  async index(blobRef: number, text: SearchText): Promise<void> {
    await this.indexIn(this.#pool, blobRef, text);
  }

  /** index() on the caller's connection: inside a db write transaction the text commits with its rows */
  async indexIn(c: PgStatements, blobRef: number, text: SearchText): Promise<void> {
    const sql = `INSERT INTO search_text (blob_ref, headers, body) VALUES ($1, $2, $3)
       ON CONFLICT (blob_ref) DO UPDATE SET headers = EXCLUDED.headers, body = EXCLUDED.body`;
    const values = [blobRef, pgText(text.headers.toLowerCase()), pgText(text.body.toLowerCase())];
    // in a db write transaction: sent with its next statement (one round trip fewer)
    if (c.defer) c.defer("search_text", sql, values);
    else await c.query(sql, values);
  }

  async remove(blobRef: number): Promise<void> {
    await this.removeIn(this.#pool, blobRef);
  }

  /** remove() on the caller's connection (the blob sweeper: with the blob's row) */
  async removeIn(c: PgStatements, blobRef: number): Promise<void> {
    await c.query("DELETE FROM search_text WHERE blob_ref = $1", [blobRef]);
  }

  async #rows(text: string, values: unknown[]): Promise<unknown[][]> {
    return (await this.#pool.query({ text, values, rowMode: "array" })).rows as unknown[][];
  }

  async query(scope: SearchScope, q: TextQuery): Promise<number[]> {
    const mailboxId = scope.mailboxId;
    const value = pgText(q.value.toLowerCase());
    const long = charLength(value) >= 3;
    // short needles: no trigram to look up, the mailbox's rows are the candidates
    const scoped = long
      ? "FROM message m JOIN search_text t ON t.blob_ref = m.blob_id WHERE m.mailbox_id = $1"
      : `FROM (SELECT uid, blob_id FROM message WHERE mailbox_id = $1 OFFSET 0) m
         JOIN search_text t ON t.blob_ref = m.blob_id WHERE true`;
    if (q.field === "header") {
      const name = (q.header ?? "").toLowerCase();
      if (name.length === 0) return [];
      const rows =
        value.length === 0
          ? await this.#rows(`SELECT m.uid, t.headers ${scoped} ORDER BY m.uid`, [mailboxId])
          : await this.#rows(`SELECT m.uid, t.headers ${scoped} AND t.headers LIKE $2 ORDER BY m.uid`, [
              mailboxId,
              likeContains(value),
            ]);
      return rows
        .filter((r) => headerLineMatches(String(r[1] ?? ""), name, value, q.address === true))
        .map((r) => Number(r[0]));
    }
    if (value.length === 0) {
      return uidsOf(
        await this.#rows("SELECT uid FROM message WHERE mailbox_id = $1 ORDER BY uid", [mailboxId]),
      );
    }
    const cond = q.field === "body" ? "t.body LIKE $2" : "(t.headers LIKE $2 OR t.body LIKE $2)";
    return uidsOf(
      await this.#rows(`SELECT m.uid ${scoped} AND ${cond} ORDER BY m.uid`, [mailboxId, likeContains(value)]),
    );
  }

  /**
   * Uids of the scope's messages whose text holds every word of `words` (PostgreSQL full-text
   * search, 'simple' configuration: case-folded words, no stemming). Not part of the port: word
   * search for JMAP's text filters.
   */
  async matchWords(scope: SearchScope, words: string): Promise<number[]> {
    return uidsOf(
      await this.#rows(
        `SELECT m.uid FROM message m JOIN search_text t ON t.blob_ref = m.blob_id
         WHERE m.mailbox_id = $1 AND ${WORDS_EXPR} @@ plainto_tsquery('simple', $2) ORDER BY m.uid`,
        [scope.mailboxId, pgText(words.toLowerCase())],
      ),
    );
  }
}
