/**
 * Mailbox names on the wire. Store names are UTF-8 with "/" as delimiter. Without UTF-8 enabled
 * they travel in modified UTF-7 (RFC 3501 §5.1.3); with IMAP4rev2/UTF8=ACCEPT as UTF-8
 * (RFC 9051 §5.1, RFC 6855 §3). INBOX is case-insensitive (RFC 9051 §5.1).
 */
import { mutf7Decode, mutf7Encode } from "../protocol/mutf7.ts";
import { bad } from "./errors.ts";
import { imapString } from "./format.ts";
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
    if (dec === null) throw bad("Invalid modified UTF-7 mailbox name");
    name = dec;
  }
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
  return imapString(s.utf8 ? name : mutf7Encode(name), s.utf8);
}

/**
 * LIST pattern matching (RFC 9051 §6.3.9): "*" matches anything, "%" anything but the
 * delimiter. INBOX matches case-insensitively. Compiled to a RegExp.
 */
export function compilePattern(pattern: string): RegExp {
  let re = "^";
  for (const ch of pattern) {
    if (ch === "*") re += ".*";
    else if (ch === "%") re += "[^/]*";
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  re += "$";
  // INBOX prefix is case-insensitive: normalise the pattern's leading INBOX
  return new RegExp(re, "s");
}

export function canonicalPattern(pattern: string): string {
  const up = pattern.slice(0, 5).toUpperCase();
  if (
    up === "INBOX" &&
    (pattern.length === 5 || pattern[5] === DELIM || pattern[5] === "*" || pattern[5] === "%")
  ) {
    return "INBOX" + pattern.slice(5);
  }
  return pattern;
}
