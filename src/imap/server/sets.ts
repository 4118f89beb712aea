/** Resolving client sequence sets against the selected view (RFC 9051 §9 sequence-set, RFC 5182 "$"). */
import type { SequenceSet } from "../protocol/commands.ts";
import { bad } from "./errors.ts";
import type { NumRange, SelectedMailbox } from "./selected-mailbox.ts";

/**
 * Returns the uids (ascending) a set names. Sequence numbers beyond the mailbox size are a
 * client error (RFC 9051 §9 seq-number: "*" is the largest number in use; BAD otherwise).
 * UID sets name only existing messages; "*" is the highest uid ("n:*" always includes it).
 */
export function resolveSet(view: SelectedMailbox, set: SequenceSet, uid: boolean): number[] {
  if (set.type === "saved") {
    // RFC 5182 §2.1: $ = the saved result, restricted to messages still present
    return view.savedSearch.filter((u) => view.seqOf(u) > 0);
  }
  if (uid) {
    const max = view.maxUid();
    if (max === 0) return [];
    const ranges: NumRange[] = set.ranges.map((r) => [
      r.start === "*" ? max : r.start,
      r.end === "*" ? max : r.end,
    ]);
    return view.uidsForUidRanges(ranges);
  }
  const n = view.exists;
  const ranges: NumRange[] = [];
  for (const r of set.ranges) {
    const a = r.start === "*" ? n : r.start;
    const b = r.end === "*" ? n : r.end;
    if (n === 0 && (r.start === "*" || r.end === "*")) continue;
    if (a > n || b > n || a < 1 || b < 1) throw bad("Invalid message sequence number");
    ranges.push([a, b]);
  }
  return view.uidsForSeqRanges(ranges);
}
