/**
 * RFC 5267 §4: opening a live search context (RETURN (UPDATE) on SEARCH / SORT and their UID
 * forms) and CANCELUPDATE. The contexts themselves and their ADDTO/REMOVEFROM are in
 * ../search-context.ts.
 */
import type { Command, SearchReturnOpt } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import { bad } from "../errors.ts";
import { type Recompute, SearchContexts } from "../search-context.ts";
import type { SelectedState, Session } from "../session.ts";
import { quotedTag } from "./esearch.ts";

/** default of imap.limits.max_search_contexts */
export const DEFAULT_MAX_SEARCH_CONTEXTS = 10;

/**
 * RFC 5267 §4.3: a searching command with UPDATE whose tag already names a live context is
 * refused with BAD before it runs.
 */
export function checkUpdateTag(s: Session, tag: string, opts: readonly SearchReturnOpt[] | null): void {
  if (opts?.includes("UPDATE") && s.selected.view.contexts?.has(tag)) {
    throw bad(`Tag reuse: ${tag} already names a search context`);
  }
}

/**
 * Registers the context of a searching command that asked for UPDATE, with its first result
 * (UIDs in the requested order). Beyond the session's limit the command still answers its other
 * return options, with an untagged `NO [NOUPDATE "tag"]` (RFC 5267 §4.3.1).
 */
export async function openContext(
  s: Session,
  tag: string,
  opts: readonly SearchReturnOpt[] | null,
  kind: { uid: boolean; sort: boolean },
  results: readonly number[],
  recompute: Recompute,
): Promise<void> {
  if (!opts?.includes("UPDATE")) return;
  const v = s.selected.view;
  const max = s.ctx.opts.limits.maxSearchContexts ?? DEFAULT_MAX_SEARCH_CONTEXTS;
  if ((v.contexts?.size ?? 0) >= max) {
    await s.write(`* NO [NOUPDATE ${quotedTag(tag)}] Too many search contexts (limit ${max})\r\n`);
    return;
  }
  v.contexts ??= new SearchContexts();
  v.contexts.add(tag, kind.uid, kind.sort, [...results], recompute);
}

/** RFC 5267 §4.3.5 CANCELUPDATE "tag" …: every tag must name a live context, else BAD and none stops */
export async function cancelUpdate(
  _s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "CANCELUPDATE" }>,
  st: SelectedState,
): Promise<OkResult> {
  const cx = st.view.contexts;
  if (!cx?.cancel(cmd.tags)) throw bad("Unknown search context tag");
  if (cx.size === 0) st.view.contexts = null;
  return { code: null, text: "CANCELUPDATE completed" };
}
