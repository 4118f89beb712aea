/**
 * The login session (docs/architecture.md "Webmail"): GET /webmail/session restores it on
 * reload, POST /webmail/login starts it (the session cookie is HttpOnly; the answer carries the
 * CSRF token every JMAP POST sends), POST /webmail/logout ends it. After login the JMAP session
 * is fetched, the folders loaded and the push channel opened.
 */
import { t } from "./i18n/index.ts";
import { startLive } from "./mail/live.ts";
import { loadMailboxes } from "./mail/mailboxes.ts";
import { applyLocation } from "./route.ts";
import {
  compose,
  currentMailboxId,
  jmap,
  mailboxes,
  notify,
  online,
  openEmailId,
  search,
  selection,
  user,
  view,
} from "./state.ts";

let stopLive: (() => void) | null = null;

async function start(u: { username: string; csrf: string }): Promise<void> {
  jmap.setCsrf(u.csrf);
  await jmap.connect();
  applyLocation();
  await loadMailboxes();
  user.value = u;
  stopLive?.();
  stopLive = startLive();
}

function reset(): void {
  stopLive?.();
  stopLive = null;
  jmap.session = null;
  user.value = null;
  mailboxes.value = [];
  currentMailboxId.value = null;
  openEmailId.value = null;
  selection.value = new Set();
  compose.value = null;
  search.value = null;
  view.value = "mail";
  online.value = true;
}

/** On page load: answers true when the session cookie is still good (the app opens at once). */
export async function restoreSession(): Promise<boolean> {
  jmap.onUnauthorized = () => {
    if (!user.value) return;
    reset();
    notify(t("login.expired"), "error");
  };
  try {
    const res = await fetch("/webmail/session", { credentials: "same-origin" });
    if (!res.ok) return false;
    await start((await res.json()) as { username: string; csrf: string });
    return true;
  } catch {
    return false;
  }
}

/** Logs in; answers an error message for the form, or null on success. */
export async function login(username: string, password: string): Promise<string | null> {
  let res: Response;
  try {
    res = await fetch("/webmail/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    return t("login.unreachable");
  }
  if (res.status === 429) {
    const after = Number(res.headers.get("Retry-After"));
    return Number.isFinite(after) && after > 0
      ? t("login.throttledFor", { seconds: Math.ceil(after) })
      : t("login.throttled");
  }
  if (res.status === 401 || res.status === 403) return t("login.bad");
  if (!res.ok) return t("login.failed", { status: res.status });
  try {
    await start((await res.json()) as { username: string; csrf: string });
    return null;
  } catch (e) {
    return t("login.failed", { status: e instanceof Error ? e.message : String(e) });
  }
}

export async function logout(): Promise<void> {
  const csrf = user.value?.csrf ?? "";
  try {
    await fetch("/webmail/logout", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf },
    });
  } catch {
    // the cookie is cleared server-side when it is reached; the screen logs out either way
  }
  reset();
  history.replaceState(null, "", "/");
}
