/** Argument checks and the standard method shapes shared by the mail methods (RFC 8620 §5). */
import type { ChangeKind } from "../../store/types.ts";
import {
  invalidArguments,
  type Json,
  type JsonObject,
  type MethodContext,
  MethodError,
} from "../core/types.ts";

export function requireAccount(args: JsonObject, ctx: MethodContext): void {
  if (typeof args.accountId !== "string") throw invalidArguments("accountId is required");
  if (args.accountId !== ctx.accountId) throw new MethodError("accountNotFound");
}

/** ids: Id[] | null (null = all); at most maxObjectsInGet (RFC 8620 §5.1 requestTooLarge) */
export function idsArg(args: JsonObject, ctx: MethodContext): string[] | null {
  const ids = args.ids;
  if (ids === undefined || ids === null) return null;
  if (!Array.isArray(ids) || !ids.every((i) => typeof i === "string"))
    throw invalidArguments("ids must be Id[]");
  if (ids.length > ctx.limits.max_objects_in_get) throw new MethodError("requestTooLarge");
  // RFC 8620 §5.3: "#creationId" names an object created earlier in the request
  return (ids as string[]).map((id) => resolveId(id, ctx) ?? id);
}

export function propertiesArg(
  args: JsonObject,
  known: readonly string[],
  defaults: readonly string[],
): string[] {
  const p = args.properties;
  if (p === undefined || p === null) return [...defaults];
  if (!Array.isArray(p) || !p.every((x) => typeof x === "string"))
    throw invalidArguments("properties must be String[]");
  for (const x of p as string[]) {
    if (!known.includes(x)) throw invalidArguments(`unknown property ${x}`);
  }
  const out = p as string[];
  return out.includes("id") ? out : ["id", ...out];
}

export function optInt(args: JsonObject, name: string, def: number, min = 0): number {
  const v = args[name];
  if (v === undefined || v === null) return def;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min)
    throw invalidArguments(`${name} must be an integer ≥ ${min}`);
  return v;
}

export function optBool(args: JsonObject, name: string, def: boolean): boolean {
  const v = args[name];
  if (v === undefined || v === null) return def;
  if (typeof v !== "boolean") throw invalidArguments(`${name} must be a boolean`);
  return v;
}

/** RFC 8620 §5.3 ifInState */
export function checkIfInState(args: JsonObject, state: string): void {
  if (args.ifInState === undefined || args.ifInState === null) return;
  if (args.ifInState !== state) throw new MethodError("stateMismatch");
}

/** RFC 8620 §5.2 /changes over the account change log; mapId turns a log id into the JMAP id */
export async function standardChanges(
  args: JsonObject,
  ctx: MethodContext,
  kind: ChangeKind,
  mapId: (id: string) => string,
): Promise<JsonObject> {
  requireAccount(args, ctx);
  if (typeof args.sinceState !== "string") throw invalidArguments("sinceState is required");
  const max = optInt(args, "maxChanges", ctx.limits.max_changes, 1);
  const r = await ctx.store.changesSinceState(
    ctx.account.id,
    kind,
    args.sinceState,
    Math.min(max, ctx.limits.max_changes),
  );
  if (r === "cannotCalculateChanges") throw new MethodError("cannotCalculateChanges");
  return {
    accountId: ctx.accountId,
    oldState: r.oldState,
    newState: r.newState,
    hasMoreChanges: r.hasMoreChanges,
    created: r.created.map(mapId),
    updated: r.updated.map(mapId),
    destroyed: r.destroyed.map(mapId),
  };
}

/** "#creationId" → the id created earlier in the request (RFC 8620 §5.3) */
export function resolveId(id: string, ctx: MethodContext): string | null {
  if (!id.startsWith("#")) return id;
  return ctx.createdIds.get(id.slice(1)) ?? null;
}

export function setObjects(v: Json | undefined, name: string): JsonObject | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw invalidArguments(`${name} must be an object`);
  return v;
}

export function setCount(args: JsonObject, ctx: MethodContext): void {
  let n = 0;
  for (const k of ["create", "update"]) {
    const o = args[k];
    if (o && typeof o === "object" && !Array.isArray(o)) n += Object.keys(o).length;
  }
  if (Array.isArray(args.destroy)) n += args.destroy.length;
  if (n > ctx.limits.max_objects_in_set) throw new MethodError("requestTooLarge");
}

/** RFC 8620 §5.3: created/updated/destroyed/not* are null when empty */
export function setResponse(r: Record<string, Json>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(r)) {
    const empty =
      v !== null &&
      typeof v === "object" &&
      (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);
    out[k] = empty && k !== "accountId" ? null : v;
  }
  return out;
}
