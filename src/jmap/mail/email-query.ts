/**
 * Email/query and Email/queryChanges (RFC 8621 §4.4, §4.5). Conditions on metadata are checked
 * from the account view; text conditions (text, from, to, cc, bcc, subject, body, header) go to
 * the store's text index (store.searchText, as IMAP SEARCH does), one query per mailbox.
 * Sort keys from headers come from the cached MIME structure (store.getParsed).
 */
import { decodeWords } from "../../mime/bytes.ts";
import { parseHeaderBlock } from "../../mime/header.ts";
import { baseSubject, parseDate } from "../../mime/text.ts";
import type { Envelope } from "../../mime/types.ts";
import type { TextQuery } from "../../store/types.ts";
import {
  invalidArguments,
  type Json,
  type JsonObject,
  type MethodContext,
  MethodError,
  type MethodHandler,
} from "../core/types.ts";
import { optBool, optInt, requireAccount } from "./common.ts";
import { flattenBody, rootRef } from "./email-body.ts";
import { loadMessage } from "./email-get.ts";
import { emailQueryChanges } from "./email-query-changes.ts";
import { filteredMailboxIds, utcArg } from "./email-query-filter.ts";
import { mailboxPage } from "./email-query-store.ts";
import { type AccountView, accountView, type EmailEntry } from "./view.ts";

export const EMAIL_SORT_PROPERTIES = [
  "receivedAt",
  "size",
  "from",
  "to",
  "subject",
  "sentAt",
  "hasKeyword",
  "allInThreadHaveKeyword",
  "someInThreadHaveKeyword",
] as const;

const TEXT_FIELDS = new Set(["text", "from", "to", "cc", "bcc", "subject", "body"]);

interface QueryState {
  ctx: MethodContext;
  view: AccountView;
  /** "mailboxId:uid" → email id */
  rowIndex: Map<string, string> | null;
  envelopes: Map<string, Envelope>;
}

function rowIndex(q: QueryState): Map<string, string> {
  if (!q.rowIndex) {
    q.rowIndex = new Map();
    for (const e of q.view.emails.values())
      for (const c of e.copies) q.rowIndex.set(`${c.mailboxId}:${c.uid}`, e.id);
  }
  return q.rowIndex;
}

async function textMatches(q: QueryState, tq: TextQuery): Promise<Set<string>> {
  const idx = rowIndex(q);
  const out = new Set<string>();
  for (const mb of q.view.mailboxes) {
    for (const uid of await q.ctx.store.searchText(mb.id, tq)) {
      const id = idx.get(`${mb.id}:${uid}`);
      if (id) out.add(id);
    }
  }
  return out;
}

async function envelope(q: QueryState, e: EmailEntry): Promise<Envelope> {
  let env = q.envelopes.get(e.id);
  if (!env) {
    env = (await q.ctx.store.getParsed(e.storeBlob)).envelope;
    q.envelopes.set(e.id, env);
  }
  return env;
}

function threadKeyword(q: QueryState, e: EmailEntry, k: string, mode: "all" | "some" | "none"): boolean {
  const ids = q.view.threads.get(e.threadId) ?? [e.id];
  const has = ids.map((id) => q.view.emails.get(id)?.keywords.has(k) ?? false);
  return mode === "all" ? has.every(Boolean) : mode === "some" ? has.some(Boolean) : !has.some(Boolean);
}

