/**
 * The db port's operations for IMAP METADATA entries (RFC 5464; re-exported by db/port.ts, whose
 * rules apply). An entry belongs to an account and either a mailbox (deleted with it, kept by a
 * rename since it keys by mailbox id) or the server (mailboxId null). Names are stored lower-cased
 * (RFC 5464 §3.2: entry names compare case-insensitively); values are octets.
 */
import type { Maybe } from "./port.ts";

export interface MetadataRow {
  /** the entry name, lower-cased, e.g. "/private/comment" */
  name: string;
  value: Uint8Array;
}

export interface MetadataRead {
  /**
   * The entry `name` (exact) and its descendants (names starting with `name + "/"`) of the
   * mailbox (null = server entries), ordered by name. `descendants` false = the exact entry only.
   */
  tree(accountId: number, mailboxId: number | null, name: string, descendants: boolean): Maybe<MetadataRow[]>;
  /** how many entries the mailbox (null = server) has */
  count(accountId: number, mailboxId: number | null): Maybe<number>;
}

export interface MetadataWrite extends MetadataRead {
  /** sets (inserts or replaces) the entry; returns true if it did not exist before */
  put(accountId: number, mailboxId: number | null, name: string, value: Uint8Array): Maybe<boolean>;
  /** removes the entry; false = there was none */
  remove(accountId: number, mailboxId: number | null, name: string): Maybe<boolean>;
}
