/**
 * The db port's operations for webmail sessions (re-exported by db/port.ts, whose rules apply): one
 * row per logged-in browser, keyed by the SHA-256 of the cookie value (the value itself is never
 * stored), deleted with the account, at logout, and by the pruning job once past its expiry.
 */
import type { Maybe } from "./port.ts";

export interface WebmailSessionRow {
  /** hex SHA-256 of the cookie value (domain/webmail-sessions.ts) */
  id: string;
  accountId: number;
  /** the account's credentials version when the session was made (a password change ends it) */
  credentialsVersion: number;
  /** the CSRF token of the session (random, base64url) */
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
  /** min(created + lifetime, last seen + idle timeout); past it the session is dead */
  expiresAt: number;
}

export interface WebmailSessionsRead {
  get(id: string): Maybe<WebmailSessionRow | null>;
}

export interface WebmailSessionsWrite extends WebmailSessionsRead {
  insert(r: WebmailSessionRow): Maybe<void>;
  /** records a use: last seen and the new expiry */
  touch(id: string, lastSeenAt: number, expiresAt: number): Maybe<void>;
  /** false = no such session */
  delete(id: string): Maybe<boolean>;
  /** deletes the account's sessions except `keep` (null: all of them); how many */
  deleteOfAccount(accountId: number, keep: string | null): Maybe<number>;
  /** deletes the sessions whose expiry is before `now`; how many */
  deleteExpired(now: number): Maybe<number>;
}
