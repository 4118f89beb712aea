/**
 * Mailbox/get, /changes, /query, /queryChanges, /set (RFC 8621 §2). Ids are the IMAP MAILBOXID
 * values; roles come from the special-use attributes (RFC 8621 §2 role = RFC 8457 registry
 * names, lower-case); names are the last hierarchy component of the store's "/"-separated name.
 */
import { type JmapMailboxCounts, type Mailbox, StoreError } from "../../store/types.ts";
import {
  invalidArguments,
  type Json,
  type JsonObject,
  type MethodContext,
  MethodError,
  type MethodHandler,
} from "../core/types.ts";
import {
  checkIfInState,
  idsArg,
  propertiesArg,
  requireAccount,
  resolveId,
  setCount,
  setObjects,
  setResponse,
  standardChanges,
} from "./common.ts";
import { type MailboxView, mailboxJmapId, mailboxView } from "./view.ts";

const PROPS = [
  "id",
  "name",
  "parentId",
  "role",
  "sortOrder",
  "totalEmails",
  "unreadEmails",
  "totalThreads",
  "unreadThreads",
  "myRights",
  "isSubscribed",
] as const;

export function roleOf(mb: Mailbox): string | null {
  if (mb.name.toUpperCase() === "INBOX") return "inbox";
  return mb.specialUse ? mb.specialUse.slice(1).toLowerCase() : null;
}

function leafName(mb: Mailbox): string {
  const i = mb.name.lastIndexOf("/");
  return i < 0 ? mb.name : mb.name.slice(i + 1);
}

function parentOf(mb: Mailbox, view: MailboxView): Mailbox | null {
  const i = mb.name.lastIndexOf("/");
  if (i < 0) return null;
  const parentName = mb.name.slice(0, i);
  return view.mailboxes.find((m) => m.name === parentName) ?? null;
}

const RIGHTS = {
  mayReadItems: true,
  mayAddItems: true,
  mayRemoveItems: true,
  maySetSeen: true,
  maySetKeywords: true,
  mayCreateChild: true,
  mayRename: true,
  mayDelete: true,
  maySubmit: true,
};

/**
 * RFC 8621 §2 counts over visible Emails ($seen or $draft = read) of every mailbox of the account,
 * from the store's counters and unread index (Store.jmapAccountCounts): no account-wide view.
 * Read once per request when a count is asked for, and kept per account while its state is the
 * same (rows read after the state may be newer, never older: the mailboxView rule).
 */
type Counts = () => Promise<Map<number, JmapMailboxCounts>>;

const countCache = new WeakMap<
  object,
  Map<number, { state: string; counts: Map<number, JmapMailboxCounts> }>
>();
const COUNT_CACHE_MAX = 256;

function countsOnce(ctx: MethodContext, state: string): Counts {
  let p: Promise<Map<number, JmapMailboxCounts>> | null = null;
  return () => {
    p ??= (async () => {
      let cache = countCache.get(ctx.store);
      if (!cache) countCache.set(ctx.store, (cache = new Map()));
      const hit = cache.get(ctx.account.id);
      if (hit && hit.state === state) return hit.counts;
      const counts = await ctx.store.jmapAccountCounts(ctx.account.id);
      if (cache.size >= COUNT_CACHE_MAX && !cache.has(ctx.account.id))
        cache.delete(cache.keys().next().value!);
      cache.set(ctx.account.id, { state, counts });
      return counts;
    })();
    return p;
  };
}

export async function mailboxObject(
  counts: Counts,
  mb: Mailbox,
  view: MailboxView,
  props: string[],
): Promise<JsonObject> {
  const want = props.some((p) => p.endsWith("Emails") || p.endsWith("Threads"));
  const c = want ? (await counts()).get(mb.id) : undefined;
  const parent = parentOf(mb, view);
  const all: Record<string, Json> = {
    id: mailboxJmapId(mb),
    name: leafName(mb),
    parentId: parent ? mailboxJmapId(parent) : null,
    role: roleOf(mb),
    sortOrder: roleOf(mb) === "inbox" ? 0 : 10,
    totalEmails: c?.emails ?? 0,
    unreadEmails: c?.unreadEmails ?? 0,
    totalThreads: c?.threads ?? 0,
    unreadThreads: c?.unreadThreads ?? 0,
    myRights: RIGHTS,
    isSubscribed: mb.subscribed,
  };
  const out: JsonObject = {};
  for (const p of props) out[p] = all[p] ?? null;
  return out;
}

const get: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const view = await mailboxView(ctx.store, ctx.account.id);
  const ids = idsArg(args, ctx);
  const props = propertiesArg(args, PROPS, PROPS);
  const counts = countsOnce(ctx, view.state);
  const list: JsonObject[] = [];
  const notFound: string[] = [];
  for (const id of ids ?? view.mailboxes.map(mailboxJmapId)) {
    const mb = view.mailboxById.get(id);
    if (mb) list.push(await mailboxObject(counts, mb, view, props));
    else notFound.push(id);
  }
  return { accountId: ctx.accountId, state: view.state, list, notFound };
};

