/**
 * The selected-mailbox view: the session's own copy of the message sequence as the client knows
 * it (RFC 9051 §2.3.1.2 message sequence numbers), plus the changes the client has not yet been
 * told about.
 *
 * - `uids` is a Uint32Array (sequence number n ↔ uids[n-1]), ascending; 100k messages = 400 KiB.
 * - Changes are pulled from store.changesSince(knownModseq) and queued as pending: new uids
 *   (EXISTS), flag changes (FETCH FLAGS), expunges (EXPUNGE / VANISHED).
 * - Pending expunges keep their sequence number until announced: RFC 9051 §7.5.1 forbids EXPUNGE
 *   during FETCH, STORE, SEARCH (non-UID) and when no command is in progress, so the message stays
 *   in `uids` until takeUpdates(allowExpunge=true).
 * - Flags are not kept here (memory): FETCH/SEARCH read them from the store.
 * - \Recent (RFC 3501 §2.3.2, IMAP4rev1 only): the uid ranges this session claimed from the
 *   store (Store.claimNewMessages) — usually one range at the end of the mailbox, never per message.
 */
import type { ChangesSince, MessageFlagsRow, MessageStates } from "../../store/types.ts";
import type { SearchContexts } from "./search-context.ts";

export type ViewUpdate =
  | { type: "expunge"; seq: number }
  | { type: "vanished"; uids: number[] }
  | { type: "exists"; count: number }
  | { type: "fetch"; seq: number; uid: number; flags: string[]; modseq: bigint };

/** a resolved range list item: inclusive numbers, already clamped (seq or uid) */
export type NumRange = [number, number];

/**
 * Shared empty containers: an idle view of an empty or quiet mailbox allocates nothing for its
 * pending changes, saved search, recent ranges or keywords (memory per idle connection). Frozen,
 * so an accidental in-place write throws instead of leaking into other sessions.
 */
const NO_UIDS = Object.freeze([]) as unknown as number[];
const NO_RANGES = Object.freeze([]) as unknown as NumRange[];
const EMPTY_U32 = new Uint32Array(0);

export class SelectedMailbox {
  readonly mailboxId: number;
  readonly name: string;
  readonly readOnly: boolean;
  readonly uidValidity: number;
  uidNext: number;
  /** highest modseq of changes already pulled into this view */
  knownModseq: bigint;
  private uids: Uint32Array;
  private n: number;
  /** uids expunged in the store, still visible to the client (ascending) */
  private pendingExpunge: number[] = NO_UIDS;
  /** flag changes not yet announced */
  private pendingFlags: Map<number, MessageFlagsRow> | null = null;
  /** count the client was last told (EXISTS) */
  private announcedExists: number;
  /** changes this session already reported itself (STORE): uid → modseq */
  private selfReported: Map<number, bigint> | null = null;
  /** SEARCHRES saved result ($), RFC 5182: uids */
  savedSearch: number[] = NO_UIDS;
  /** live search contexts, RFC 5267 §4 (RETURN (UPDATE)); null while there are none */
  contexts: SearchContexts | null = null;
  /** a beacon arrived with a modseq beyond knownModseq */
  dirty = false;
  /**
   * keywords announced to the client by FLAGS (lower case → as first seen). RFC 9051 §7.3.5 /
   * RFC 3501 §7.2.6: the FLAGS response defines the flags in use; a FETCH must not show a keyword
   * the client was not told about (imaptest: "Keyword used without being in FLAGS"), so a new
   * keyword is announced by a fresh FLAGS response first. The set only grows while selected.
   */
  private keywords: Map<string, string> | null = null;
  /** uid ranges (inclusive, ascending, disjoint) that are \Recent in this session */
  private recent: NumRange[] = NO_RANGES;
  /** uids below this were already offered to this session's recent claim */
  recentUpto = 0;
  /**
   * The rows SELECT read, kept for the next command only: clients follow SELECT with
   * `UID FETCH 1:* (UID FLAGS)`, which can reuse them when HIGHESTMODSEQ has not moved.
   */
  private snapshot: MessageStates | null = null;
  private snapshotAge = 0;
  /** the mailbox's account: not the session's for a shared mailbox (RFC 4314; see shared.ts) */
  ownerId = 0;
  /**
   * the session's RFC 4314 rights on the mailbox (canonical letters; every right for the owner),
   * read again before each command on a shared mailbox (shared.ts refreshRights)
   */
  rights = "lrswipkxtea";

