/** Thread/get and Thread/changes (RFC 8621 §3). Ids are the IMAP THREADID values. */
import type { JsonObject, MethodHandler } from "../core/types.ts";
import { idsArg, requireAccount, standardChanges } from "./common.ts";
import { accountView, emailJmapId } from "./view.ts";

const get: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const view = await accountView(ctx.store, ctx.account.id);
  const ids = idsArg(args, ctx);
  const list: JsonObject[] = [];
  const notFound: string[] = [];
  for (const id of ids ?? [...view.threads.keys()]) {
    const emailIds = view.threads.get(id);
    // RFC 8621 §3: emailIds sorted by receivedAt, oldest first
    if (emailIds) list.push({ id, emailIds });
    else notFound.push(id);
  }
  return { accountId: ctx.accountId, state: view.state, list, notFound };
};

const changes: MethodHandler = (args, ctx) => standardChanges(args, ctx, "thread", emailJmapId);

export const threadMethods: Array<[string, MethodHandler]> = [
  ["Thread/get", get],
  ["Thread/changes", changes],
];
