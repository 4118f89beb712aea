/**
 * Mailbox access control lists (RFC 4314): an owner grants rights on one of its mailboxes to
 * another account or to `anyone` (every authenticated account). The owner always has every right
 * and is never listed. Rights are the RFC 4314 §2.1 letters `lrswipkxtea` in canonical order.
 */
import type { Id, Mailbox } from "./model.ts";

/** every right, in the order RFC 4314 §2.1 lists them (and the order every rights string uses) */
export const ALL_RIGHTS = "lrswipkxtea";

/** one ACL entry: grantee = an account's address, or "anyone" */
export interface AclEntry {
  grantee: string;
  rights: string;
}

/** a mailbox another account shared with this one (directly or through "anyone") */
export interface SharedMailbox {
  mailbox: Mailbox;
  ownerAddress: string;
  /** the union of the rights granted to the account and to "anyone" */
  rights: string;
}

export interface AclStore {
  /** the mailbox's entries (the owner not included), ordered by grantee */
  getAcl(mailboxId: Id): Promise<AclEntry[]>;
  /**
   * Sets the grantee's rights on the mailbox (canonical rights string; "" removes the entry).
   * NOTFOUND when the grantee is neither an account nor "anyone"; CANNOT for the owner itself
   * (RFC 4314 §2: the owner keeps every right); NONEXISTENT when the mailbox is gone.
   */
  setAcl(mailboxId: Id, grantee: string, rights: string): Promise<void>;
  /** the rights accountId has on the mailbox: ALL_RIGHTS for the owner, "" for none */
  rightsOf(accountId: Id, mailbox: Pick<Mailbox, "id" | "accountId">): Promise<string>;
  /** mailboxes of other accounts on which accountId (or anyone) has any right, by owner and name */
  sharedWith(accountId: Id): Promise<SharedMailbox[]>;
}

/** the grantee identifier every authenticated account matches (RFC 4314 §2) */
export const ANYONE = "anyone";

/**
 * Canonical form of a rights string: each RFC 4314 §2.1 letter once, in ALL_RIGHTS order. The
 * obsolete RFC 2086 rights are expanded (RFC 4314 §2.1.1, RIGHTS=texk): "c" = "k" + "x",
 * "d" = "t" + "e". null when the text holds any other character (the caller answers BAD).
 */
export function canonicalRights(text: string): string | null {
  const have = new Set<string>();
  for (const ch of text) {
    if (ch === "c") {
      have.add("k");
      have.add("x");
    } else if (ch === "d") {
      have.add("t");
      have.add("e");
    } else if (ALL_RIGHTS.includes(ch)) {
      have.add(ch);
    } else {
      return null;
    }
  }
  let out = "";
  for (const r of ALL_RIGHTS) if (have.has(r)) out += r;
  return out;
}

/**
 * A canonical rights string as RFC 4314 §2.1.1 asks servers to show it to clients that may only
 * know RFC 2086: "c" added when "k" or "x" is present, "d" when "t" or "e" is.
 */
export function rightsForDisplay(rights: string): string {
  let out = rights;
  if (rights.includes("k") || rights.includes("x")) out += "c";
  if (rights.includes("t") || rights.includes("e")) out += "d";
  return out;
}
