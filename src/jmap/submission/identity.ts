/**
 * Identity (RFC 8621 §6). Every address the account may send as (its own and the aliases that
 * resolve to it — the SMTP submission rule, smtp/submit.ts sendAsKeys) is a default identity
 * with a stable id derived from the address and mayDelete false; clients may edit its name,
 * replyTo, bcc and signatures. Identity/set create adds further identities (random ids,
 * mayDelete true), each for an address the account may send as (forbiddenFrom otherwise).
 * Stored edits and created identities are `jmap_object` rows of type "Identity"; the state is
 * that type's counter (a change of aliases alone does not move it).
 */
import { createHash, randomBytes } from "node:crypto";
import { addressStringKey } from "../../smtp/submission-policy.ts";
import { sendAsKeys } from "../../smtp/submit.ts";
import type { Json, JsonObject, MethodContext, MethodHandler } from "../core/types.ts";
import { invalidArguments } from "../core/types.ts";
import {
  checkIfInState,
  idsArg,
  propertiesArg,
  requireAccount,
  resolveId,
  setCount,
  setObjects,
  setResponse,
} from "../mail/common.ts";
import { objectChanges } from "./objects.ts";

export const IDENTITY_TYPE = "Identity";

const PROPERTIES = [
  "id",
  "name",
  "email",
  "replyTo",
  "bcc",
  "textSignature",
  "htmlSignature",
  "mayDelete",
] as const;
const EDITABLE = ["name", "replyTo", "bcc", "textSignature", "htmlSignature"];
const MAX_TEXT = 10_000;

export interface Identity extends JsonObject {
  id: string;
  name: string;
  email: string;
  replyTo: Json;
  bcc: Json;
  textSignature: string;
  htmlSignature: string;
  mayDelete: boolean;
}

function defaultId(address: string): string {
  return `I${createHash("sha256").update(address.toLowerCase()).digest("base64url").slice(0, 20)}`;
}

/** The account's identities: defaults (one per send-as address) with stored edits, then created ones. */
export async function identities(ctx: MethodContext): Promise<Identity[]> {
  const stored = new Map<string, Identity>();
  for (const o of await ctx.store.listJmapObjects(ctx.account.id, IDENTITY_TYPE))
    stored.set(o.id, JSON.parse(o.data) as Identity);
  const out: Identity[] = [];
  const seen = new Set<string>();
  for (const address of await ctx.store.addressesOf(ctx.account.id)) {
    const id = defaultId(address);
    if (seen.has(id)) continue;
    seen.add(id);
    const edit = stored.get(id);
    out.push({
      id,
      name: edit?.name ?? "",
      email: address,
      replyTo: edit?.replyTo ?? null,
      bcc: edit?.bcc ?? null,
      textSignature: edit?.textSignature ?? "",
      htmlSignature: edit?.htmlSignature ?? "",
      mayDelete: false,
    });
  }
  for (const [id, o] of stored) if (!seen.has(id) && o.mayDelete === true) out.push(o);
  return out;
}

/** EmailAddress[] | null (RFC 8621 §4.1.2.3) */
function emailAddresses(v: Json | undefined): boolean {
  if (v === null || v === undefined) return true;
  if (!Array.isArray(v) || v.length > 100) return false;
  return v.every(
    (a) =>
      a !== null &&
      typeof a === "object" &&
      !Array.isArray(a) &&
      typeof a.email === "string" &&
      addressStringKey(a.email) !== null &&
      (a.name === undefined || a.name === null || typeof a.name === "string"),
  );
}

/** the editable properties of o, checked; the name of the first bad one otherwise */
function editable(o: JsonObject, base: Identity): Identity | string {
  const next = { ...base };
  for (const [k, v] of Object.entries(o)) {
    if (k === "name" || k === "textSignature" || k === "htmlSignature") {
      if (typeof v !== "string" || v.length > MAX_TEXT) return k;
      next[k] = v;
    } else if (k === "replyTo" || k === "bcc") {
      if (!emailAddresses(v)) return k;
      next[k] = v ?? null;
    } else if (!EDITABLE.includes(k)) return k;
  }
  return next;
}

export const identityGet: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const ids = idsArg(args, ctx);
  const props = propertiesArg(args, PROPERTIES, PROPERTIES);
  const all = await identities(ctx);
  const byId = new Map(all.map((i) => [i.id, i]));
  const list: JsonObject[] = [];
  const notFound: string[] = [];
  for (const id of ids ?? all.map((i) => i.id)) {
    const i = byId.get(id);
    if (!i) {
      notFound.push(id);
      continue;
    }
    list.push(Object.fromEntries(props.map((p) => [p, i[p] ?? null])));
  }
  return {
    accountId: ctx.accountId,
    state: await ctx.store.jmapObjectState(ctx.account.id, IDENTITY_TYPE),
    list,
    notFound,
  };
};

