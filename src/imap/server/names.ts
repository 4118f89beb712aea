/**
 * Mailbox names on the wire. Store names are UTF-8 with "/" as delimiter. Without UTF-8 enabled
 * they travel in modified UTF-7 (RFC 3501 §5.1.3); with IMAP4rev2/UTF8=ACCEPT as UTF-8
 * (RFC 9051 §5.1, RFC 6855 §3). INBOX is case-insensitive (RFC 9051 §5.1).
 */
import { mutf7Decode, mutf7Encode } from "../protocol/mutf7.ts";
import { stringText } from "../protocol/response.ts";
import { no } from "./errors.ts";
import type { Session } from "./session.ts";

export const DELIM = "/";

function isInbox(name: string): boolean {
  return name.length === 5 && name.toUpperCase() === "INBOX";
}

/** client-supplied mailbox name → store name (INBOX canonical, trailing delimiter removed) */
export function mailboxIn(s: Session, raw: string): string {
  let name = raw;
  if (!s.utf8) {
    const dec = mutf7Decode(raw);
    // RFC 3501 §5.1.3 / RFC 9051 §5.1.3: the command is well-formed, the name is not a valid
    // (canonical) modified UTF-7 name — no such mailbox can exist or be created: NO, not BAD
    if (dec === null) throw no("CANNOT", "Invalid modified UTF-7 mailbox name");
    name = dec;
  }
  return canonicalMailbox(name);
}

/** a UTF-8 mailbox name in stored form: INBOX upper-cased, no trailing delimiter */
export function canonicalMailbox(name: string): string {
  if (name.endsWith(DELIM) && name.length > 1) name = name.slice(0, -1);
  if (isInbox(name)) return "INBOX";
  if (name.toUpperCase().startsWith("INBOX" + DELIM)) name = "INBOX" + name.slice(5);
  return name;
}

/** pattern for LIST/LSUB (wildcards kept) */
export function patternIn(s: Session, raw: string): string {
  if (s.utf8) return raw;
  return mutf7Decode(raw) ?? raw;
}

/** store name → wire (quoted string or literal) */
export function mailboxOut(s: Session, name: string): string {
  return stringText(s.utf8 ? name : mutf7Encode(name), s.utf8);
}

export {
  compileListPattern,
  joinReference,
  type ListPattern,
  type MatchCounter,
  matchListPattern,
} from "./list-pattern.ts";
