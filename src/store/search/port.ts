/**
 * The search port: the text index behind IMAP SEARCH TEXT/BODY/HEADER (RFC 9051 §6.4.4:
 * substring, case-insensitive) and JMAP text filters. The mail logic indexes, removes and
 * queries only through this interface, never through an engine's query language; adapters:
 * fts.ts (SQLite FTS5 trigram, inside the SQLite database), postgres.ts (pg_trgm substring
 * search, a tsvector word index; test/pg/search.test.ts checks it answers as fts.ts does).
 * contract.ts holds the tests every adapter runs.
 *
 * Contract:
 * - Entries are keyed by the blob (blobRef: the backend's numeric blob row id), so copies of a
 *   message share one entry.
 * - A text is findable as soon as index() resolves (an adapter may build its index later, but
 *   must then scan what is still queued: results never depend on an indexer's progress).
 * - query() answers the uids of the messages in `scope` whose text matches, ascending; the
 *   value "" matches every message of the scope.
 */
import type { Id, TextQuery } from "../types.ts";

/** decoded text of one message, as computed at append (mime searchText) */
export interface SearchText {
  headers: string;
  body: string;
}

export interface SearchScope {
  mailboxId: Id;
}

export interface SearchIndex {
  index(blobRef: number, text: SearchText): Promise<void>;
  remove(blobRef: number): Promise<void>;
  query(scope: SearchScope, q: TextQuery): Promise<number[]>;
}