const changes: MethodHandler = async (args, ctx) => {
  const r = await standardChanges(args, ctx, "mailbox", (id) => mailboxJmapId({ id: Number(id) }));
  return { ...r, updatedProperties: null };
};

function matches(mb: Mailbox, view: MailboxView, f: JsonObject): boolean {
  for (const [k, v] of Object.entries(f)) {
    switch (k) {
      case "parentId": {
        const p = parentOf(mb, view);
        if ((p ? mailboxJmapId(p) : null) !== v) return false;
        break;
      }
      case "name":
        if (typeof v !== "string" || !leafName(mb).toLowerCase().includes(v.toLowerCase())) return false;
        break;
      case "role":
        if (roleOf(mb) !== v) return false;
        break;
      case "hasAnyRole":
        if ((roleOf(mb) !== null) !== v) return false;
        break;
      case "isSubscribed":
        if (mb.subscribed !== v) return false;
        break;
      default:
        throw new MethodError("unsupportedFilter", `unknown filter ${k}`);
    }
  }
  return true;
}

function filterTree(mb: Mailbox, view: MailboxView, f: JsonObject): boolean {
  if (typeof f.operator === "string") {
    const conds = f.conditions;
    if (!Array.isArray(conds)) throw invalidArguments("conditions must be an array");
    const r = conds.map((c) => filterTree(mb, view, c as JsonObject));
    if (f.operator === "AND") return r.every(Boolean);
    if (f.operator === "OR") return r.some(Boolean);
    if (f.operator === "NOT") return !r.some(Boolean);
    throw new MethodError("unsupportedFilter", `unknown operator ${f.operator}`);
  }
  return matches(mb, view, f);
}

const query: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const view = await mailboxView(ctx.store, ctx.account.id);
  let list = [...view.mailboxes];
  const filter = setObjects(args.filter, "filter");
  if (filter) list = list.filter((m) => filterTree(m, view, filter));
  if (args.sort !== undefined && args.sort !== null && !Array.isArray(args.sort))
    throw invalidArguments("sort must be an array");
  const sort = (args.sort ?? []) as JsonObject[];
  if (!sort.every((c) => c !== null && typeof c === "object" && !Array.isArray(c)))
    throw invalidArguments("sort must be Comparator[]");
  for (const s of sort) {
    if (s.property !== "name" && s.property !== "sortOrder")
      throw new MethodError("unsupportedSort", `cannot sort by ${String(s.property)}`);
  }
  const cmp = (a: Mailbox, b: Mailbox): number => {
    for (const s of sort) {
      const dir = s.isAscending === false ? -1 : 1;
      const d =
        s.property === "name"
          ? leafName(a).localeCompare(leafName(b))
          : (roleOf(a) === "inbox" ? 0 : 10) - (roleOf(b) === "inbox" ? 0 : 10);
      if (d !== 0) return d * dir;
    }
    return a.id - b.id;
  };
  list.sort(cmp);
  const position = typeof args.position === "number" ? Math.max(0, args.position) : 0;
  const limit = typeof args.limit === "number" ? args.limit : list.length;
  const ids = list.slice(position, position + limit).map(mailboxJmapId);
  return {
    accountId: ctx.accountId,
    queryState: view.state,
    canCalculateChanges: false,
    position,
    ids,
    ...(args.calculateTotal === true ? { total: list.length } : {}),
  };
};

const queryChanges: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  throw new MethodError("cannotCalculateChanges");
};

function validName(v: Json | undefined): v is string {
  return (
    typeof v === "string" &&
    v.length > 0 &&
    v.length <= 1000 &&
    !v.includes("/") &&
    !/[\x00-\x1f\x7f]/.test(v)
  );
}

function storeErr(e: unknown): JsonObject {
  if (e instanceof StoreError) {
    if (e.code === "ALREADYEXISTS")
      return { type: "invalidProperties", properties: ["name"], description: e.message };
    if (e.code === "NONEXISTENT") return { type: "notFound", description: e.message };
    return { type: "forbidden", description: e.message };
  }
  throw e;
}

