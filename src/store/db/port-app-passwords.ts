/**
 * The db port's operations for app passwords (re-exported by db/port.ts, whose rules apply): named
 * per-account passwords, stored as a hash of the generated secret, deleted with the account.
 */
import type { Maybe } from "./port.ts";

export interface AppPasswordRow {
  id: number;
  accountId: number;
  name: string;
  /** hex SHA-256 of the secret (domain/app-passwords.ts) */
  hash: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** protocol of the last use ("imap", "pop3", "smtp", "http") */
  lastUsedBy: string | null;
}

export interface AppPasswordsRead {
  /** the account's app passwords, ordered by name */
  list(accountId: number): Maybe<AppPasswordRow[]>;
  /** the account's app password with this hash, or null */
  byHash(accountId: number, hash: string): Maybe<AppPasswordRow | null>;
}

export interface AppPasswordsWrite extends AppPasswordsRead {
  /** throws DbConflict when the account has one of this name */
  insert(r: Omit<AppPasswordRow, "id" | "lastUsedAt" | "lastUsedBy">): Maybe<number>;
  /** false = the account has none of this name */
  delete(accountId: number, name: string): Maybe<boolean>;
  /** records a use */
  touch(id: number, at: number, by: string): Maybe<void>;
}
