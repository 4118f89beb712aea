/** The Email methods (RFC 8621 §4). */
import type { BlobStore } from "../core/blob.ts";
import { invalidArguments, type JmapDeps, MethodError, type MethodHandler } from "../core/types.ts";
import { standardChanges } from "./common.ts";
import { emailGet } from "./email-get.ts";
import { emailQueryMethods } from "./email-query.ts";
import { emailSet } from "./email-set.ts";
import { emailJmapId } from "./view.ts";

export const emailMethods = (deps: JmapDeps, blobs: BlobStore): Array<[string, MethodHandler]> => [
  ["Email/get", emailGet],
  ["Email/changes", (args, ctx) => standardChanges(args, ctx, "email", emailJmapId)],
  ...emailQueryMethods,
  ["Email/set", emailSet(deps, blobs)],
  // RFC 8621 §4.7 / RFC 8620 §5.4: copying needs a second account; every account here is personal
  // and sees only itself, so another fromAccountId is never found
  [
    "Email/copy",
    async (args, ctx) => {
      if (typeof args.fromAccountId !== "string" || typeof args.accountId !== "string")
        throw invalidArguments("fromAccountId and accountId are required");
      if (args.accountId !== ctx.accountId) throw new MethodError("accountNotFound");
      if (args.fromAccountId === ctx.accountId)
        throw invalidArguments("fromAccountId must differ from accountId");
      throw new MethodError("fromAccountNotFound");
    },
  ],
];
