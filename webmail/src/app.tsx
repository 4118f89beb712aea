/**
 * The app shell: the login screen when nobody is logged in; otherwise the header (search,
 * settings, logout), folders | message list | reader (one pane at a time on a phone width),
 * the compose view, settings, notices, the lost-connection banner and the shortcut help.
 */
import { useEffect, useState } from "preact/hooks";
import { Compose } from "./compose/compose.tsx";
import { ConfirmDialog } from "./confirm.tsx";
import { t } from "./i18n/index.ts";
import { LangSwitch, Login } from "./login.tsx";
import { Help, useShortcuts } from "./mail/keyboard.tsx";
import { MessageList } from "./mail/list.tsx";
import { mailboxLabel } from "./mail/mailboxes.ts";
import { clearSearch, SearchBox } from "./mail/search.tsx";
import { Sidebar } from "./mail/sidebar.tsx";
import { Toolbar } from "./mail/toolbar.tsx";
import { Reader } from "./reader/reader.tsx";
import { startRouting } from "./route.ts";
import { logout, restoreSession } from "./session.ts";
import { Settings } from "./settings/settings.tsx";
import {
  currentMailboxId,
  dismiss,
  helpOpen,
  mailboxes,
  notices,
  online,
  openEmailId,
  search,
  showFolders,
  user,
  view,
} from "./state.ts";
import "./strings-core.ts";

function Notices() {
  return (
    <div class="notices" aria-live="polite">
      {notices.value.map((n) => (
        <div key={n.id} class={`notice ${n.kind}`} role={n.kind === "error" ? "alert" : "status"}>
          <span>{n.text}</span>
          {n.action && (
            <button
              type="button"
              onClick={() => {
                n.action!.run();
                dismiss(n.id);
              }}
            >
              {n.action.label}
            </button>
          )}
          <button type="button" aria-label={t("common.dismiss")} onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

function Header() {
  return (
    <header class="top">
      <button
        type="button"
        class="phone-only"
        aria-label={t("nav.showFolders")}
        aria-expanded={showFolders.value}
        onClick={() => (showFolders.value = !showFolders.value)}
      >
        ☰
      </button>
      <span class="brand">{t("app.name")}</span>
      <SearchBox />
      <span class="spacer" />
      <button
        type="button"
        class="help-btn"
        aria-label={t("keys.title")}
        title={t("keys.title")}
        onClick={() => (helpOpen.value = true)}
      >
        ?
      </button>
      <button
        type="button"
        aria-pressed={view.value === "settings"}
        onClick={() => (view.value = view.value === "settings" ? "mail" : "settings")}
      >
        {t("nav.settings")}
      </button>
      <LangSwitch />
      <span class="who" title={user.value?.username}>
        {user.value?.username}
      </span>
      <button type="button" onClick={() => void logout()}>
        {t("nav.logout")}
      </button>
    </header>
  );
}

function Mail() {
  const open = openEmailId.value;
  const pane = showFolders.value ? "folders" : open ? "reader" : "list";
  const cur = mailboxes.value.find((m) => m.id === currentMailboxId.value);
  return (
    <div class={`mail pane-${pane}`}>
      <Sidebar />
      <main class="center" aria-label={t("nav.messages")}>
        <div class="list-head">
          <h1 class="folder-title">
            {search.value ? t("list.searchResults") : cur ? mailboxLabel(cur) : ""}
          </h1>
          {search.value && (
            <button type="button" onClick={clearSearch}>
              {t("search.back")}
            </button>
          )}
        </div>
        <Toolbar />
        <MessageList />
      </main>
      <section class="reader" aria-label={t("nav.reader")}>
        {open ? (
          <>
            <button type="button" class="phone-only back" onClick={() => (openEmailId.value = null)}>
              {t("nav.back")}
            </button>
            <Reader key={open} emailId={open} />
          </>
        ) : (
          <p class="empty">{t("reader.none")}</p>
        )}
      </section>
    </div>
  );
}

function Shell() {
  useShortcuts();
  return (
    <div class="shell">
      <Header />
      {!online.value && (
        <div class="offline" role="alert">
          {t("conn.lost")}
        </div>
      )}
      {view.value === "settings" ? (
        <main class="settings-view" aria-label={t("nav.settings")}>
          <button type="button" onClick={() => (view.value = "mail")}>
            {t("nav.backToMail")}
          </button>
          <Settings />
        </main>
      ) : (
        <Mail />
      )}
      <Compose />
      <Help />
      <ConfirmDialog />
    </div>
  );
}

export function App() {
  const [ready, setReady] = useState(false);
  useEffect(() => {
    const stop = startRouting();
    void restoreSession().finally(() => setReady(true));
    return stop;
  }, []);
  let body: preact.JSX.Element;
  if (!ready) body = <p class="loading-app">{t("app.loading")}</p>;
  else if (!user.value) body = <Login />;
  else body = <Shell />;
  return (
    <>
      {body}
      <Notices />
    </>
  );
}
