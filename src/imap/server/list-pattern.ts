/**
 * LIST/LSUB mailbox patterns (RFC 9051 §6.3.9, RFC 3501 §6.3.8): "*" matches zero or more
 * characters, "%" zero or more characters other than the hierarchy delimiter; every other
 * character matches itself (case-sensitively, except the INBOX prefix, below).
 *
 * Client patterns are never compiled to a RegExp: `*%*%*%…x` makes a backtracking engine take
 * exponential time (issue 9). The pattern is matched by simulating its NFA over the name — the
 * set of pattern positions reachable after each character of the name — which costs at most
 * (tokens + 1) × name length steps, whatever the pattern. Runs of wildcards are collapsed first
 * ("*%" ≡ "%*" ≡ "**" ≡ "*", "%%" ≡ "%"), so tokens ≤ 2 × literals + 1, and a pattern with more
 * literal characters than the name is rejected before the simulation.
 */

const LIT = 0;
const STAR = 1;
const PERCENT = 2;

export const LIST_DELIM = "/";
const DELIM_CODE = LIST_DELIM.charCodeAt(0);

export interface ListPattern {
  /** the pattern text after wildcard runs were collapsed */
  readonly source: string;
  /** per token: LIT, STAR or PERCENT */
  readonly kinds: Uint8Array;
  /** per literal token: its UTF-16 code unit; ASCII-uppercased in `upper` */
  readonly codes: Uint16Array;
  readonly upper: Uint16Array;
  /** literal tokens from token i to the end (length tokens + 1) */
  readonly litAfter: Uint32Array;
  /** leading literal tokens (before the first wildcard) that may spell INBOX in any case, ≤ 5 */
  readonly inboxFold: number;
}

/** work done by matchListPattern, for callers that bound or yield on it (and for tests) */
export interface MatchCounter {
  steps: number;
}

function upperAscii(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}

export function compileListPattern(pattern: string): ListPattern {
  const kinds: number[] = [];
  const codes: number[] = [];
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 0x2a || c === 0x25) {
      // a run of wildcards: "*" if any of them is "*", else "%"
      let star = c === 0x2a;
      while (i + 1 < pattern.length) {
        const d = pattern.charCodeAt(i + 1);
        if (d !== 0x2a && d !== 0x25) break;
        if (d === 0x2a) star = true;
        i++;
      }
      kinds.push(star ? STAR : PERCENT);
      codes.push(0);
      source += star ? "*" : "%";
    } else {
      kinds.push(LIT);
      codes.push(c);
      source += pattern[i];
    }
  }
  const n = kinds.length;
  const litAfter = new Uint32Array(n + 1);
  for (let i = n - 1; i >= 0; i--) litAfter[i] = litAfter[i + 1]! + (kinds[i] === LIT ? 1 : 0);
  let lead = 0;
  while (lead < n && lead < 5 && kinds[lead] === LIT) lead++;
  return {
    source,
    inboxFold: lead,
    kinds: Uint8Array.from(kinds),
    codes: Uint16Array.from(codes),
    upper: Uint16Array.from(codes, upperAscii),
    litAfter,
  };
}

/**
 * Does `name` (a store name: UTF-8 text, "/" delimiter, INBOX canonical upper case) match?
 * RFC 9051 §6.3.9: INBOX is listed when the string "INBOX" matches, and INBOX is
 * case-insensitive (§5.1) — so in a name of the INBOX hierarchy ("INBOX", "INBOX/…") the
 * "INBOX" compares case-insensitively with the pattern's leading literal characters ("inbox",
 * "Inbox/%", "in*"); a literal after a wildcard compares exactly ("*x" does not match INBOX).
 */
export function matchListPattern(p: ListPattern, name: string, counter?: MatchCounter): boolean {
  const m = p.kinds.length;
  const len = name.length;
  // leading literal tokens are only active at the same name position: token index = position
  const fold =
    p.inboxFold > 0 && name.startsWith("INBOX") && (len === 5 || name.charCodeAt(5) === DELIM_CODE)
      ? p.inboxFold
      : 0;
  let steps = 1;
  try {
    if (p.litAfter[0]! > len) return false;
    const { kinds, codes, upper, litAfter } = p;
    let cur = new Uint8Array(m + 2);
    let next = new Uint8Array(m + 2);
    // state j = tokens [0, j) consumed; entering a wildcard state also enters the state after it
    // (empty match). Wildcards never follow each other after compilation, so one step suffices.
    let lo = 0;
    let hi = 0;
    cur[0] = 1;
    if (m > 0 && kinds[0] !== LIT) {
      cur[1] = 1;
      hi = 1;
    }
    for (let pos = 0; pos < len; pos++) {
      const c = name.charCodeAt(pos);
      const remaining = len - pos - 1;
      let nlo = m + 1;
      let nhi = -1;
      for (let i = lo; i <= hi; i++) {
        steps++;
        if (cur[i] === 0 || i === m) continue;
        const k = kinds[i];
        let to = -1;
        if (k === LIT) {
          if (i < fold ? upper[i] === c : codes[i] === c) to = i + 1;
        } else if (k === STAR || c !== DELIM_CODE) {
          to = i; // "*" takes any character, "%" any but the delimiter
        }
        // a state that needs more literal characters than the name has left is dead
        if (to < 0 || litAfter[to]! > remaining) continue;
        next[to] = 1;
        if (to < nlo) nlo = to;
        let last = to;
        if (to < m && kinds[to] !== LIT) {
          next[to + 1] = 1;
          last = to + 1;
        }
        if (last > nhi) nhi = last;
      }
      cur.fill(0, lo, hi + 1);
      if (nhi < 0) return false;
      const t = cur;
      cur = next;
      next = t;
      lo = nlo;
      hi = nhi;
    }
    return cur[m] === 1;
  } finally {
    if (counter) counter.steps += steps;
  }
}

/**
 * RFC 9051 §6.3.9: the reference and the mailbox pattern are interpreted together; a pattern
 * that starts with the delimiter is absolute and ignores the reference (the RFC's
 * "~smith/Mail/" + "/usr/doc/foo" example).
 */
export function joinReference(reference: string, pattern: string): string {
  if (pattern.startsWith(LIST_DELIM)) return pattern;
  return reference + pattern;
}
