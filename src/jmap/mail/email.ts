/** The Email methods (RFC 8621 §4). */
import type { BlobStore } from "../core/blob.ts";
import type { JmapDeps, MethodHandler } from "../core/types.ts";
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
];
