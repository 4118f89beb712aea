/**
 * Email/query of one mailbox with the webmail's search conditions, without the account view
 * (issue 12): a FilterCondition holding `inMailbox` and any of text/from/to/cc/bcc/subject/body,
 * before/after, minSize/maxSize, hasKeyword/notKeyword, hasAttachment, sorted by receivedAt (either
 * way; email-query-store.ts storeQueryShape), collapseThreads or not. Reads that mailbox's rows
 * only: the text conditions first (the store's text index for that mailbox, as IMAP SEARCH does),
 * then the metadata of the rows left; keywords are the union over every visible copy of an Email
 * (RFC 8621 §4.1.1), read by emailId for the candidates. The same answers as the general path
 * (email-query.ts runQuery), which takes every other filter.
 */
import type { MessageMeta, TextQuery } from "../../store/types.ts";
import { invalidArguments, type JsonObject, type MethodContext } from "../core/types.ts";
import { flattenBody, rootRef } from "./email-body.ts";
import { storeQueryShape } from "./email-query-store.ts";
import { emailJmapId, flagToKeyword, mailboxView } from "./view.ts";

const TEXT = new Set(["text", "from", "to", "cc", "bcc", "subject", "body"]);
const OTHER = new Set([
  "inMailbox",
  "before",
  "after",
  "minSize",
  "maxSize",
  "hasKeyword",
  "notKeyword",
  "hasAttachment",
]);

/** RFC 8620 §1.4 UTCDate; the same check as the general path's */
export function utcArg(v: unknown, name: string): number {
  if (typeof v !== "string") throw invalidArguments(`${name} must be a UTCDate`);
  const t = Date.parse(v);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) || Number.isNaN(t))
    throw invalidArguments(`${name} must be a UTCDate`);
  return t;
}

/** a FilterCondition of this module: `inMailbox` and at least one of the conditions above */
export function isFilteredShape(f: unknown): f is JsonObject & { inMailbox: string } {
  if (!f || typeof f !== "object" || Array.isArray(f)) return false;
  const keys = Object.keys(f);
  return (
    typeof (f as JsonObject).inMailbox === "string" &&
    keys.length >= 2 &&
    keys.every((k) => TEXT.has(k) || OTHER.has(k))
  );
}

function isDeleted(m: MessageMeta): boolean {
  return m.flags.some((f) => f.toLowerCase() === "\\deleted");
}

/**
 * Every matching Email id in order (position and anchor are the caller's), with the state read
 * before the rows; null when the query is not of this shape (the general path answers).
 */
export async function filteredMailboxIds(
  args: JsonObject,
  ctx: MethodContext,
): Promise<{ ids: string[]; state: string } | null> {
  const f = args.filter;
  if (!isFilteredShape(f)) return null;
  const keys = Object.keys(f);
  const shape = storeQueryShape({ ...args, filter: { inMailbox: f.inMailbox } });
  if (!shape) return null;
  const mv = await mailboxView(ctx.store, ctx.account.id);
  const mb = mv.mailboxById.get(f.inMailbox);
  if (!mb) return null;
  // the conditions, checked as the general path checks them (same errors)
  const after = f.after !== undefined ? utcArg(f.after, "after") : null;
  const before = f.before !== undefined ? utcArg(f.before, "before") : null;
  for (const k of ["minSize", "maxSize"])
    if (f[k] !== undefined && typeof f[k] !== "number") throw invalidArguments(`${k} must be a number`);
  for (const k of ["hasKeyword", "notKeyword"])
    if (f[k] !== undefined && typeof f[k] !== "string") throw invalidArguments(`${k} must be a string`);
  if (f.hasAttachment !== undefined && typeof f.hasAttachment !== "boolean")
    throw invalidArguments("hasAttachment must be a boolean");
  // text conditions: the uids of this mailbox whose indexed text matches, intersected
  let uids: number[] | null = null;
  for (const k of keys) {
    if (!TEXT.has(k)) continue;
    const v = f[k];
    if (typeof v !== "string") throw invalidArguments(`${k} must be a string`);
    const tq: TextQuery =
      k === "text" || k === "body"
        ? { field: k, value: v }
        : { field: "header", header: k, value: v, ...(k === "subject" ? {} : { address: true }) };
    const found = await ctx.store.searchText(mb.id, tq);
    if (uids === null) uids = found;
    else {
      const set = new Set(found);
      uids = uids.filter((u) => set.has(u));
    }
  }
  if (uids === null) uids = (await ctx.store.listMessages(mb.id)).map((r) => r.uid);
  uids = [...new Set(uids)].sort((a, b) => a - b);
  let rows = (uids.length ? await ctx.store.getMessages(mb.id, uids) : []).filter((m) => !isDeleted(m));
  rows = rows.filter((m) => {
    const t = m.internalDate.getTime();
    if (after !== null && t < after) return false;
    if (before !== null && t >= before) return false;
    if (typeof f.minSize === "number" && m.size < f.minSize) return false;
    if (typeof f.maxSize === "number" && m.size >= f.maxSize) return false;
    return true;
  });
  // one entry per Email (copies in this mailbox), in the query's order (receivedAt, then id)
  const byEmail = new Map<string, MessageMeta>();
  for (const m of rows) if (!byEmail.has(m.emailId)) byEmail.set(m.emailId, m);
  let list = [...byEmail.values()];
  const has = typeof f.hasKeyword === "string" ? f.hasKeyword.toLowerCase() : null;
  const not = typeof f.notKeyword === "string" ? f.notKeyword.toLowerCase() : null;
  if (has !== null || not !== null) {
    // an Email's keywords: the union over its visible copies in every mailbox
    const kw = new Map<string, Set<string>>();
    for (const m of await ctx.store.messagesByEmailId(
      ctx.account.id,
      list.map((m) => m.emailId),
    )) {
      if (isDeleted(m)) continue;
      let s = kw.get(m.emailId);
      if (!s) kw.set(m.emailId, (s = new Set()));
      for (const fl of m.flags) {
        const k = flagToKeyword(fl);
        if (k) s.add(k);
      }
    }
    list = list.filter((m) => {
      const s = kw.get(m.emailId);
      return (has === null || s?.has(has) === true) && (not === null || s?.has(not) !== true);
    });
  }
  if (typeof f.hasAttachment === "boolean") {
    const keep: MessageMeta[] = [];
    for (const m of list) {
      const p = await ctx.store.getParsed(m.blobId);
      if (flattenBody(rootRef(p)).att.length > 0 === f.hasAttachment) keep.push(m);
    }
    list = keep;
  }
  const dir = shape.ascending ? 1 : -1;
  list.sort(
    (a, b) =>
      dir * (a.internalDate.getTime() - b.internalDate.getTime()) ||
      (a.emailId < b.emailId ? -1 : a.emailId > b.emailId ? 1 : 0),
  );
  if (shape.collapseThreads) {
    const seen = new Set<string>();
    list = list.filter((m) => {
      if (seen.has(m.threadId)) return false;
      seen.add(m.threadId);
      return true;
    });
  }
  return { ids: list.map((m) => emailJmapId(m.emailId)), state: mv.state };
}