/** compiles a FilterOperator / FilterCondition into an async predicate */
async function compile(q: QueryState, f: JsonObject): Promise<(e: EmailEntry) => Promise<boolean>> {
  if (typeof f.operator === "string") {
    if (!Array.isArray(f.conditions)) throw invalidArguments("conditions must be an array");
    const subs = await Promise.all(f.conditions.map((c) => compile(q, c as JsonObject)));
    const op = f.operator;
    if (op !== "AND" && op !== "OR" && op !== "NOT")
      throw new MethodError("unsupportedFilter", `operator ${op}`);
    return async (e) => {
      for (const s of subs) {
        const r = await s(e);
        if (op === "AND" && !r) return false;
        if (op === "OR" && r) return true;
        if (op === "NOT" && r) return false;
      }
      return op !== "OR";
    };
  }
  const tests: Array<(e: EmailEntry) => boolean | Promise<boolean>> = [];
  const mailboxNum = (id: Json): number => {
    const mb = typeof id === "string" ? q.view.mailboxById.get(id) : undefined;
    return mb ? mb.id : -1;
  };
  for (const [k, v] of Object.entries(f)) {
    switch (k) {
      case "inMailbox": {
        const id = mailboxNum(v);
        tests.push((e) => e.copies.some((c) => c.mailboxId === id));
        break;
      }
      case "inMailboxOtherThan": {
        if (!Array.isArray(v)) throw invalidArguments("inMailboxOtherThan must be Id[]");
        const ids = new Set(v.map(mailboxNum));
        tests.push((e) => e.copies.some((c) => !ids.has(c.mailboxId)));
        break;
      }
      case "before": {
        const t = utcArg(v, k);
        tests.push((e) => e.receivedAt.getTime() < t);
        break;
      }
      case "after": {
        const t = utcArg(v, k);
        tests.push((e) => e.receivedAt.getTime() >= t);
        break;
      }
      case "minSize":
      case "maxSize": {
        if (typeof v !== "number") throw invalidArguments(`${k} must be a number`);
        tests.push((e) => (k === "minSize" ? e.size >= v : e.size < v));
        break;
      }
      case "hasKeyword":
      case "notKeyword": {
        if (typeof v !== "string") throw invalidArguments(`${k} must be a string`);
        const kw = v.toLowerCase();
        tests.push((e) => e.keywords.has(kw) === (k === "hasKeyword"));
        break;
      }
      case "allInThreadHaveKeyword":
      case "someInThreadHaveKeyword":
      case "noneInThreadHaveKeyword": {
        if (typeof v !== "string") throw invalidArguments(`${k} must be a string`);
        const mode = k.startsWith("all") ? "all" : k.startsWith("some") ? "some" : "none";
        tests.push((e) => threadKeyword(q, e, v.toLowerCase(), mode));
        break;
      }
      case "hasAttachment": {
        if (typeof v !== "boolean") throw invalidArguments("hasAttachment must be a boolean");
        tests.push(async (e) => {
          const p = await q.ctx.store.getParsed(e.storeBlob);
          return flattenBody(rootRef(p)).att.length > 0 === v;
        });
        break;
      }
      case "header": {
        if (!Array.isArray(v) || v.length < 1 || v.length > 2 || !v.every((x) => typeof x === "string"))
          throw invalidArguments("header must be [name] or [name, value]");
        const name = (v[0] as string).toLowerCase();
        if (v.length === 2) {
          const set = await textMatches(q, { field: "header", header: name, value: v[1] as string });
          tests.push((e) => set.has(e.id));
        } else {
          tests.push(async (e) => {
            const { buf, parsed } = await loadMessage(q.ctx.store, e);
            return parseHeaderBlock(buf, parsed.root.headerStart, parsed.root.bodyStart).fields.some(
              (x) => x.name === name,
            );
          });
        }
        break;
      }
      default: {
        if (!TEXT_FIELDS.has(k)) throw new MethodError("unsupportedFilter", `unknown filter condition ${k}`);
        if (typeof v !== "string") throw invalidArguments(`${k} must be a string`);
        const tq: TextQuery =
          k === "text" || k === "body"
            ? { field: k, value: v }
            : { field: "header", header: k, value: v, ...(k === "subject" ? {} : { address: true }) };
        const set = await textMatches(q, tq);
        tests.push((e) => set.has(e.id));
      }
    }
  }
  return async (e) => {
    for (const t of tests) if (!(await t(e))) return false;
    return true;
  };
}

function firstAddress(list: Envelope["from"]): string {
  const a = list?.find((x) => x.host !== null);
  if (!a) return "";
  const name = a.name ? decodeWords(a.name).trim() : "";
  return (name || `${a.mailbox ?? ""}@${a.host}`).toLowerCase();
}

type Key = string | number;

async function sortKey(q: QueryState, e: EmailEntry, s: JsonObject): Promise<Key> {
  switch (s.property) {
    case "receivedAt":
      return e.receivedAt.getTime();
    case "size":
      return e.size;
    case "from":
      return firstAddress((await envelope(q, e)).from);
    case "to":
      return firstAddress((await envelope(q, e)).to);
    case "subject":
      return baseSubject(decodeWords((await envelope(q, e)).subject ?? ""));
    case "sentAt": {
      const env = await envelope(q, e);
      return parseDate(env.date) ?? e.receivedAt.getTime();
    }
    case "hasKeyword":
      return e.keywords.has(String(s.keyword).toLowerCase()) ? 1 : 0;
    case "allInThreadHaveKeyword":
      return threadKeyword(q, e, String(s.keyword).toLowerCase(), "all") ? 1 : 0;
    case "someInThreadHaveKeyword":
      return threadKeyword(q, e, String(s.keyword).toLowerCase(), "some") ? 1 : 0;
  }
  throw new MethodError("unsupportedSort", `cannot sort by ${String(s.property)}`);
}

