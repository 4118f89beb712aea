/**
 * The vendor capability `urn:postkontor:params:jmap:account` (core/types.ts ACCOUNT): what the
 * webmail's settings need beyond RFC 8621, as JMAP methods (RFC 8620 §2 lets a vendor define
 * capabilities under a URI it owns).
 *
 *   Credentials/changePassword {accountId, oldPassword, newPassword} → {}
 *     forbidden: oldPassword is not the account's password (an app password is not enough; a
 *     wrong one is counted by login throttling); invalidArguments: the new password breaks the
 *     policy ([auth] min_password_length, cli/policy.ts), with the reason as description.
 *     The change bumps the credentials version: Bearer tokens, cached logins and every webmail
 *     session end, except the session of the calling request, which is renewed under a new
 *     cookie value (Set-Cookie on this answer; JmapAccountSettings.passwordChanged).
 *   AppPassword/get {accountId, ids|null, properties?} → {accountId, state, list, notFound}
 *     objects {id, name, createdAt, lastUsedAt, lastUsedBy} (UTCDate or null; lastUsedBy the
 *     protocol). The secret is never readable.
 *   AppPassword/set {accountId, ifInState?, create?, update?, destroy?} → the RFC 8620 §5.3 answer;
 *     create {name} → created {id, name, createdAt, secret} (the secret only here); update is
 *     refused (an app password is replaced, not edited); destroy revokes at once.
 *
 * The AppPassword state is a digest of the account's list (ids, names, last uses): a client
 * comparing states sees every change; there is no /changes.
 */
import { createHash } from "node:crypto";
import { hashPassword } from "../../auth/index.ts";
import { passwordProblem } from "../../cli/policy.ts";
import { type AppPassword, StoreError } from "../../store/types.ts";
import {
  invalidArguments,
  type JmapAccountSettings,
  type Json,
  type JsonObject,
  MethodError,
  type MethodHandler,
} from "../core/types.ts";
import {
  checkIfInState,
  idsArg,
  propertiesArg,
  requireAccount,
  setCount,
  setObjects,
  setResponse,
} from "../mail/common.ts";

const PROPERTIES = ["id", "name", "createdAt", "lastUsedAt", "lastUsedBy"] as const;
const MAX_PASSWORD_LENGTH = 1024;

