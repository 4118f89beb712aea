/**
 * The account change log's read side over the db port (JMAP /changes, IMAP NOTIFY): the current
 * state and "changes since state S" folded with the RFC 8620 §5.2 rules (../changes.ts). The
 * write side is TxContext.changes (domain/context.ts), flushed in the same transaction.
 */
import { type ChangeCursor, formatState, KIND_CODE, parseState, WindowFold } from "../changes.ts";
import { type AccountChanges, type ChangeKind, type Id, StoreError } from "../types.ts";
import type { DomainDeps } from "./context.ts";

/** rows read per query while folding a window */
const READ_CHUNK = 1000;
/** maxChanges when the caller gives none */
export const DEFAULT_MAX_CHANGES = 5000;

function noAccount(): never {
  throw new StoreError("NONEXISTENT", "no such account");
}

export class ChangeReader {
  readonly #d: DomainDeps;

  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async currentState(accountId: Id): Promise<string> {
    const s = await this.#d.db.read((q) => q.changes.accountState(accountId));
    return formatState((s ?? noAccount()).modseq);
  }

  /**
   * RFC 8620 §5.2: the changes of one kind after `since`. The account's modseq is read first and
   * bounds the window, so rows of transactions committing meanwhile are left for the next call.
   */
  async changesSinceState(
    accountId: Id,
    kind: ChangeKind,
    since: string,
    maxChanges?: number,
  ): Promise<AccountChanges | "cannotCalculateChanges"> {
    const cur: ChangeCursor | null = parseState(since);
    if (!cur) return "cannotCalculateChanges";
    return this.#d.db.read(async (q) => {
      const acct = (await q.changes.accountState(accountId)) ?? noAccount();
      // pruned history (rows ≤ floor may be gone): a partial state inside the floor's modseq too
      if (cur.stateModseq < acct.floor || (cur.partial && cur.stateModseq <= acct.floor)) {
        return "cannotCalculateChanges";
      }
      if (cur.stateModseq > acct.modseq) return "cannotCalculateChanges";
      const max = maxChanges !== undefined && maxChanges > 0 ? Math.floor(maxChanges) : DEFAULT_MAX_CHANGES;
      const fold = new WindowFold(max);
      let at = { modseq: cur.modseq, id: cur.id };
      let truncated = false;
      // bounded: each round consumes READ_CHUNK rows or ends
      for (;;) {
        const rows = await q.changes.page(accountId, KIND_CODE[kind], at, acct.modseq, READ_CHUNK);
        for (const r of rows) {
          if (!fold.add(r[0], r[1], r[2])) {
            truncated = true;
            break;
          }
        }
        if (truncated || rows.length < READ_CHUNK) break;
        const lastRow = rows[rows.length - 1]!;
        at = { modseq: lastRow[0], id: lastRow[1] };
      }
      const lists = fold.lists();
      const newState =
        truncated && fold.last ? formatState(fold.last.modseq, fold.last.id) : formatState(acct.modseq);
      return { oldState: since, newState, hasMoreChanges: truncated, ...lists };
    });
  }
}
