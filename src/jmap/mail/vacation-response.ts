/**
 * VacationResponse (RFC 8621 §8) over the store's vacation settings (store/api/vacation.ts); the
 * responder that answers mail is smtp/vacation.ts. One object per account, id "singleton": it
 * cannot be created or destroyed (§8: "singleton"), only updated. The state is the account
 * change log's (kind vacationResponse), so `/changes`-style push works as for Email.
 */
import { StoreError, type VacationResponse } from "../../store/types.ts";
import type { JsonObject, MethodHandler } from "../core/types.ts";
import { invalidArguments } from "../core/types.ts";
import {
  checkIfInState,
  idsArg,
  propertiesArg,
  requireAccount,
  setCount,
  setObjects,
  setResponse,
} from "./common.ts";

const ID = "singleton";
const PROPERTIES = ["id", "isEnabled", "fromDate", "toDate", "subject", "textBody", "htmlBody"] as const;

/** RFC 8620 §1.4 UTCDate: "2014-10-30T14:12:00Z" (no fractions) */
function utc(d: Date | null): string | null {
  return d === null ? null : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function toJson(v: VacationResponse): JsonObject {
  return {
    id: ID,
    isEnabled: v.isEnabled,
    fromDate: utc(v.fromDate),
    toDate: utc(v.toDate),
    subject: v.subject,
    textBody: v.textBody,
    htmlBody: v.htmlBody,
  };
}

const UTC_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$/;

/** a patch → the store's partial settings, or the name of the first bad property */
function toPatch(p: JsonObject): Partial<VacationResponse> | string {
  const out: Partial<VacationResponse> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === "id") {
      if (v !== ID) return k;
    } else if (k === "isEnabled") {
      if (typeof v !== "boolean") return k;
      out.isEnabled = v;
    } else if (k === "fromDate" || k === "toDate") {
      if (v === null) out[k] = null;
      else if (typeof v === "string" && UTC_DATE.test(v) && Number.isFinite(Date.parse(v)))
        out[k] = new Date(v);
      else return k;
    } else if (k === "subject" || k === "textBody" || k === "htmlBody") {
      if (v !== null && typeof v !== "string") return k;
      out[k] = v;
    } else return k;
  }
  return out;
}

const vacationGet: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const ids = idsArg(args, ctx);
  const props = propertiesArg(args, PROPERTIES, PROPERTIES);
  const v = toJson(await ctx.store.getVacationResponse(ctx.account.id));
  const want = ids ?? [ID];
  return {
    accountId: ctx.accountId,
    state: await ctx.store.currentState(ctx.account.id),
    list: want.includes(ID) ? [Object.fromEntries(props.map((p) => [p, v[p] ?? null]))] : [],
    notFound: want.filter((i) => i !== ID),
  };
};

const vacationSet: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  setCount(args, ctx);
  const oldState = await ctx.store.currentState(ctx.account.id);
  checkIfInState(args, oldState);
  const notCreated: JsonObject = {};
  // RFC 8621 §8: the singleton cannot be created or destroyed
  for (const cid of Object.keys(setObjects(args.create, "create") ?? {}))
    notCreated[cid] = { type: "singleton", description: "there is exactly one VacationResponse" };
  const destroy = args.destroy ?? [];
  if (!Array.isArray(destroy)) throw invalidArguments("destroy must be Id[]");
  const notDestroyed: JsonObject = {};
  for (const id of destroy)
    notDestroyed[String(id)] =
      id === ID
        ? { type: "singleton", description: "the singleton cannot be destroyed" }
        : { type: "notFound" };
  const updated: JsonObject = {};
  const notUpdated: JsonObject = {};
  for (const [id, patch] of Object.entries(setObjects(args.update, "update") ?? {})) {
    if (id !== ID) {
      notUpdated[id] = { type: "notFound" };
      continue;
    }
    if (patch === null || typeof patch !== "object" || Array.isArray(patch))
      throw invalidArguments("a patch must be an object");
    const p = toPatch(patch);
    if (typeof p === "string") {
      notUpdated[id] = { type: "invalidProperties", properties: [p] };
      continue;
    }
    try {
      await ctx.store.setVacationResponse(ctx.account.id, p);
      updated[id] = null;
    } catch (e) {
      if (e instanceof StoreError && e.code === "INVALID")
        notUpdated[id] = { type: "invalidProperties", description: e.message };
      else throw e;
    }
  }
  return setResponse({
    accountId: ctx.accountId,
    oldState,
    newState: await ctx.store.currentState(ctx.account.id),
    created: {},
    updated,
    destroyed: [],
    notCreated,
    notUpdated,
    notDestroyed,
  });
};

export const vacationMethods: Array<[string, MethodHandler]> = [
  ["VacationResponse/get", vacationGet],
  ["VacationResponse/set", vacationSet],
];
