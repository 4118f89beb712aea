/**
 * A per-process cache of whole mailboxes' message states (api MessageStates), so that SELECT,
 * the bulk-flags FETCH and flag SEARCHes on a large mailbox do not read every row again:
 * - an entry is current while the mailbox's HIGHESTMODSEQ is unchanged (every change raises it,
 *   RFC 7162 §3.1.1), which a reader checks in the same read transaction — so a change made by
 *   another worker process is seen exactly as a fresh read would see it;
 * - an older entry is brought up to date from the changes since its modseq (rows with a higher
 *   modseq and the expunge log) instead of reloaded, unless the expunge log no longer reaches
 *   back that far (expunge floor) — then the caller reloads;
 * - bounded by the total number of messages held (store.state_cache_messages), least recently
 *   used mailboxes dropped first; a mailbox larger than the bound is not kept.
 * Entries are shared by every caller: MessageStates handed out are never mutated (an update
 * builds new arrays).
 */
import type { FlagTextRow } from "../db/port.ts";
import type { Id, MessageStates } from "../types.ts";

export class StateCache {
  readonly #max: number;
  /** least recently used first */
  readonly #entries = new Map<Id, MessageStates>();
  #held = 0;

  constructor(maxMessages: number) {
    this.#max = Math.max(0, maxMessages);
  }

  get(mailboxId: Id): MessageStates | undefined {
    const e = this.#entries.get(mailboxId);
    if (e) {
      this.#entries.delete(mailboxId);
      this.#entries.set(mailboxId, e);
    }
    return e;
  }

  put(mailboxId: Id, s: MessageStates): void {
    this.drop(mailboxId);
    if (s.uids.length > this.#max) return;
    this.#entries.set(mailboxId, s);
    this.#held += s.uids.length;
    for (const [id, e] of this.#entries) {
      if (this.#held <= this.#max) break;
      this.#entries.delete(id);
      this.#held -= e.uids.length;
    }
  }

  drop(mailboxId: Id): void {
    const e = this.#entries.get(mailboxId);
    if (!e) return;
    this.#entries.delete(mailboxId);
    this.#held -= e.uids.length;
  }

  /** messages held (tests) */
  get size(): number {
    return this.#held;
  }
}

/**
 * `base` with the changes since its modseq applied: `changed` = every row whose modseq is above
 * base.highestModseq (new or re-flagged, ascending uid), `expunged` = uids expunged above it.
 * The untouched runs of the base are block-copied (no per-message BigInt); no SQL.
 */
export function applyChanges(
  base: MessageStates,
  changed: readonly FlagTextRow[],
  expunged: readonly number[],
  highestModseq: bigint,
): MessageStates {
  const byUid = new Map<number, FlagTextRow>();
  for (const r of changed) byUid.set(r.uid, r);
  const touched = [...new Set<number>([...expunged, ...byUid.keys()])].sort((a, b) => a - b);
  const bu = base.uids;
  const cap = bu.length + changed.length;
  const uids = new Uint32Array(cap);
  const flags: string[] = new Array(cap);
  const modseqs = new BigUint64Array(cap);
  let n = 0;
  let pos = 0;
  const copyTo = (end: number) => {
    if (end <= pos) return;
    uids.set(bu.subarray(pos, end), n);
    modseqs.set(base.modseqs.subarray(pos, end), n);
    for (let i = pos; i < end; i++) flags[n++] = base.flags[i]!;
    pos = end;
  };
  for (const u of touched) {
    // first base index ≥ u, at or after pos
    let lo = pos;
    let hi = bu.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bu[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    copyTo(lo);
    if (pos < bu.length && bu[pos] === u) pos++; // the old row: expunged or replaced below
    const c = byUid.get(u);
    if (c) {
      uids[n] = c.uid;
      flags[n] = c.flags;
      modseqs[n++] = c.modseq;
    }
  }
  copyTo(bu.length);
  flags.length = n;
  return {
    uids: n === cap ? uids : uids.slice(0, n),
    flags,
    modseqs: n === cap ? modseqs : modseqs.slice(0, n),
    highestModseq,
  };
}
