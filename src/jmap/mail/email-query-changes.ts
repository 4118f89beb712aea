/**
 * Email/queryChanges (RFC 8620 §5.6) for the queries answered without the account view: one
 * mailbox by receivedAt (email-query-store.ts), with the webmail's search conditions or not
 * (email-query-filter.ts). Query states are the account state; the answer comes from the
 * account change log. Every other query: cannotCalculateChanges.
 */
import {
  invalidArguments,
  type JsonObject,
  type MethodContext,
  MethodError,
  type MethodHandler,
} from "../core/types.ts";
import { requireAccount } from "./common.ts";
import { filteredMailboxIds, isFilteredShape } from "./email-query-filter.ts";
import { storeQueryShape } from "./email-query-store.ts";
import { emailJmapId, mailboxView } from "./view.ts";

/** every change of one kind since `since` (the log's pages joined), or null: more than `max` */
async function allChanges(
  ctx: MethodContext,
  kind: "email" | "thread",
  since: string,
  max: number,
): Promise<{ ids: Set<string>; newState: string } | null> {
  const ids = new Set<string>();
  let state = since;
  for (;;) {
    const r = await ctx.store.changesSinceState(ctx.account.id, kind, state, ctx.limits.max_changes);
    if (r === "cannotCalculateChanges") throw new MethodError("cannotCalculateChanges");
    for (const id of [...r.created, ...r.updated, ...r.destroyed]) ids.add(emailJmapId(id));
    if (ids.size > max) return null;
    state = r.newState;
    if (!r.hasMoreChanges) return { ids, newState: state };
  }
}

/**
 * Email/queryChanges (RFC 8620 §5.6) of a store query (email-query-store.ts, with or without the
 * search conditions of email-query-filter.ts). receivedAt never changes and every condition is
 * on the Email itself (its mailboxes, keywords, content), so an Email can enter or leave the
 * results, or move in them, only by a change of its own (an Email change in the log). So:
 * removed = every Email changed since the old state (§5.6 allows ids that were not in the
 * results), added = those of them in the results now, with their index. Collapsed, a thread's first Email can also change when another Email of
 * the thread changes: the Emails of every thread with a change (Thread log) or holding a
 * changed Email are removed, and the thread's first Email here now is added.
 */
export const emailQueryChanges: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  if (typeof args.sinceQueryState !== "string") throw invalidArguments("sinceQueryState is required");
  const f = args.filter;
  // the store query of one mailbox (its filter exactly `{inMailbox}`) or one with search conditions
  const filtered = isFilteredShape(f);
  const shape = filtered
    ? storeQueryShape({ ...args, filter: { inMailbox: f.inMailbox } })
    : storeQueryShape(args);
  if (!shape) throw new MethodError("cannotCalculateChanges");
  const maxArg = args.maxChanges;
  if (
    maxArg !== undefined &&
    maxArg !== null &&
    (typeof maxArg !== "number" || !Number.isSafeInteger(maxArg) || maxArg < 1)
  )
    throw invalidArguments("maxChanges must be a positive integer");
  const max = typeof maxArg === "number" ? maxArg : ctx.limits.max_changes;
  const mv = await mailboxView(ctx.store, ctx.account.id);
  const mb = mv.mailboxById.get(shape.inMailbox);
  if (!mb) throw new MethodError("cannotCalculateChanges");
  const tooMany = () =>
    new MethodError(typeof maxArg === "number" ? "tooManyChanges" : "cannotCalculateChanges");
  const emails = await allChanges(ctx, "email", args.sinceQueryState, max);
  if (!emails) throw tooMany();
  const candidates = new Set(emails.ids);
  if (shape.collapseThreads) {
    const threads = await allChanges(ctx, "thread", args.sinceQueryState, max);
    if (!threads) throw tooMany();
    const tids = threads.ids;
    for (const r of await ctx.store.messagesByEmailId(ctx.account.id, [...emails.ids])) tids.add(r.threadId);
    for (const r of await ctx.store.messagesByThreadId(ctx.account.id, [...tids]))
      if (r.mailboxId === mb.id) candidates.add(emailJmapId(r.emailId));
  }
  if (candidates.size > max) throw tooMany();
  // the results now (read after the changes: newer rows, never older): with search conditions
  // the whole filtered list of the mailbox, else each candidate's index from the store
  let indexOf: (id: string) => Promise<number | null>;
  let total: () => Promise<number>;
  if (filtered) {
    const now = await filteredMailboxIds(args, ctx);
    if (!now) throw new MethodError("cannotCalculateChanges");
    const at = new Map(now.ids.map((id, i) => [id, i]));
    indexOf = async (id) => at.get(id) ?? null;
    total = async () => now.ids.length;
  } else {
    const opts = { collapseThreads: shape.collapseThreads, ascending: shape.ascending };
    indexOf = (id) => ctx.store.emailIndexByDate(mb.id, id, opts);
    total = async () => {
      const t = await ctx.store.jmapMailboxTotals(mb.id);
      return shape.collapseThreads ? t.threads : t.emails;
    };
  }
  const added: Array<{ id: string; index: number }> = [];
  for (const id of candidates) {
    const index = await indexOf(id);
    if (index !== null) added.push({ id, index });
  }
  added.sort((a, b) => a.index - b.index);
  const out: JsonObject = {
    accountId: ctx.accountId,
    oldQueryState: args.sinceQueryState,
    newQueryState: emails.newState,
    removed: [...candidates],
    added,
  };
  if (args.calculateTotal === true) out.total = await total();
  return out;
};
