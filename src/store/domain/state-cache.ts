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
 * Linear in the mailbox size; no SQL.
 */
export function applyChanges(
  base: MessageStates,
  changed: readonly FlagTextRow[],
  expunged: readonly number[],
  highestModseq: bigint,
): MessageStates {
  const gone = new Set<number>(expunged);
  for (const r of changed) gone.add(r.uid);
  const cap = base.uids.length + changed.length;
  const uids = new Uint32Array(cap);
  const flags: string[] = new Array(cap);
  const modseqs = new BigUint64Array(cap);
  let n = 0;
  let j = 0;
  const bu = base.uids;
  for (let i = 0; i < bu.length; i++) {
    const u = bu[i]!;
    while (j < changed.length && changed[j]!.uid < u) {
      const c = changed[j++]!;
      uids[n] = c.uid;
      flags[n] = c.flags;
      modseqs[n++] = c.modseq;
    }
    if (gone.has(u)) continue;
    uids[n] = u;
    flags[n] = base.flags[i]!;
    modseqs[n++] = base.modseqs[i]!;
  }
  for (; j < changed.length; j++) {
    const c = changed[j]!;
    uids[n] = c.uid;
    flags[n] = c.flags;
    modseqs[n++] = c.modseq;
  }
  flags.length = n;
  return {
    uids: n === cap ? uids : uids.slice(0, n),
    flags,
    modseqs: n === cap ? modseqs : modseqs.slice(0, n),
    highestModseq,
  };
}
