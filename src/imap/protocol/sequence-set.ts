/**
 * Sequence-set helpers (RFC 9051 §9 sequence-set; "*" = the largest number in use, §6.4.8).
 * Nothing here materialises a full range: a `1:*` over 100k messages stays one interval.
 */
import type { SeqNumber, SequenceSet } from "./commands.ts";

/** Closed interval [lo, hi] of numbers. */
export interface Interval {
  lo: number;
  hi: number;
}

function resolve(n: SeqNumber, max: number): number {
  return n === "*" ? max : n;
}

/**
 * Resolve a parsed set against the current maximum (message count, or highest UID) into sorted,
 * merged, non-overlapping intervals. "*" is `max`; RFC 9051 §6.4.8: a range like `5:*` with
 * max < 5 still means `max:5` — i.e. it contains max (for UIDs, the highest UID in use).
 * With `clamp` (sequence numbers) intervals are cut to [1, max]; UID sets are not clamped
 * (non-existent UIDs are simply not matched by the caller).
 * "$" (saved) cannot be resolved here: the caller substitutes its saved result first.
 */
export function resolveSequenceSet(set: SequenceSet, max: number, clamp = false): Interval[] {
  if (set.type === "saved") throw new Error("resolveSequenceSet: $ must be substituted by the caller");
  const ivs: Interval[] = [];
  for (const r of set.ranges) {
    let a = resolve(r.start, max);
    let b = resolve(r.end, max);
    if (a > b) [a, b] = [b, a];
    if (clamp) {
      if (a < 1) a = 1;
      if (b > max) b = max;
      if (a > b) continue;
    }
    if (b < 1) continue; // "*" in an empty mailbox resolves to 0: nothing
    if (a < 1) a = 1;
    ivs.push({ lo: a, hi: b });
  }
  return mergeIntervals(ivs);
}

/** Sort and merge overlapping or adjacent intervals. */
export function mergeIntervals(ivs: Interval[]): Interval[] {
  const sorted = [...ivs].sort((x, y) => x.lo - y.lo);
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.lo <= last.hi + 1) {
      if (iv.hi > last.hi) last.hi = iv.hi;
    } else {
      out.push({ lo: iv.lo, hi: iv.hi });
    }
  }
  return out;
}

/** Iterate the numbers of resolved intervals in ascending order (lazy). */
export function* iterateIntervals(ivs: Interval[]): Generator<number> {
  for (const iv of ivs) for (let n = iv.lo; n <= iv.hi; n++) yield n;
}

/** Count of numbers in resolved intervals. */
export function intervalsSize(ivs: Interval[]): number {
  let n = 0;
  for (const iv of ivs) n += iv.hi - iv.lo + 1;
  return n;
}

/** Membership test on resolved (sorted, merged) intervals: binary search, O(log n). */
export function intervalsContain(ivs: Interval[], n: number): boolean {
  let lo = 0;
  let hi = ivs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const iv = ivs[mid]!;
    if (n < iv.lo) hi = mid - 1;
    else if (n > iv.hi) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Does the parsed set contain n, given the current max? (no allocation of the full set) */
export function sequenceSetContains(set: SequenceSet, n: number, max: number): boolean {
  if (set.type === "saved") throw new Error("sequenceSetContains: $ must be substituted by the caller");
  for (const r of set.ranges) {
    let a = resolve(r.start, max);
    let b = resolve(r.end, max);
    if (a > b) [a, b] = [b, a];
    if (n >= a && n <= b) return true;
  }
  return false;
}

/**
 * Compress numbers into IMAP sequence-set syntax: `1:5,7,9:10`. Input need not be sorted;
 * duplicates are dropped. Returns "" for no numbers (callers must not send an empty set).
 */
export function formatSequenceSet(nums: Iterable<number>): string {
  const sorted = Array.from(nums).sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let end = start;
    while (i + 1 < sorted.length && (sorted[i + 1] === end || sorted[i + 1] === end + 1)) {
      i++;
      end = sorted[i]!;
    }
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(",");
}

/** Format resolved intervals as a sequence set (`lo:hi,...`). */
export function formatIntervals(ivs: Interval[]): string {
  return ivs.map((iv) => (iv.lo === iv.hi ? String(iv.lo) : `${iv.lo}:${iv.hi}`)).join(",");
}

/** Format a parsed SequenceSet back to its wire form (ranges as given). */
export function formatParsedSequenceSet(set: SequenceSet): string {
  if (set.type === "saved") return "$";
  return set.ranges.map((r) => (r.start === r.end ? String(r.start) : `${r.start}:${r.end}`)).join(",");
}

/**
 * RFC 9051 §6.4.8/§7.1: a message sequence number greater than the number of messages (or "*"
 * in an empty mailbox) is invalid — the server answers BAD. True when `set` has such a number.
 */
export function sequenceSetExceeds(set: SequenceSet, max: number): boolean {
  if (set.type === "saved") return false;
  for (const r of set.ranges) {
    for (const n of [r.start, r.end]) {
      if (n === "*" ? max === 0 : n > max) return true;
    }
  }
  return false;
}