  constructor(
    mailboxId: number,
    name: string,
    readOnly: boolean,
    uidValidity: number,
    uidNext: number,
    highestModseq: bigint,
    rows: ReadonlyArray<{ uid: number }> | Uint32Array,
  ) {
    this.mailboxId = mailboxId;
    this.name = name;
    this.readOnly = readOnly;
    this.uidValidity = uidValidity;
    this.uidNext = uidNext;
    this.knownModseq = highestModseq;
    // room for some new mail; an empty mailbox starts with the shared empty array (grown on EXISTS)
    this.uids = rows.length === 0 ? EMPTY_U32 : new Uint32Array(rows.length + (rows.length >> 3) + 4);
    let prev = 0;
    let sorted = true;
    for (let i = 0; i < rows.length; i++) {
      const u = rows instanceof Uint32Array ? rows[i]! : rows[i]!.uid;
      if (u <= prev) sorted = false;
      this.uids[i] = u;
      prev = u;
    }
    this.n = rows.length;
    if (!sorted) this.uids.subarray(0, this.n).sort();
    this.announcedExists = this.n;
  }

  /** number of messages as the client knows them (including pending expunges) */
  get exists(): number {
    return this.n;
  }

  uidAt(seq: number): number {
    return seq >= 1 && seq <= this.n ? this.uids[seq - 1]! : 0;
  }

