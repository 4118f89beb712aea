/**
 * The db port's operations for the undelete window (re-exported by db/port.ts, whose rules apply):
 * expunged messages kept, outside the quota, for `store.undelete_window`; the adapter's sweeper
 * keeps their blobs while a row references them and purges rows past the window.
 */
import type { Maybe } from "./port.ts";

export interface DeletedRow {
  id: number;
  mailboxId: number;
  /** the folder's name when the message was expunged */
  mailboxName: string;
  sha256: string;
  prefix: Uint8Array | null;
  internalDate: number;
  /** flag text as stored (flags.ts) */
  flags: string;
  expungedAt: number;
}

export interface DeletedRead {
  /** the account's kept messages expunged at or after `since`, optionally of one folder name, oldest first */
  list(accountId: number, since: number, mailboxName: string | null, limit: number): Maybe<DeletedRow[]>;
}

export interface DeletedWrite extends DeletedRead {
  /** keeps these message rows (called before they are deleted) */
  keep(accountId: number, mailboxId: number, uids: readonly number[], at: number): Maybe<void>;
  remove(ids: readonly number[]): Maybe<void>;
}
