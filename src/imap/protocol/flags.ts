/**
 * The IMAP system flags, once (RFC 9051 §2.3.2). \Recent is IMAP4rev1 only (RFC 3501 §2.3.2): the
 * server sets it, a client can neither set nor clear it, and it is never stored.
 */

/** the system flags a message can carry, in their canonical case */
export const SYSTEM_FLAGS: readonly string[] = Object.freeze([
  "\\Answered",
  "\\Flagged",
  "\\Deleted",
  "\\Seen",
  "\\Draft",
]);

export const RECENT = "\\Recent";

const CANONICAL = new Map([...SYSTEM_FLAGS, RECENT].map((f) => [f.toLowerCase(), f]));

/** a system flag (\Recent included) in its canonical case, or undefined for anything else */
export function canonicalSystemFlag(flag: string): string | undefined {
  return CANONICAL.get(flag.toLowerCase());
}
