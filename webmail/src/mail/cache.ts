/**
 * The message list's cache: the ids of the current query by position (a sparse array — a
 * 100,000-message folder holds only the windows that were looked at), the summaries of those
 * messages, and the query's total. Windows are fetched by position (RFC 8620 §5.5 `position`,
 * `limit`) with Email/get of the same ids in one request (a back-reference, §3.7). Local
 * changes (optimistic actions) apply at once and answer a rollback.
 */
import { signal } from "@preact/signals";
import { jmap } from "../state.ts";
import type { EmailSummary } from "../types.ts";

export const PAGE = 100;
export const LIST_PROPERTIES = [
  "id",
  "threadId",
  "mailboxIds",
  "keywords",
  "from",
  "to",
  "subject",
  "receivedAt",
  "size",
  "preview",
  "hasAttachment",
];

export interface ListQuery {
  filter: Record<string, unknown>;
  collapseThreads: boolean;
}

let query: ListQuery | null = null;
let queryKey = "";
/** bumped whenever what was fetched may be out of date (a new query or a server change) */
let gen = 0;
let ids: (string | undefined)[] = [];
/** page → the gen it was fetched in (or is being fetched in) */
const fetched = new Map<number, number>();
export const emails = new Map<string, EmailSummary>();
/** the query's total (null until the first window arrives) */
export const listTotal = signal<number | null>(null);
/** bumped on every change of the cache: the list re-renders */
export const listVersion = signal(0);
export const listError = signal<string | null>(null);
/** the Email state the cache is at (for Email/changes) */
export let emailState: string | null = null;
/** null: the next window fetched sets it (after Email/changes could not say) */
export function setEmailState(s: string | null): void {
  emailState = s;
}

function bump(): void {
  listVersion.value++;
}

/** Starts a new query (a folder, a search, threads on/off); nothing fetched is reused. */
export function setQuery(q: ListQuery): void {
  const key = JSON.stringify(q);
  if (key === queryKey) return;
  query = q;
  queryKey = key;
  gen++;
  ids = [];
  fetched.clear();
  listTotal.value = null;
  listError.value = null;
  bump();
}

export function currentQuery(): ListQuery | null {
  return query;
}

/** Marks everything fetched as stale: the visible window is fetched again, the rows shown meanwhile. */
export function invalidate(): void {
  gen++;
  fetched.clear();
  bump();
}

export function idAt(pos: number): string | undefined {
  return ids[pos];
}

export function emailAt(pos: number): EmailSummary | undefined {
  const id = ids[pos];
  return id === undefined ? undefined : emails.get(id);
}

/** the position of a message in the fetched part of the list, or -1 */
export function positionOf(id: string): number {
  return ids.indexOf(id);
}

/** the ids of the fetched rows between two positions (inclusive), for a shift-click range */
export function idsBetween(a: number, b: number): string[] {
  const out: string[] = [];
  for (let k = Math.min(a, b); k <= Math.max(a, b); k++) {
    const id = ids[k];
    if (id !== undefined) out.push(id);
  }
  return out;
}

export function inList(id: string): boolean {
  return ids.includes(id);
}

/** Fetches the windows covering positions from..to that are missing or stale. */
export function ensureRange(from: number, to: number): void {
  if (!query) return;
  const total = listTotal.value;
  if (total !== null) to = Math.min(to, total - 1);
  if (to < from && total !== null) return;
  for (let p = Math.floor(Math.max(0, from) / PAGE); p <= Math.floor(Math.max(0, to) / PAGE); p++) {
    if (fetched.get(p) === gen) {
      // fetched in this gen; fetch again only when a local removal left holes in it
      let hole = false;
      const end = total === null ? (p + 1) * PAGE : Math.min((p + 1) * PAGE, total);
      for (let k = p * PAGE; k < end; k++)
        if (ids[k] === undefined) {
          hole = true;
          break;
        }
      if (!hole) continue;
    }
    fetched.set(p, gen);
    void loadPage(p, gen, query);
  }
}

async function loadPage(p: number, g: number, q: ListQuery): Promise<void> {
  try {
    const r = await jmap.request([
      [
        "Email/query",
        {
          accountId: jmap.accountId,
          filter: q.filter,
          sort: [{ property: "receivedAt", isAscending: false }],
          collapseThreads: q.collapseThreads,
          position: p * PAGE,
          limit: PAGE,
          calculateTotal: true,
        },
        "q",
      ],
      [
        "Email/get",
        {
          accountId: jmap.accountId,
          "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
          properties: LIST_PROPERTIES,
        },
        "g",
      ],
    ]);
    if (g !== gen || q !== query) return;
    const [qr, gr] = r;
    if (!qr || qr[0] === "error" || !gr || gr[0] === "error") {
      const e = (qr?.[0] === "error" ? qr[1] : gr?.[1]) as
        | { type?: string; description?: string }
        | undefined;
      listError.value = e?.description ?? e?.type ?? "error";
      bump();
      return;
    }
    const qa = qr[1] as { ids: string[]; position: number; total?: number };
    const ga = gr[1] as { list: EmailSummary[]; state: string };
    for (const e of ga.list) emails.set(e.id, e);
    if (emailState === null) emailState = ga.state;
    if (typeof qa.total === "number") {
      if (ids.length > qa.total) ids.length = qa.total;
      listTotal.value = qa.total;
    }
    qa.ids.forEach((id, i) => {
      ids[qa.position + i] = id;
    });
    // a short page ends the list
    if (qa.ids.length < PAGE && listTotal.value === null) listTotal.value = qa.position + qa.ids.length;
    listError.value = null;
    bump();
  } catch (e) {
    if (g !== gen) return;
    listError.value = e instanceof Error ? e.message : String(e);
    bump();
  }
}

/** Replaces summaries (from Email/get after a server change). */
export function putEmails(list: EmailSummary[]): void {
  for (const e of list) emails.set(e.id, e);
  bump();
}

/**
 * Applies a change to the cached summaries at once (fn answers the new summary, or null when
 * the message leaves the list); answers the rollback, which restores the summaries and
 * re-fetches the window when rows were removed.
 */
export function applyLocal(
  targets: readonly string[],
  fn: (e: EmailSummary) => EmailSummary | null,
): () => void {
  const before = new Map<string, EmailSummary>();
  const gone = new Set<string>();
  for (const id of targets) {
    const e = emails.get(id);
    if (!e) continue;
    before.set(id, e);
    const next = fn(e);
    if (next) emails.set(id, next);
    else gone.add(id);
  }
  if (gone.size > 0) removeRows(gone);
  bump();
  return () => {
    for (const [id, e] of before) emails.set(id, e);
    if (gone.size > 0) invalidate();
    else bump();
  };
}

/** Takes rows out of the list, keeping the positions of the rest (holes stay holes). */
export function removeRows(gone: ReadonlySet<string>): void {
  const out: (string | undefined)[] = [];
  let j = 0;
  let removed = 0;
  for (let k = 0; k < ids.length; k++) {
    const v = ids[k];
    if (v !== undefined && gone.has(v)) {
      removed++;
      continue;
    }
    if (v !== undefined) out[j] = v;
    j++;
  }
  out.length = j;
  ids = out;
  if (listTotal.value !== null) listTotal.value = Math.max(0, listTotal.value - removed);
  bump();
}
