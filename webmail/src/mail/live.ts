/**
 * Live updates: the JMAP EventSource (RFC 8620 §7.3) names the types whose state moved; the
 * folders catch up by Mailbox/changes, the list by Email/changes (RFC 8621 §4.3) — changed
 * summaries are replaced in place, and when rows may have come or gone the visible window is
 * queried again: one request for the positions on screen, which works for every query (the
 * server's Email/queryChanges covers only `{inMailbox}` queries sorted by date) and costs no more
 * than applying a diff to a window. The scroll position is the list's own and stays.
 */
import { currentMailboxId, emitServerChange, jmap, online, search } from "../state.ts";
import type { EmailSummary } from "../types.ts";
import {
  currentQuery,
  emailState,
  emails,
  inList,
  invalidate,
  LIST_PROPERTIES,
  putEmails,
  setEmailState,
} from "./cache.ts";
import { refreshMailboxes } from "./mailboxes.ts";

let running = false;
let again = false;

/** Does this message belong in the current list (as far as the summary tells)? */
function belongs(e: EmailSummary): boolean {
  if (search.value) return true;
  const cur = currentMailboxId.value;
  return cur !== null && e.mailboxIds[cur] === true;
}

async function emailCatchUp(): Promise<void> {
  const since = emailState;
  if (!since || !currentQuery()) {
    invalidate();
    return;
  }
  try {
    const c = await jmap.call<{
      newState: string;
      created: string[];
      updated: string[];
      destroyed: string[];
      hasMoreChanges: boolean;
    }>("Email/changes", { sinceState: since, maxChanges: 500 });
    setEmailState(c.newState);
    let requery = c.hasMoreChanges || c.destroyed.some((id) => inList(id));
    const fetch = [...c.created, ...c.updated];
    if (fetch.length > 0) {
      const g = await jmap.call<{ list: EmailSummary[]; notFound: string[] }>("Email/get", {
        ids: fetch,
        properties: LIST_PROPERTIES,
      });
      const keep: EmailSummary[] = [];
      for (const e of g.list) {
        const listed = inList(e.id);
        if (listed !== belongs(e) || (search.value && c.created.includes(e.id))) requery = true;
        if (listed || emails.has(e.id)) keep.push(e);
      }
      if (g.notFound.some((id) => inList(id))) requery = true;
      if (currentQuery()?.collapseThreads && fetch.length > 0) requery = true;
      putEmails(keep);
    }
    if (requery) invalidate();
  } catch {
    // cannotCalculateChanges (RFC 8620 §5.2) or a failed request: start over from the window
    setEmailState(null);
    invalidate();
  }
}

/** One catch-up of everything (after a push, or when the connection comes back). */
export async function catchUp(types?: Record<string, string>): Promise<void> {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    let first = true;
    do {
      // a push that came in meanwhile may name other types: the next round catches up on all
      if (!first) types = undefined;
      first = false;
      again = false;
      const has = (k: string) => !types || k in types;
      if (has("Mailbox")) await refreshMailboxes().catch(() => {});
      if (has("Email") || has("Thread")) await emailCatchUp();
    } while (again);
  } finally {
    running = false;
  }
}

/**
 * Opens the push channel; answers the function that closes it. The banner shows while the
 * stream is down or the browser says it is offline; coming back catches up on everything.
 */
export function startLive(): () => void {
  let streamUp = true;
  let wasDown = false;
  const update = () => {
    const up = streamUp && navigator.onLine;
    online.value = up;
    if (up && wasDown) void catchUp();
    wasDown = !up;
  };
  const close = jmap.events(
    (changed) => {
      void catchUp(changed);
      emitServerChange(changed);
    },
    (up) => {
      streamUp = up;
      update();
    },
  );
  window.addEventListener("online", update);
  window.addEventListener("offline", update);
  return () => {
    close();
    window.removeEventListener("online", update);
    window.removeEventListener("offline", update);
  };
}