  /** sequence number of uid, or 0 */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** first sequence index (0-based) whose uid >= uid */
  private lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uids[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  maxUid(): number {
    return this.n > 0 ? this.uids[this.n - 1]! : 0;
  }

  allUids(): number[] {
    return Array.from(this.uids.subarray(0, this.n));
  }

  /** the uids in sequence order without a copy: read it before the view next changes, never write */
  uidsInOrder(): Uint32Array {
    return this.uids.subarray(0, this.n);
  }

  isPendingExpunge(uid: number): boolean {
    return this.pendingExpunge.length > 0 && bsearch(this.pendingExpunge, uid) >= 0;
  }

  /** uids for sequence ranges (already validated to be within 1..exists), ascending, deduplicated */
  uidsForSeqRanges(ranges: NumRange[]): number[] {
    const out: number[] = [];
    for (const [a, b] of normalise(ranges)) {
      for (let s = Math.max(1, a); s <= Math.min(b, this.n); s++) out.push(this.uids[s - 1]!);
    }
    return out;
  }

  /** existing uids within uid ranges, ascending, deduplicated */
  uidsForUidRanges(ranges: NumRange[]): number[] {
    const out: number[] = [];
    for (const [a, b] of normalise(ranges)) {
      for (let i = this.lowerBound(a); i < this.n && this.uids[i]! <= b; i++) out.push(this.uids[i]!);
    }
    return out;
  }

  /** record that this session itself reported these rows (STORE) so refresh won't repeat them */
  noteSelfReported(rows: MessageFlagsRow[]): void {
    if (rows.length === 0) return;
    this.selfReported ??= new Map();
    for (const r of rows) this.selfReported.set(r.uid, r.modseq);
  }

  /**
   * Removes uids from the sequence. Counts removed messages the client knew about (seq ≤ the
   * announced EXISTS) off the announced count; returns the removed uids' former sequence numbers
   * (as they were just before removal, in the order a sequence of EXPUNGE responses would use:
   * highest first so each number is valid when the client applies it).
   */
  removeUids(uids: number[]): number[] {
    if (uids.length === 0) return [];
    const seqs: number[] = [];
    const kill = new Set(uids);
    let w = 0;
    for (let r = 0; r < this.n; r++) {
      const u = this.uids[r]!;
      if (kill.has(u)) {
        if (r + 1 <= this.announcedExists) seqs.push(r + 1);
      } else this.uids[w++] = u;
    }
    this.n = w;
    this.announcedExists -= seqs.length;
    if (this.pendingExpunge.length > 0) this.pendingExpunge = this.pendingExpunge.filter((u) => !kill.has(u));
    if (this.pendingFlags) for (const u of uids) this.pendingFlags.delete(u);
    if (this.savedSearch.length > 0) this.savedSearch = this.savedSearch.filter((u) => !kill.has(u));
    this.maybeShrink();
    return seqs.reverse();
  }

  /** Merge a store delta into the pending state. */
  applyChanges(ch: ChangesSince): void {
    if (ch.highestModseq > this.knownModseq) this.knownModseq = ch.highestModseq;
    if (ch.uidNext > this.uidNext) this.uidNext = ch.uidNext;
    // expunges first: a uid both changed and expunged cannot occur (changed lists only live rows)
    if (ch.expunged.length > 0) {
      const add: number[] = [];
      for (const u of ch.expunged) {
        if (this.seqOf(u) > 0 && !this.isPendingExpunge(u)) add.push(u);
        this.pendingFlags?.delete(u);
      }
      if (add.length > 0) {
        if (this.pendingExpunge === NO_UIDS) this.pendingExpunge = [];
        this.pendingExpunge.push(...add);
        this.pendingExpunge.sort((a, b) => a - b);
      }
    }
    const maxKnown = this.maxUid();
    for (const row of ch.changed) {
      if (row.uid > maxKnown || this.seqOf(row.uid) === 0) {
        if (this.seqOf(row.uid) === 0) this.insertUid(row.uid);
        continue; // new message: EXISTS, its flags come with the client's FETCH
      }
      const self = this.selfReported?.get(row.uid);
      if (self !== undefined && self >= row.modseq) continue;
      this.pendingFlags ??= new Map();
      this.pendingFlags.set(row.uid, row);
    }
    this.selfReported = null;
  }

  private insertUid(uid: number): void {
    if (this.n === this.uids.length) {
      const bigger = new Uint32Array(Math.max(16, this.uids.length * 2));
      bigger.set(this.uids.subarray(0, this.n));
      this.uids = bigger;
    }
    if (this.n === 0 || this.uids[this.n - 1]! < uid) {
      this.uids[this.n++] = uid;
      return;
    }
    // rare: out-of-order arrival; keep ascending. New messages are announced by EXISTS only, so
    // an insert in the middle would shift sequence numbers the client knows — RFC 9051 §2.3.1.2
    // requires ascending uids with sequence numbers, so we append at the end only if larger and
    // otherwise insert (the store assigns uids in commit order, so this should not happen).
    const at = this.lowerBound(uid);
    this.uids.copyWithin(at + 1, at, this.n);
    this.uids[at] = uid;
    this.n++;
  }

  hasPending(): boolean {
    return (
      this.pendingExpunge.length > 0 ||
      (this.pendingFlags !== null && this.pendingFlags.size > 0) ||
      this.announcedExists !== this.n
    );
  }

  /**
   * Takes the updates to announce now. allowExpunge=false during FETCH/STORE/SEARCH (RFC 9051
   * §7.5.1); vanished=true when QRESYNC is enabled (RFC 7162 §3.2.10: VANISHED replaces EXPUNGE).
   */
  takeUpdates(allowExpunge: boolean, vanished: boolean): ViewUpdate[] {
    const out: ViewUpdate[] = [];
    if (allowExpunge && this.pendingExpunge.length > 0) {
      const gone = this.pendingExpunge;
      this.pendingExpunge = NO_UIDS;
      const known = gone.filter((u) => {
        const seq = this.seqOf(u);
        return seq > 0 && seq <= this.announcedExists;
      });
      const seqs = this.removeUids(gone);
      if (vanished) {
        if (known.length > 0) out.push({ type: "vanished", uids: known });
      } else {
        for (const seq of seqs) out.push({ type: "expunge", seq });
      }
    }
    if (this.n !== this.announcedExists) {
      out.push({ type: "exists", count: this.n });
      this.announcedExists = this.n;
    }
    if (this.pendingFlags && this.pendingFlags.size > 0) {
      const rows = [...this.pendingFlags.values()].sort((a, b) => a.uid - b.uid);
      this.pendingFlags = null;
      for (const r of rows) {
        const seq = this.seqOf(r.uid);
        if (seq > 0) out.push({ type: "fetch", seq, uid: r.uid, flags: r.flags, modseq: r.modseq });
      }
    }
    return out;
  }

  /** records keywords without announcing them (SELECT writes its own FLAGS response) */
  addKeywords(flags: readonly string[]): void {
    for (const f of flags) {
      if (f.startsWith("\\")) continue;
      const k = f.toLowerCase();
      this.keywords ??= new Map();
      if (!this.keywords.has(k)) this.keywords.set(k, f);
    }
  }

  /** true when any of these flags is a keyword not yet announced; records them */
  learnKeywords(flags: readonly string[]): boolean {
    let added = false;
    for (const f of flags) {
      if (f.startsWith("\\")) continue;
      const k = f.toLowerCase();
      this.keywords ??= new Map();
      if (!this.keywords.has(k)) {
        this.keywords.set(k, f);
        added = true;
      }
    }
    return added;
  }

  keywordList(): string[] {
    return this.keywords ? [...this.keywords.values()] : [];
  }

  /**
   * Records the outcome of a claim: uids in [from, upto) are \Recent here (RFC 3501 §2.3.2);
   * uids below recentUpto were decided by an earlier claim and are not added again.
   */
  addRecent(from: number, upto: number): void {
    const a = Math.max(from, this.recentUpto, 1);
    if (upto > this.recentUpto) this.recentUpto = upto;
    if (a >= upto) return;
    const last = this.recent[this.recent.length - 1];
    if (last && last[1] + 1 >= a) last[1] = Math.max(last[1], upto - 1);
    else {
      if (this.recent === NO_RANGES) this.recent = [];
      this.recent.push([a, upto - 1]);
    }
  }

  isRecent(uid: number): boolean {
    // newest range first: recent uids sit at the end of the mailbox
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const r = this.recent[i]!;
      if (uid > r[1]) return false;
      if (uid >= r[0]) return true;
    }
    return false;
  }

