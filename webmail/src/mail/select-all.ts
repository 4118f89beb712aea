/**
 * "Select all": every message of the current query, not only the rows the virtualised list has
 * fetched. The ids come from Email/query alone (no Email/get), in pages of the server's
 * maxObjectsInGet (RFC 8620 §5.5: the server may cap `limit`), up to SELECT_ALL_MAX; a bigger
 * folder gets the first SELECT_ALL_MAX (newest first) and a notice saying so. In the
 * conversation view the query is run without collapseThreads, so every message of every
 * conversation is picked.
 */
import { signal } from "@preact/signals";
import { t } from "../i18n/index.ts";
import { jmap, notify, selection } from "../state.ts";
import { currentQuery } from "./cache.ts";

/** the most messages one select-all (and so one toolbar action) handles */
export const SELECT_ALL_MAX = 10_000;

/** a select-all is fetching ids */
export const selectingAll = signal(false);
/** the selection set by the last select-all (identity: any other change makes a new Set) */
let whole: ReadonlySet<string> | null = null;

/** is the current selection the whole query (as far as SELECT_ALL_MAX)? */
export function allPicked(): boolean {
  return whole !== null && selection.value === whole && whole.size > 0;
}

/** a core capability limit of the session (RFC 8620 §2), or the fallback */
export function coreLimit(name: "maxObjectsInGet" | "maxObjectsInSet", fallback: number): number {
  const v = jmap.session?.capabilities["urn:ietf:params:jmap:core"]?.[name];
  return typeof v === "number" && v > 0 ? v : fallback;
}

/** Picks every message of the current query (the list's folder or search). */
export async function selectAll(): Promise<void> {
  const q = currentQuery();
  if (!q || selectingAll.value) return;
  selectingAll.value = true;
  try {
    const page = coreLimit("maxObjectsInGet", 500);
    const out: string[] = [];
    let total = Number.POSITIVE_INFINITY;
    while (out.length < Math.min(total, SELECT_ALL_MAX)) {
      const r = await jmap.call<{ ids: string[]; total?: number }>("Email/query", {
        filter: q.filter,
        sort: [{ property: "receivedAt", isAscending: false }],
        collapseThreads: false,
        position: out.length,
        limit: Math.min(page, SELECT_ALL_MAX - out.length),
        calculateTotal: out.length === 0,
      });
      if (typeof r.total === "number") total = r.total;
      if (r.ids.length === 0) break;
      out.push(...r.ids);
    }
    // the user went to another folder or search meanwhile: that list is not what was asked for
    if (currentQuery() !== q) return;
    whole = new Set(out);
    selection.value = whole;
    if (total > SELECT_ALL_MAX)
      notify(
        t("list.selectAllCapped", { count: SELECT_ALL_MAX.toLocaleString(), total: total.toLocaleString() }),
      );
  } catch (e) {
    notify(t("error.actionFailed", { reason: e instanceof Error ? e.message : String(e) }), "error");
  } finally {
    selectingAll.value = false;
  }
}

export function selectNone(): void {
  if (selection.value.size > 0) selection.value = new Set();
}
