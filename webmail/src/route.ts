/**
 * The address bar follows what is shown, so a reload, a link and the browser's Back work:
 * `/mail/<mailboxId>` a folder, `/mail/<mailboxId>/<emailId>` a message open in it, `/settings`.
 * The server answers any such page path with the app (docs/architecture.md "Webmail").
 * Opening another message of the same folder replaces the entry; other moves add one, so Back
 * on a phone goes from the message to the list.
 */
import { effect } from "@preact/signals";
import { currentMailboxId, openEmailId, search, showFolders, user, view } from "./state.ts";

interface Route {
  view: "mail" | "settings";
  mailboxId: string | null;
  emailId: string | null;
}

function decode(s: string | undefined): string | null {
  if (!s) return null;
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

export function parseRoute(pathname: string): Route {
  const parts = pathname.split("/").filter((p) => p !== "");
  if (parts[0] === "settings") return { view: "settings", mailboxId: null, emailId: null };
  if (parts[0] === "mail") return { view: "mail", mailboxId: decode(parts[1]), emailId: decode(parts[2]) };
  return { view: "mail", mailboxId: null, emailId: null };
}

function pathOf(r: Route): string {
  if (r.view === "settings") return "/settings";
  if (!r.mailboxId) return "/";
  const m = `/mail/${encodeURIComponent(r.mailboxId)}`;
  return r.emailId ? `${m}/${encodeURIComponent(r.emailId)}` : m;
}

/** Shows what the address names (on load, after login, on Back/Forward). */
export function applyLocation(): void {
  const r = parseRoute(location.pathname);
  view.value = r.view;
  if (r.view === "settings") return;
  if (r.mailboxId && r.mailboxId !== currentMailboxId.value) {
    currentMailboxId.value = r.mailboxId;
    search.value = null;
  }
  openEmailId.value = r.emailId;
  showFolders.value = false;
}

let shown: Route = { view: "mail", mailboxId: null, emailId: null };

/** Keeps the address in step with the state; answers the stop function. */
export function startRouting(): () => void {
  const onPop = () => {
    applyLocation();
    shown = parseRoute(location.pathname);
  };
  window.addEventListener("popstate", onPop);
  shown = parseRoute(location.pathname);
  const stop = effect(() => {
    if (!user.value) return;
    const r: Route = {
      view: view.value,
      mailboxId: currentMailboxId.value,
      emailId: view.value === "mail" ? openEmailId.value : null,
    };
    const path = pathOf(r);
    if (path === location.pathname) {
      shown = r;
      return;
    }
    const sameList = r.view === "mail" && shown.view === "mail" && r.mailboxId === shown.mailboxId;
    const first = shown.view === "mail" && !shown.mailboxId;
    if (first || (sameList && r.emailId && shown.emailId)) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
    shown = r;
  });
  return () => {
    stop();
    window.removeEventListener("popstate", onPop);
  };
}