export const identityChanges: MethodHandler = async (args, ctx) => {
  const r = await objectChanges(args, ctx, IDENTITY_TYPE);
  // the first stored edit of a default identity is an update of an object that always existed
  const defaults = new Set((await identities(ctx)).filter((i) => !i.mayDelete).map((i) => i.id));
  return {
    ...r,
    created: r.created.filter((id) => !defaults.has(id)),
    updated: [...r.updated, ...r.created.filter((id) => defaults.has(id))],
  };
};

export const identitySet: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  setCount(args, ctx);
  const type = IDENTITY_TYPE;
  const oldState = await ctx.store.jmapObjectState(ctx.account.id, type);
  checkIfInState(args, oldState);
  const all = await identities(ctx);
  const byId = new Map(all.map((i) => [i.id, i]));
  const sendAs = await sendAsKeys(ctx.store, ctx.account.id);
  const puts: Array<{ id: string; data: string }> = [];
  const deletes: string[] = [];
  const created: JsonObject = {};
  const notCreated: JsonObject = {};
  for (const [cid, o] of Object.entries(setObjects(args.create, "create") ?? {})) {
    if (o === null || typeof o !== "object" || Array.isArray(o))
      throw invalidArguments("create values must be objects");
    if (typeof o.email !== "string") {
      notCreated[cid] = { type: "invalidProperties", properties: ["email"] };
      continue;
    }
    // RFC 8621 §6.3: forbiddenFrom — the user may not send from this address
    if (!sendAs.has(addressStringKey(o.email) ?? "")) {
      notCreated[cid] = {
        type: "forbiddenFrom",
        description: `${ctx.account.address} may not send as ${o.email}`,
      };
      continue;
    }
    const { email: _e, ...rest } = o;
    const base: Identity = {
      id: `I${randomBytes(12).toString("base64url")}`,
      name: "",
      email: o.email,
      replyTo: null,
      bcc: null,
      textSignature: "",
      htmlSignature: "",
      mayDelete: true,
    };
    const next = editable(rest, base);
    if (typeof next === "string") {
      notCreated[cid] = { type: "invalidProperties", properties: [next] };
      continue;
    }
    puts.push({ id: next.id, data: JSON.stringify(next) });
    byId.set(next.id, next);
    ctx.createdIds.set(cid, next.id);
    created[cid] = { id: next.id, mayDelete: true };
  }
  const updated: JsonObject = {};
  const notUpdated: JsonObject = {};
  for (const [rawId, patch] of Object.entries(setObjects(args.update, "update") ?? {})) {
    const id = resolveId(rawId, ctx) ?? rawId;
    const cur = byId.get(id);
    if (!cur) {
      notUpdated[rawId] = { type: "notFound" };
      continue;
    }
    if (patch === null || typeof patch !== "object" || Array.isArray(patch))
      throw invalidArguments("a patch must be an object");
    // email is immutable (RFC 8621 §6); id and mayDelete are server-set
    const bad = Object.keys(patch).find(
      (k) => !EDITABLE.includes(k) && !(k === "email" && patch.email === cur.email),
    );
    if (bad) {
      notUpdated[rawId] = { type: "invalidProperties", properties: [bad] };
      continue;
    }
    const { email: _e, ...rest } = patch;
    const next = editable(rest, cur);
    if (typeof next === "string") {
      notUpdated[rawId] = { type: "invalidProperties", properties: [next] };
      continue;
    }
    const i = puts.findIndex((p) => p.id === id);
    if (i >= 0) puts.splice(i, 1);
    puts.push({ id, data: JSON.stringify(next) });
    byId.set(id, next);
    updated[id] = null;
  }
  const destroyed: string[] = [];
  const notDestroyed: JsonObject = {};
  const destroy = args.destroy ?? [];
  if (!Array.isArray(destroy)) throw invalidArguments("destroy must be Id[]");
  for (const rawId of destroy) {
    const id = typeof rawId === "string" ? (resolveId(rawId, ctx) ?? rawId) : "";
    const cur = byId.get(id);
    if (!cur) notDestroyed[String(rawId)] = { type: "notFound" };
    else if (!cur.mayDelete)
      notDestroyed[id] = { type: "forbidden", description: "the identity of an account address" };
    else {
      deletes.push(id);
      byId.delete(id);
      destroyed.push(id);
    }
  }
  const kept = puts.filter((p) => !deletes.includes(p.id));
  const newState =
    kept.length + deletes.length > 0
      ? await ctx.store.writeJmapObjects(ctx.account.id, type, kept, deletes)
      : oldState;
  return setResponse({
    accountId: ctx.accountId,
    oldState,
    newState,
    created,
    updated,
    destroyed,
    notCreated,
    notUpdated,
    notDestroyed,
  });
};

export const identityMethods: Array<[string, MethodHandler]> = [
  ["Identity/get", identityGet],
  ["Identity/changes", identityChanges],
  ["Identity/set", identitySet],
];
