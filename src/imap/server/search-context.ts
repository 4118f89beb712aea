/**
 * Live search contexts: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4).
 *
 * A SEARCH, UID SEARCH, SORT or UID SORT with RETURN (UPDATE) keeps its result (UIDs in the
 * requested order) in the selected-mailbox view. Whenever the view pulls changes from the store —
 * new deliveries, flag changes and expunges by this or any other session or process — the session
 * re-runs each context's search (and sort) over the view and sends the difference as unsolicited
 * `* ESEARCH (TAG "t") [UID] REMOVEFROM (…)` / `ADDTO (…)` responses:
 *
 * - REMOVEFROM goes out before the EXPUNGE/VANISHED of the same update, so its sequence numbers are
 *   still valid (§4.3.4); ADDTO after the EXISTS that announces new messages (§4.3.3).
 * - SEARCH contexts use context position 0 (§4.3.3/§4.3.4 allow it), the set in mailbox order.
 *   SORT contexts give positions: removals first, then insertions, each pair valid after the
 *   pairs before it (§4.3.2). Sort keys never change for a message (arrival, size, envelope) and
 *   ties go by UID, so the messages kept stay in the same relative order and only insertions and
 *   removals are needed.
 * - The search is re-evaluated as written: criteria with sequence numbers, `$` or \Recent are
 *   read again each time (mailbox contents change, the criteria do not).
 * - Contexts end with the view (UNSELECT, CLOSE, SELECT/EXAMINE, LOGOUT) or by CANCELUPDATE
 *   (§4.3.5); at most `imap.limits.max_search_contexts` per session, beyond that the command is
 *   answered without a context and an untagged `NO [NOUPDATE "tag"]` (§4.3.1).
 */
import type { SearchReturnOpt } from "../protocol/commands.ts";
import { esearchHead } from "./commands/esearch.ts";
import type { SelectedMailbox } from "./selected-mailbox.ts";
import { uidSetString } from "./selected-mailbox.ts";

/** the current result of a context: UIDs in the requested order (mailbox order for SEARCH) */
export type Recompute = () => Promise<number[]>;

interface Context {
  tag: string;
  uid: boolean;
  sort: boolean;
  /** UIDs in the order the client holds them */
  results: number[];
  recompute: Recompute;
}

/** What an update produced: REMOVEFROM lines to write now, ADDTO lines once EXISTS is out. */
export interface ContextUpdate {
  before: string;
  after(v: SelectedMailbox): string;
}

export class SearchContexts {
  private readonly list: Context[] = [];

  get size(): number {
    return this.list.length;
  }

  has(tag: string): boolean {
    return this.list.some((c) => c.tag === tag);
  }

  add(tag: string, uid: boolean, sort: boolean, results: number[], recompute: Recompute): void {
    this.list.push({ tag, uid, sort, results, recompute });
  }

  /** RFC 5267 §4.3.5: stops the named contexts; false (and nothing stopped) when one is unknown */
  cancel(tags: readonly string[]): boolean {
    if (!tags.every((t) => this.has(t))) return false;
    for (const t of tags) {
      const i = this.list.findIndex((c) => c.tag === t);
      if (i >= 0) this.list.splice(i, 1);
    }
    return true;
  }

  /**
   * The session itself removes messages (EXPUNGE, MOVE, REPLACE) and is about to announce it:
   * REMOVEFROM for every context that held them, numbered as the client still knows them.
   */
  removed(v: SelectedMailbox, uids: readonly number[]): string {
    if (uids.length === 0) return "";
    const gone = new Set(uids);
    let out = "";
    for (const c of this.list) {
      const keep = c.results.filter((u) => !gone.has(u));
      if (keep.length === c.results.length) continue;
      out += removals(c, v, keep);
      c.results = keep;
    }
    return out;
  }

  /**
   * Re-runs every context after the view pulled changes. Called before the view's own updates
   * are taken, so REMOVEFROM (in `before`) precedes EXPUNGE; `after` numbers the additions once
   * EXISTS has been announced. A context whose search fails keeps its result (logged by the caller).
   */
  async update(v: SelectedMailbox, onError: (e: unknown) => void): Promise<ContextUpdate | null> {
    let before = "";
    const adds: Array<{ c: Context; next: number[] }> = [];
    for (const c of [...this.list]) {
      let next: number[];
      try {
        next = await c.recompute();
      } catch (e) {
        onError(e);
        continue;
      }
      if (!this.list.includes(c)) continue; // cancelled meanwhile
      const now = new Set(next);
      const keep = c.results.filter((u) => now.has(u));
      if (keep.length !== c.results.length) before += removals(c, v, keep);
      c.results = keep;
      if (next.length !== keep.length) adds.push({ c, next });
    }
    if (before === "" && adds.length === 0) return null;
    return {
      before,
      after: (view) => {
        let out = "";
        for (const { c, next } of adds) {
          out += additions(c, view, next);
          c.results = next;
        }
        return out;
      },
    };
  }
}

function num(c: Context, v: SelectedMailbox, uid: number): number {
  return c.uid ? uid : v.seqOf(uid);
}

function setOf(nums: number[], mailboxOrder: boolean): string {
  return uidSetString(mailboxOrder ? nums.sort((a, b) => a - b) : nums);
}

/** REMOVEFROM taking `c.results` to `keep` (a subsequence of it) */
function removals(c: Context, v: SelectedMailbox, keep: readonly number[]): string {
  const pairs: string[] = [];
  if (!c.sort) {
    const kept = new Set(keep);
    const gone = c.results.filter((u) => !kept.has(u)).map((u) => num(c, v, u));
    pairs.push(`0 ${setOf(gone, true)}`);
  } else {
    // positions as the list stands after the pairs before (RFC 5267 §4.3.2, §4.3.4)
    const kept = new Set(keep);
    let removed = 0;
    let i = 0;
    while (i < c.results.length) {
      if (kept.has(c.results[i]!)) {
        i++;
        continue;
      }
      const start = i;
      const run: number[] = [];
      while (i < c.results.length && !kept.has(c.results[i]!)) run.push(num(c, v, c.results[i++]!));
      pairs.push(`${start + 1 - removed} ${setOf(run, false)}`);
      removed += run.length;
    }
  }
  return `${esearchHead(c.tag, c.uid)} REMOVEFROM (${pairs.join(" ")})\r\n`;
}

/** ADDTO taking `c.results` (a subsequence of `next`, same order) to `next` */
function additions(c: Context, v: SelectedMailbox, next: readonly number[]): string {
  const had = new Set(c.results);
  const pairs: string[] = [];
  if (!c.sort) {
    const added = next.filter((u) => !had.has(u)).map((u) => num(c, v, u));
    pairs.push(`0 ${setOf(added, true)}`);
  } else {
    // inserting left to right: before the run at j, next[0..j-1] are all in place (§4.3.3)
    let j = 0;
    while (j < next.length) {
      if (had.has(next[j]!)) {
        j++;
        continue;
      }
      const start = j;
      const run: number[] = [];
      while (j < next.length && !had.has(next[j]!)) run.push(num(c, v, next[j++]!));
      pairs.push(`${start + 1} ${setOf(run, false)}`);
    }
  }
  return `${esearchHead(c.tag, c.uid)} ADDTO (${pairs.join(" ")})\r\n`;
}

/** RETURN (UPDATE) asked for (RFC 5267 §4.3) */
export function wantsUpdate(opts: readonly SearchReturnOpt[] | null): boolean {
  return opts?.includes("UPDATE") ?? false;
}
