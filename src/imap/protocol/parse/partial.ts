/** RFC 9394 PARTIAL search return option: the partial-range argument. */
import type { PartialRange } from "../commands.ts";
import { type Cursor, ParseError, parseNzNumber, tryByte } from "./primitives.ts";

const MINUS = 0x2d;
const COLON = 0x3a;

function end(c: Cursor, fromEnd: boolean): number {
  // RFC 9394 §5: partial-range-last = MINUS nz-number ":" MINUS nz-number — both ends carry the
  // sign; a mixed range ("1:-5") or a zero matches neither form
  if (tryByte(c, MINUS) !== fromEnd) throw new ParseError("PARTIAL range mixes signs");
  return parseNzNumber(c); // 32-bit, non-zero
}

/** partial-range = partial-range-first / partial-range-last (RFC 9394 §5) */
export function parsePartialRange(c: Cursor): PartialRange {
  const fromEnd = c.peek() === MINUS;
  const first = end(c, fromEnd);
  if (!tryByte(c, COLON)) throw new ParseError("PARTIAL needs a range n:m");
  const second = end(c, fromEnd);
  return { fromEnd, first, second };
}

/**
 * The results a PARTIAL range selects from `all` (in result order: mailbox order for SEARCH, sort
 * order for SORT). RFC 9394 §3.1: 1 is the first result, -1 the last; "500:400" is "400:500";
 * positions beyond the results are simply absent.
 */
export function partialSlice<T>(all: readonly T[], r: PartialRange): T[] {
  const lo = Math.min(r.first, r.second);
  const hi = Math.max(r.first, r.second);
  if (!r.fromEnd) return all.slice(lo - 1, hi);
  const n = all.length;
  return all.slice(Math.max(0, n - hi), Math.max(0, n - lo + 1));
}

/** The range as the client sent it (RFC 9394 §3.1: the PARTIAL result carries "the original range") */
export function partialRangeString(r: PartialRange): string {
  const m = r.fromEnd ? "-" : "";
  return `${m}${r.first}:${m}${r.second}`;
}
