/**
 * The db port's operations for vacation responses (re-exported by db/port.ts, whose rules apply):
 * one settings row per account (RFC 8621 §8) and the "replied to" record of the once-per-sender
 * rule (RFC 3834 §2), both deleted with the account.
 */
import type { Maybe } from "./port.ts";

export interface VacationRow {
  enabled: boolean;
  fromDate: number | null;
  toDate: number | null;
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
}

export interface VacationRead {
  /** the account's settings row, or null (never set) */
  get(accountId: number): Maybe<VacationRow | null>;
}

export interface VacationWrite extends VacationRead {
  /** writes (inserts or replaces) the account's settings */
  put(accountId: number, row: VacationRow, at: number): Maybe<void>;
  /** the time of the last reply to sender (lower-case address), or null */
  lastReply(accountId: number, sender: string): Maybe<number | null>;
  /** records a reply to sender at `at` (replacing an older record) */
  recordReply(accountId: number, sender: string, at: number): Maybe<void>;
  /** forgets every reply of the account */
  clearReplies(accountId: number): Maybe<void>;
  /** deletes up to `limit` reply records older than `before`; returns how many */
  pruneReplies(before: number, limit: number): Maybe<number>;
}
