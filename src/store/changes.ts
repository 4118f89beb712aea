/**
 * The account change log's logic, free of any SQL dialect (docs/architecture.md, "Change log"):
 * - ChangeBuffer collects, per write transaction, the objects it touched and whether each existed
 *   before the transaction; the adapter resolves "still exists?" once per object at the end of the
 *   transaction and writes one row per object with its net effect (created / updated / destroyed).
 * - State tokens: "M" = every change up to modseq M applied; "M:id" = an intermediate state
 *   inside modseq M (its rows up to object id `id` applied), returned when maxChanges cut a
 *   window in the middle of one large transaction (RFC 8620 §5.2 "intermediate state").
 * - WindowFold turns the rows of a window, in (modseq, object id) order, into the created /
 *   updated / destroyed lists with the RFC 8620 §5.2 rules.
 */
import type { ChangeKind } from "./types.ts";

export const KIND_CODE: Readonly<Record<ChangeKind, number>> = {
  email: 1,
  mailbox: 2,
  thread: 3,
  // RFC 8621 §8: one object per account, id "singleton"
  vacationResponse: 4,
};
export const CHANGE_CREATED = 0;
export const CHANGE_UPDATED = 1;
export const CHANGE_DESTROYED = 2;

/** "check": a row of it was removed in this transaction; whether it still exists is looked up at the end */
type After = boolean | "check";

export interface TouchedObject {
  accountId: number;
  kind: ChangeKind;
  id: string;
  /** existed before this transaction */
  before: boolean;
  after: After;
  /** emails: their thread (a destroyed email changes its thread) */
  threadId?: string;
}

/**
 * create: new in this transaction; update: existed and still exists; remove: a row of it went
 * (email / thread: it may live on in another mailbox); destroy: gone for certain (mailbox deleted).
 */
export type TouchOp = "create" | "update" | "remove" | "destroy";

/** One object's net change in a transaction (kind: KIND_CODE, change: CHANGE_*). */
export interface ResolvedChange {
  accountId: number;
  kind: number;
  id: string;
  change: number;
}

export class ChangeBuffer {
  readonly touched = new Map<string, TouchedObject>();

  touch(accountId: number, kind: ChangeKind, id: string, op: TouchOp, threadId?: string): void {
    const key = `${accountId}\u0000${kind}\u0000${id}`;
    let t = this.touched.get(key);
    if (!t) {
      t = { accountId, kind, id, before: op !== "create", after: true };
      this.touched.set(key, t);
    }
    if (threadId !== undefined) t.threadId = threadId;
    if (op === "create") t.after = true;
    else if (op === "remove") t.after = "check";
    else if (op === "destroy") t.after = false;
    // update: existence unchanged
  }

  /** whether this transaction already touched the object (its "before" is known) */
  has(accountId: number, kind: ChangeKind, id: string): boolean {
    return this.touched.has(`${accountId}\u0000${kind}\u0000${id}`);
  }

  get size(): number {
    return this.touched.size;
  }

  /**
   * Resolves existence (the check may be asynchronous: the db port's Maybe results) and returns
   * one entry per object with its net change code (objects created and gone within the
   * transaction are dropped). Emails first: one destroyed removes itself from its thread, whose
   * existence is resolved after.
   */
  async resolveAsync(
    exists: (accountId: number, kind: ChangeKind, id: string) => boolean | Promise<boolean>,
  ): Promise<ResolvedChange[]> {
    for (const t of [...this.touched.values()]) {
      if (t.kind !== "email") continue;
      if (t.after === "check") t.after = await exists(t.accountId, t.kind, t.id);
      if (t.before && t.after === false && t.threadId !== undefined) {
        this.touch(t.accountId, "thread", t.threadId, "remove");
      }
    }
    for (const t of this.touched.values()) {
      if (t.after === "check") t.after = await exists(t.accountId, t.kind, t.id);
    }
    return this.#net();
  }

  /** one entry per settled object with its net change (created-and-gone objects dropped) */
  #net(): ResolvedChange[] {
    const out: ResolvedChange[] = [];
    for (const t of this.touched.values()) {
      const after = t.after === true;
      if (!t.before && !after) continue;
      const change = !t.before ? CHANGE_CREATED : after ? CHANGE_UPDATED : CHANGE_DESTROYED;
      out.push({ accountId: t.accountId, kind: KIND_CODE[t.kind], id: t.id, change });
    }
    return out;
  }
}
/** A position in an account's change log: every row ≤ (modseq, id) is applied. */
export interface ChangeCursor {
  /** the modseq named by the state (for the floor and future checks) */
  stateModseq: bigint;
  modseq: bigint;
  id: string;
  /** true for "M:id" states (part of modseq M applied) */
  partial: boolean;
}

const DIGITS = /^(0|[1-9][0-9]{0,19})$/;

/** Parses a state token; null = malformed. */
export function parseState(state: string): ChangeCursor | null {
  const colon = state.indexOf(":");
  const num = colon < 0 ? state : state.slice(0, colon);
  if (!DIGITS.test(num)) return null;
  const m = BigInt(num);
  if (colon < 0) {
    // all of modseq m applied: the cursor sits before every row of m + 1 ("" sorts first)
    return { stateModseq: m, modseq: m + 1n, id: "", partial: false };
  }
  const id = state.slice(colon + 1);
  if (id.length === 0 || id.length > 200) return null;
  return { stateModseq: m, modseq: m, id, partial: true };
}

export function formatState(modseq: bigint, id?: string): string {
  return id === undefined ? modseq.toString() : `${modseq}:${id}`;
}

/**
 * Folds the rows of a window, in (modseq, id) order, into per-id net effects (RFC 8620 §5.2):
 * created and updated → created; updated and destroyed → destroyed; created and destroyed →
 * left out. Stops before a row whose id would exceed maxChanges distinct ids.
 */
export class WindowFold {
  readonly #ids = new Map<string, { before: boolean; after: boolean }>();
  readonly #max: number;
  last: { modseq: bigint; id: string } | null = null;

  constructor(maxChanges: number) {
    this.#max = maxChanges;
  }

  /** false = the row was not taken (maxChanges reached): the window ends before it */
  add(modseq: bigint, id: string, change: number): boolean {
    let e = this.#ids.get(id);
    if (!e) {
      if (this.#ids.size >= this.#max) return false;
      e = { before: change !== CHANGE_CREATED, after: true };
      this.#ids.set(id, e);
    }
    e.after = change !== CHANGE_DESTROYED;
    this.last = { modseq, id };
    return true;
  }

  lists(): { created: string[]; updated: string[]; destroyed: string[] } {
    const created: string[] = [];
    const updated: string[] = [];
    const destroyed: string[] = [];
    for (const [id, e] of this.#ids) {
      if (!e.before && e.after) created.push(id);
      else if (e.before && e.after) updated.push(id);
      else if (e.before && !e.after) destroyed.push(id);
    }
    return { created, updated, destroyed };
  }
}
