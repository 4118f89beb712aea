/**
 * The db port's operations for the import ledger (re-exported by db/port.ts, whose rules apply):
 * one row per message `postkontor import` stored, keyed by (account, source, item key). The row is
 * written in the transaction of the append, so a message is in the ledger iff it was stored.
 */
import type { Maybe } from "./port.ts";

export interface ImportsRead {
  /** the keys of `keys` already in the ledger of this account and source */
  known(accountId: number, source: string, keys: readonly string[]): Maybe<string[]>;
}

export interface ImportsWrite extends ImportsRead {
  record(
    accountId: number,
    source: string,
    key: string,
    mailboxId: number,
    uid: number,
    at: number,
  ): Maybe<void>;
}
