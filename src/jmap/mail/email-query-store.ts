/**
 * Email/query and Email/queryChanges answered from the store's indexes, without the account view
 * (issue 12): the webmail's queries — filter exactly `{inMailbox}`, sort absent or `receivedAt`
 * (either direction), collapseThreads or not, position or anchor paging. Same order as the general
 * path (email-query.ts runQuery: receivedAt, ties by id ascending). Query states are the account
 * state; /queryChanges (email-query-changes.ts) answers from the account change log.
 */
import { invalidArguments, type JsonObject, type MethodContext, MethodError } from "../core/types.ts";
import { optInt } from "./common.ts";
import { emailJmapId, mailboxView } from "./view.ts";

/** a query this module answers: its mailbox (JMAP id), order and collapse */
export interface StoreQuery {
  inMailbox: string;
  ascending: boolean;
  collapseThreads: boolean;
}

/** the shape of `args` when it is a store query, else null (the general path answers) */
export function storeQueryShape(args: JsonObject): StoreQuery | null {
  const f = args.filter;
  if (!f || typeof f !== "object" || Array.isArray(f) || Object.keys(f).length !== 1) return null;
  if (typeof f.inMailbox !== "string") return null;
  let ascending = false;
  const sort = args.sort;
  if (sort !== undefined && sort !== null) {
    if (!Array.isArray(sort) || sort.length !== 1) return null;
    const c = sort[0] as JsonObject;
    if (!c || typeof c !== "object" || Array.isArray(c) || c.property !== "receivedAt") return null;
    if (Object.keys(c).some((k) => k !== "property" && k !== "isAscending" && k !== "collation")) return null;
    if (c.collation !== undefined && c.collation !== "i;ascii-casemap" && c.collation !== "i;octet")
      return null;
    // RFC 8620 §5.5: isAscending defaults to true
    if (c.isAscending !== undefined && typeof c.isAscending !== "boolean") return null;
    ascending = c.isAscending !== false;
  }
  const ct = args.collapseThreads;
  if (ct !== undefined && ct !== null && typeof ct !== "boolean") return null;
  return { inMailbox: f.inMailbox, ascending, collapseThreads: ct === true };
}

/**
 * One page of a store query, or null (not this shape, or the mailbox unknown: the general path
 * answers). Total = the mailbox's JMAP counters (visible Emails, collapsed visible Threads;
 * RFC 8621 §4.1.1), so a negative position needs no scan either.
 */
export async function mailboxPage(args: JsonObject, ctx: MethodContext): Promise<JsonObject | null> {
  const shape = storeQueryShape(args);
  if (!shape) return null;
  const anchor = args.anchor;
  if (anchor !== undefined && anchor !== null && typeof anchor !== "string") return null;
  const p = args.position ?? 0;
  if (typeof p !== "number" || !Number.isSafeInteger(p)) return null;
  const mv = await mailboxView(ctx.store, ctx.account.id);
  const mb = mv.mailboxById.get(shape.inMailbox);
  if (!mb) return null;
  const opts = { collapseThreads: shape.collapseThreads, ascending: shape.ascending };
  const totals = await ctx.store.jmapMailboxTotals(mb.id);
  const total = shape.collapseThreads ? totals.threads : totals.emails;
  let position: number;
  if (typeof anchor === "string") {
    // RFC 8620 §5.5: anchor + anchorOffset; position is ignored
    const i = await ctx.store.emailIndexByDate(mb.id, anchor, opts);
    if (i === null) throw new MethodError("anchorNotFound");
    const off = args.anchorOffset ?? 0;
    if (typeof off !== "number" || !Number.isSafeInteger(off))
      throw invalidArguments("anchorOffset must be an integer");
    position = Math.max(0, i + off);
  } else position = p < 0 ? Math.max(0, total + p) : p;
  const limit = optInt(args, "limit", ctx.limits.max_objects_in_get);
  const n = Math.min(limit, ctx.limits.max_objects_in_get);
  const ids = n > 0 && position < total ? await ctx.store.emailIdsByDate(mb.id, position, n, opts) : [];
  // copies of one Email in one mailbox share its date: a page names it once — unless a copy's
  // date differs (the general path then answers)
  if (new Set(ids).size !== ids.length) return null;
  const out: JsonObject = {
    accountId: ctx.accountId,
    queryState: mv.state,
    canCalculateChanges: true,
    position: Math.min(position, total),
    ids: ids.map(emailJmapId),
  };
  if (args.calculateTotal === true) out.total = total;
  if (limit > ctx.limits.max_objects_in_get) out.limit = ctx.limits.max_objects_in_get;
  return out;
}