const set: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  setCount(args, ctx);
  const store = ctx.store;
  const acc = ctx.account.id;
  let view = await mailboxView(store, acc);
  const oldState = view.state;
  checkIfInState(args, oldState);
  const created: JsonObject = {};
  const notCreated: JsonObject = {};
  const updated: JsonObject = {};
  const notUpdated: JsonObject = {};
  const destroyed: string[] = [];
  const notDestroyed: JsonObject = {};
  const parentName = (pid: Json | undefined): string | null | undefined => {
    if (pid === undefined || pid === null) return null;
    if (typeof pid !== "string") return undefined;
    const id = resolveId(pid, ctx);
    const p = id ? view.mailboxById.get(id) : undefined;
    return p ? p.name : undefined;
  };
  for (const [cid, raw] of Object.entries(setObjects(args.create, "create") ?? {})) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      notCreated[cid] = { type: "invalidProperties", description: "not an object" };
      continue;
    }
    const o = raw;
    if (!validName(o.name)) {
      notCreated[cid] = { type: "invalidProperties", properties: ["name"] };
      continue;
    }
    const pn = parentName(o.parentId);
    if (pn === undefined) {
      notCreated[cid] = { type: "invalidProperties", properties: ["parentId"] };
      continue;
    }
    try {
      const mb = await store.createMailbox(acc, pn ? `${pn}/${o.name}` : o.name);
      if (o.isSubscribed === true) await store.setSubscribed(acc, mb.name, true);
      const id = mailboxJmapId(mb);
      ctx.createdIds.set(cid, id);
      view = await mailboxView(store, acc);
      created[cid] = {
        id,
        ...(await mailboxObject(countsOnce(ctx, view.state), view.mailboxById.get(id) ?? mb, view, [
          "totalEmails",
          "unreadEmails",
          "totalThreads",
          "unreadThreads",
          "myRights",
          "sortOrder",
          "role",
        ])),
      };
    } catch (e) {
      notCreated[cid] = storeErr(e);
    }
  }
  for (const [rawId, raw] of Object.entries(setObjects(args.update, "update") ?? {})) {
    const id = resolveId(rawId, ctx) ?? rawId;
    const mb = view.mailboxById.get(id);
    if (!mb) {
      notUpdated[rawId] = { type: "notFound" };
      continue;
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      notUpdated[rawId] = { type: "invalidPatch", description: "a patch must be an object" };
      continue;
    }
    const o = raw;
    try {
      for (const k of Object.keys(o)) {
        // sortOrder is fixed (inbox 0, others 10): setting it to another value is refused
        const fixedSort = k === "sortOrder" && o.sortOrder === (roleOf(mb) === "inbox" ? 0 : 10);
        if (!["name", "parentId", "isSubscribed"].includes(k) && !fixedSort)
          throw Object.assign(new Error(), { setError: { type: "invalidProperties", properties: [k] } });
      }
      let name = mb.name;
      if ("name" in o || "parentId" in o) {
        if ("name" in o && !validName(o.name))
          throw Object.assign(new Error(), { setError: { type: "invalidProperties", properties: ["name"] } });
        const leaf = "name" in o ? (o.name as string) : leafName(mb);
        const pn = "parentId" in o ? parentName(o.parentId) : (parentOf(mb, view)?.name ?? null);
        if (pn === undefined || (pn !== null && (pn === mb.name || pn.startsWith(`${mb.name}/`))))
          throw Object.assign(new Error(), {
            setError: { type: "invalidProperties", properties: ["parentId"] },
          });
        name = pn ? `${pn}/${leaf}` : leaf;
        // an IMAP RENAME of INBOX moves its messages into a new mailbox: not a JMAP rename
        if (name !== mb.name && roleOf(mb) === "inbox")
          throw Object.assign(new Error(), {
            setError: { type: "forbidden", description: "INBOX cannot be renamed" },
          });
        if (name !== mb.name) await store.renameMailbox(acc, mb.name, name);
      }
      if (typeof o.isSubscribed === "boolean" && o.isSubscribed !== mb.subscribed)
        await store.setSubscribed(acc, name, o.isSubscribed);
      updated[id] = null;
      view = await mailboxView(store, acc);
    } catch (e) {
      const se = (e as { setError?: JsonObject }).setError;
      notUpdated[rawId] = se ?? storeErr(e);
    }
  }
  const removeEmails = args.onDestroyRemoveEmails === true;
  const destroy = args.destroy ?? [];
  if (!Array.isArray(destroy) || !destroy.every((d) => typeof d === "string"))
    throw invalidArguments("destroy must be Id[]");
  for (const rawId of destroy as string[]) {
    const id = resolveId(rawId, ctx) ?? rawId;
    const mb = view.mailboxById.get(id);
    if (!mb) {
      notDestroyed[rawId] = { type: "notFound" };
      continue;
    }
    // RFC 8621 §2.5: mailboxHasChild / mailboxHasEmail
    if (view.mailboxes.some((m) => m.name.startsWith(`${mb.name}/`))) {
      notDestroyed[rawId] = { type: "mailboxHasChild" };
      continue;
    }
    if (!removeEmails && (await store.listMessages(mb.id)).length > 0) {
      notDestroyed[rawId] = { type: "mailboxHasEmail" };
      continue;
    }
    if (roleOf(mb) === "inbox") {
      notDestroyed[rawId] = { type: "forbidden", description: "INBOX cannot be destroyed" };
      continue;
    }
    try {
      await store.deleteMailbox(acc, mb.name);
      destroyed.push(id);
      view = await mailboxView(store, acc);
    } catch (e) {
      notDestroyed[rawId] = storeErr(e);
    }
  }
  return setResponse({
    accountId: ctx.accountId,
    oldState,
    newState: await store.currentState(acc),
    created,
    updated,
    destroyed,
    notCreated,
    notUpdated,
    notDestroyed,
  });
};

export const mailboxMethods: Array<[string, MethodHandler]> = [
  ["Mailbox/get", get],
  ["Mailbox/changes", changes],
  ["Mailbox/query", query],
  ["Mailbox/queryChanges", queryChanges],
  ["Mailbox/set", set],
];
