/** `/changes` over the store's per-account JMAP objects (jmap_object), RFC 8620 §5.2. */
import type { JmapObjectChanges } from "../../store/types.ts";
import type { JsonObject, MethodContext } from "../core/types.ts";
import { invalidArguments, MethodError } from "../core/types.ts";
import { optInt, requireAccount } from "../mail/common.ts";

export async function objectChanges(
  args: JsonObject,
  ctx: MethodContext,
  type: string,
): Promise<JsonObject & JmapObjectChanges> {
  requireAccount(args, ctx);
  if (typeof args.sinceState !== "string") throw invalidArguments("sinceState is required");
  const max = optInt(args, "maxChanges", ctx.limits.max_changes, 1);
  const r = await ctx.store.jmapObjectChanges(
    ctx.account.id,
    type,
    args.sinceState,
    Math.min(max, ctx.limits.max_changes),
  );
  if (r === "cannotCalculateChanges") throw new MethodError("cannotCalculateChanges");
  return { accountId: ctx.accountId, ...r } as JsonObject & JmapObjectChanges;
}
