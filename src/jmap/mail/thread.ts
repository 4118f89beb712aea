/** Thread/get and Thread/changes (RFC 8621 §3). Ids are the IMAP THREADID values. */
import type { JsonObject, MethodHandler } from "../core/types.ts";
import { idsArg, requireAccount, standardChanges } from "./common.ts";
import { accountView, emailJmapId, loadThreads } from "./view.ts";

const get: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const ids = idsArg(args, ctx);
  let state: string;
  let threads: Map<string, string[]>;
  if (ids) {
    // the named Threads only, by the store's threadId lookup (not the whole account)
    state = await ctx.store.currentState(ctx.account.id);
    threads = await loadThreads(ctx.store, ctx.account.id, ids);
  } else {
    const view = await accountView(ctx.store, ctx.account.id);
    state = view.state;
    threads = view.threads;
  }
  const list: JsonObject[] = [];
  const notFound: string[] = [];
  for (const id of ids ?? [...threads.keys()]) {
    const emailIds = threads.get(id);
    // RFC 8621 §3: emailIds sorted by receivedAt, oldest first
    if (emailIds) list.push({ id, emailIds });
    else notFound.push(id);
  }
  return { accountId: ctx.accountId, state, list, notFound };
};

const changes: MethodHandler = (args, ctx) => standardChanges(args, ctx, "thread", emailJmapId);

export const threadMethods: Array<[string, MethodHandler]> = [
  ["Thread/get", get],
  ["Thread/changes", changes],
];