  /** messages in the view that are \Recent (the RECENT response) */
  recentCount(): number {
    let n = 0;
    for (const [a, b] of this.recent) n += this.lowerBound(b + 1) - this.lowerBound(a);
    return n;
  }

  keepSnapshot(rows: MessageStates): void {
    this.snapshot = rows;
    this.snapshotAge = 0;
  }

  /** the SELECT rows, once; null when gone */
  takeSnapshot(): MessageStates | null {
    const r = this.snapshot;
    this.snapshot = null;
    return r;
  }

  dropSnapshot(): void {
    this.snapshot = null;
  }

  /** called as each command starts: the snapshot lives through one command after SELECT */
  ageSnapshot(): void {
    if (this.snapshot && this.snapshotAge++ >= 1) this.snapshot = null;
  }

  /** first recent range start (for walking rows in step); Infinity when none */
  get firstRecentUid(): number {
    return this.recent[0]?.[0] ?? Number.POSITIVE_INFINITY;
  }

  /** mark all current messages as announced (right after SELECT) */
  markAnnounced(): void {
    this.announcedExists = this.n;
  }

  private maybeShrink(): void {
    if (this.uids.length > 1024 && this.n < this.uids.length >> 2) {
      this.uids = this.uids.slice(0, Math.max(16, this.n * 2));
    }
  }

  /** releases the arrays (UNSELECT/LOGOUT) */
  release(): void {
    this.uids = EMPTY_U32;
    this.n = 0;
    this.pendingExpunge = NO_UIDS;
    this.pendingFlags = null;
    this.savedSearch = NO_UIDS;
    this.contexts = null; // RFC 5267 §4.3: updates cease when the mailbox is no longer selected
    this.selfReported = null;
    this.recent = NO_RANGES;
    this.keywords = null;
    this.snapshot = null;
  }
}

function bsearch(a: number[], v: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = a[mid]!;
    if (x === v) return mid;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** sort + merge ranges (each [a,b] with a<=b after swapping) */
export function normalise(ranges: NumRange[]): NumRange[] {
  const rs = ranges.map(([a, b]): NumRange => (a <= b ? [a, b] : [b, a])).sort((x, y) => x[0] - y[0]);
  const out: NumRange[] = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** compact uid-set string "1:3,7" for ascending uids (RFC 9051 sequence-set) */
export function uidSetString(uids: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < uids.length) {
    const start = uids[i]!;
    let end = start;
    while (i + 1 < uids.length && uids[i + 1] === end + 1) {
      i++;
      end = uids[i]!;
    }
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(",");
}
