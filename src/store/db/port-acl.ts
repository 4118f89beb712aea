/**
 * The db port's operations for mailbox ACLs (RFC 4314; re-exported by db/port.ts, whose rules
 * apply). A row grants `rights` on a mailbox to an account (granteeId) or to anyone (granteeId
 * null); it goes with the mailbox (DELETE) and with the grantee account (account deletion).
 */
import type { Maybe } from "./port.ts";

export interface AclRow {
  mailboxId: number;
  /** the mailbox's account */
  ownerId: number;
  /** null = anyone */
  granteeId: number | null;
  rights: string;
}

export interface AclRead {
  /** the rows of one mailbox, grantee accounts first by id, then anyone */
  ofMailbox(mailboxId: number): Maybe<AclRow[]>;
  /** the rows naming this account or anyone, on mailboxes of other accounts */
  forGrantee(accountId: number): Maybe<AclRow[]>;
}

export interface AclWrite extends AclRead {
  /** inserts or replaces the row of (mailboxId, granteeId) */
  put(row: AclRow): Maybe<void>;
  /** removes the row; false = there was none */
  remove(mailboxId: number, granteeId: number | null): Maybe<boolean>;
}