/** the query's result: every matching email id in order (before position/anchor/limit) */
export async function runQuery(
  ctx: MethodContext,
  args: JsonObject,
): Promise<{ ids: string[]; state: string; view: AccountView }> {
  const view = await accountView(ctx.store, ctx.account.id);
  const q: QueryState = { ctx, view, rowIndex: null, envelopes: new Map() };
  const filter = args.filter;
  let list = [...view.emails.values()];
  if (filter !== undefined && filter !== null) {
    if (typeof filter !== "object" || Array.isArray(filter))
      throw invalidArguments("filter must be an object");
    const pred = await compile(q, filter);
    const kept: EmailEntry[] = [];
    for (const e of list) if (await pred(e)) kept.push(e);
    list = kept;
  }
  const sort = (args.sort ?? [{ property: "receivedAt", isAscending: false }]) as Json;
  if (!Array.isArray(sort)) throw invalidArguments("sort must be an array");
  if (!sort.every((c) => c !== null && typeof c === "object" && !Array.isArray(c)))
    throw invalidArguments("sort must be Comparator[]");
  const comps = sort as JsonObject[];
  for (const s of comps) {
    if (!(EMAIL_SORT_PROPERTIES as readonly string[]).includes(String(s.property)))
      throw new MethodError("unsupportedSort", `cannot sort by ${String(s.property)}`);
    if (String(s.property).endsWith("Keyword") && typeof s.keyword !== "string")
      throw invalidArguments("keyword required");
    if (s.collation !== undefined && s.collation !== "i;ascii-casemap" && s.collation !== "i;octet")
      throw new MethodError("unsupportedSort", `collation ${String(s.collation)}`);
  }
  const keys = new Map<string, Key[]>();
  for (const e of list) {
    const k: Key[] = [];
    for (const s of comps) k.push(await sortKey(q, e, s));
    keys.set(e.id, k);
  }
  list.sort((a, b) => {
    const ka = keys.get(a.id)!;
    const kb = keys.get(b.id)!;
    for (let i = 0; i < comps.length; i++) {
      const x = ka[i]!;
      const y = kb[i]!;
      if (x === y) continue;
      const d = x < y ? -1 : 1;
      return comps[i]!.isAscending === false ? -d : d;
    }
    // a stable total order (RFC 8621 §4.4.2 leaves ties to the server): newest first, then id
    return b.receivedAt.getTime() - a.receivedAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  });
  let ids = list.map((e) => e.id);
  if (optBool(args, "collapseThreads", false)) {
    const seen = new Set<string>();
    ids = [];
    for (const e of list) {
      if (seen.has(e.threadId)) continue;
      seen.add(e.threadId);
      ids.push(e.id);
    }
  }
  return { ids, state: view.state, view };
}

const query: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const fast = await mailboxPage(args, ctx);
  if (fast) return fast;
  // a mailbox with the webmail's search conditions: that mailbox's rows only; else the account view
  const filtered = await filteredMailboxIds(args, ctx);
  const { ids, state } = filtered ?? (await runQuery(ctx, args));
  const total = ids.length;
  let position = 0;
  if (args.anchor !== undefined && args.anchor !== null) {
    // RFC 8620 §5.5: anchor + anchorOffset; position is ignored
    const i = ids.indexOf(String(args.anchor));
    if (i < 0) throw new MethodError("anchorNotFound");
    const off = typeof args.anchorOffset === "number" ? args.anchorOffset : 0;
    position = Math.max(0, i + off);
  } else {
    const p = args.position ?? 0;
    if (typeof p !== "number" || !Number.isSafeInteger(p))
      throw invalidArguments("position must be an integer");
    position = p < 0 ? Math.max(0, total + p) : p;
  }
  const limit = optInt(args, "limit", ctx.limits.max_objects_in_get);
  const page = ids.slice(position, position + Math.min(limit, ctx.limits.max_objects_in_get));
  const out: JsonObject = {
    accountId: ctx.accountId,
    queryState: state,
    // the filtered mailbox query has query states (email-query-changes.ts); the general one not
    canCalculateChanges: filtered !== null,
    position: Math.min(position, total),
    ids: page,
  };
  if (args.calculateTotal === true) out.total = total;
  if (limit > ctx.limits.max_objects_in_get) out.limit = ctx.limits.max_objects_in_get;
  return out;
};

export const emailQueryMethods: Array<[string, MethodHandler]> = [
  ["Email/query", query],
  ["Email/queryChanges", emailQueryChanges],
];