/** RFC 8620 §1.4 UTCDate */
function utc(d: Date | null): string | null {
  return d === null ? null : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function appPasswordId(p: AppPassword): string {
  return `P${p.id}`;
}

function toJson(p: AppPassword): JsonObject {
  return {
    id: appPasswordId(p),
    name: p.name,
    createdAt: utc(p.createdAt),
    lastUsedAt: utc(p.lastUsedAt),
    lastUsedBy: p.lastUsedBy,
  };
}

function listState(list: AppPassword[]): string {
  const h = createHash("sha256");
  for (const p of list)
    h.update(`${p.id}\0${p.name}\0${p.lastUsedAt?.getTime() ?? ""}\0${p.lastUsedBy ?? ""}\n`);
  return h.digest("base64url").slice(0, 16);
}

function stringArg(args: JsonObject, name: string): string {
  const v = args[name];
  if (typeof v !== "string") throw invalidArguments(`${name} must be a string`);
  if (v.length > MAX_PASSWORD_LENGTH) throw invalidArguments(`${name} is longer than ${MAX_PASSWORD_LENGTH}`);
  return v;
}

export function accountMethods(settings: JmapAccountSettings): Array<[string, MethodHandler]> {
  const changePassword: MethodHandler = async (args, ctx) => {
    requireAccount(args, ctx);
    const oldPassword = stringArg(args, "oldPassword");
    const newPassword = stringArg(args, "newPassword");
    if (!(await settings.verifyAccountPassword(ctx.account, oldPassword, ctx.remoteAddress ?? "")))
      throw new MethodError("forbidden", "the old password is wrong");
    if (newPassword.length === 0) throw invalidArguments("the new password is empty");
    const problem = passwordProblem(newPassword, ctx.account.address, {
      minLength: settings.minPasswordLength,
    });
    if (problem) throw invalidArguments(problem);
    await ctx.store.setPassword(ctx.account.address, await hashPassword(newPassword));
    const updated = await ctx.store.getAccountById(ctx.account.id);
    if (updated) await settings.passwordChanged(updated, ctx.request, ctx.responseHeaders);
    return {};
  };

  const get: MethodHandler = async (args, ctx) => {
    requireAccount(args, ctx);
    const ids = idsArg(args, ctx);
    const props = propertiesArg(args, PROPERTIES, PROPERTIES);
    if (!props.includes("id")) props.unshift("id"); // RFC 8620 §5.1: id is always returned
    const all = await ctx.store.listAppPasswords(ctx.account.address);
    const byId = new Map(all.map((p) => [appPasswordId(p), p]));
    const want = ids ?? [...byId.keys()];
    const list: Json[] = [];
    const notFound: string[] = [];
    for (const id of want) {
      const p = byId.get(id);
      if (!p) {
        notFound.push(id);
        continue;
      }
      const o = toJson(p);
      list.push(Object.fromEntries(props.map((k) => [k, o[k] ?? null])));
    }
    return { accountId: ctx.accountId, state: listState(all), list, notFound };
  };

  const set: MethodHandler = async (args, ctx) => {
    requireAccount(args, ctx);
    setCount(args, ctx);
    const address = ctx.account.address;
    const oldState = listState(await ctx.store.listAppPasswords(address));
    checkIfInState(args, oldState);
    const created: JsonObject = {};
    const notCreated: JsonObject = {};
    for (const [cid, obj] of Object.entries(setObjects(args.create, "create") ?? {})) {
      const bad = createProblem(obj);
      if (bad) {
        notCreated[cid] = bad;
        continue;
      }
      try {
        const r = await ctx.store.addAppPassword(address, String((obj as JsonObject).name));
        const id = appPasswordId(r.appPassword);
        created[cid] = {
          id,
          name: r.appPassword.name,
          createdAt: utc(r.appPassword.createdAt),
          secret: r.secret,
        };
        ctx.createdIds.set(cid, id);
      } catch (e) {
        notCreated[cid] = storeSetError(e);
      }
    }
    const notUpdated: JsonObject = {};
    for (const id of Object.keys(setObjects(args.update, "update") ?? {}))
      notUpdated[id] = {
        type: "forbidden",
        description: "an app password cannot be changed; create a new one",
      };
    const destroy = args.destroy ?? [];
    if (!Array.isArray(destroy) || !destroy.every((d) => typeof d === "string"))
      throw invalidArguments("destroy must be Id[]");
    const destroyed: string[] = [];
    const notDestroyed: JsonObject = {};
    if (destroy.length > 0) {
      const byId = new Map((await ctx.store.listAppPasswords(address)).map((p) => [appPasswordId(p), p]));
      for (const raw of destroy as string[]) {
        const id = raw.startsWith("#") ? (ctx.createdIds.get(raw.slice(1)) ?? raw) : raw;
        const p = byId.get(id);
        if (!p) {
          notDestroyed[raw] = { type: "notFound" };
          continue;
        }
        try {
          await ctx.store.deleteAppPassword(address, p.name);
          destroyed.push(id);
        } catch (e) {
          notDestroyed[raw] = storeSetError(e);
        }
      }
    }
    return setResponse({
      accountId: ctx.accountId,
      oldState,
      newState: listState(await ctx.store.listAppPasswords(address)),
      created,
      updated: {},
      destroyed,
      notCreated,
      notUpdated,
      notDestroyed,
    });
  };

  return [
    ["Credentials/changePassword", changePassword],
    ["AppPassword/get", get],
    ["AppPassword/set", set],
  ];
}

/** a SetError for a create object that is not {name: String} (RFC 8620 §5.3 invalidProperties) */
function createProblem(obj: Json): JsonObject | null {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj))
    return { type: "invalidProperties", description: "an AppPassword must be an object" };
  const extra = Object.keys(obj).filter((k) => k !== "name");
  if (typeof obj.name !== "string") return { type: "invalidProperties", properties: ["name"] };
  if (extra.length > 0)
    return { type: "invalidProperties", properties: extra, description: "only name can be set" };
  return null;
}

function storeSetError(e: unknown): JsonObject {
  if (e instanceof StoreError) {
    if (e.code === "ALREADYEXISTS")
      return { type: "invalidProperties", properties: ["name"], description: e.message };
    if (e.code === "INVALID")
      return { type: "invalidProperties", properties: ["name"], description: e.message };
    if (e.code === "NONEXISTENT") return { type: "notFound" };
  }
  throw e;
}
