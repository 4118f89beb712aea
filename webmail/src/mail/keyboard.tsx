// biome-ignore-all lint/a11y/noStaticElementInteractions: clicking the backdrop closes the help (Escape does too)
// biome-ignore-all lint/a11y/useKeyWithClickEvents: Escape closes the help (handleKey)
// biome-ignore-all lint/a11y/noAutofocus: the help dialog's close button takes the focus
/**
 * Keyboard shortcuts (not while typing in a field): j/k next/previous, Enter/o open, r/a/f
 * reply/reply-all/forward, # delete, e archive, s flag, * a / * n select all / none (Ctrl+A in
 * the list, mail/list.tsx), / search, u back to the list, ? help.
 */
import { useEffect } from "preact/hooks";
import { deleteEmails, moveToRole, setKeyword, withThreads } from "../actions.ts";
import { t } from "../i18n/index.ts";
import { compose, cursor, helpOpen, openEmailId, selection, view } from "../state.ts";
import type { ComposeRequest } from "../types.ts";
import { emails, idAt, listTotal, positionOf } from "./cache.ts";
import { openAt } from "./list.tsx";
import { selectAll, selectNone } from "./select-all.ts";
import { targets } from "./toolbar.tsx";

export const SHORTCUTS: [keys: string, what: string][] = [
  ["j", "keys.next"],
  ["k", "keys.previous"],
  ["Enter / o", "keys.open"],
  ["u", "keys.back"],
  ["r", "keys.reply"],
  ["a", "keys.replyAll"],
  ["f", "keys.forward"],
  ["#", "keys.delete"],
  ["e", "keys.archive"],
  ["s", "keys.flag"],
  ["* a / Ctrl+A", "keys.selectAll"],
  ["* n", "keys.selectNone"],
  ["/", "keys.search"],
  ["?", "keys.help"],
];

function typing(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return (
    tag === "INPUT" ||
    tag === "TEXTAREA" ||
    tag === "SELECT" ||
    el.isContentEditable ||
    el.closest("[role=dialog]:not(.help), [role=alertdialog], [role=menu]") !== null
  );
}

function step(d: 1 | -1): void {
  const total = listTotal.value ?? 0;
  if (total === 0) return;
  const from = openEmailId.value ? positionOf(openEmailId.value) : -1;
  const base = from >= 0 ? from : cursor.value;
  const next = Math.max(0, Math.min(total - 1, base + d));
  if (openEmailId.value) openAt(next);
  else cursor.value = next;
}

/** the message a reply/forward/flag acts on: the open one, else the cursor's */
function current(): string | null {
  return openEmailId.value ?? idAt(cursor.value) ?? null;
}

function act(ids: string[], run: (ids: string[]) => void): void {
  if (ids.length === 0) return;
  selection.value = new Set();
  run(ids);
}

/** `*` was pressed: the next key picks (Gmail's `* a` all, `* n` none) */
let star = false;

export function handleKey(e: KeyboardEvent): void {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
  const starred = star;
  star = false;
  if (helpOpen.value) {
    if (e.key === "Escape" || e.key === "?") {
      helpOpen.value = false;
      e.preventDefault();
    }
    return;
  }
  if (compose.value || view.value !== "mail") return;
  const pick = () => {
    const ids = targets();
    if (ids.length > 0) return ids;
    const c = current();
    return c ? [c] : [];
  };
  const reply = (mode: ComposeRequest["mode"]) => {
    const id = current();
    if (id) compose.value = { mode, emailId: id };
  };
  if (e.key === "*") {
    star = true;
    e.preventDefault();
    return;
  }
  if (starred && (e.key === "a" || e.key === "n")) {
    if (e.key === "a") void selectAll();
    else selectNone();
    e.preventDefault();
    return;
  }
  switch (e.key) {
    case "j":
      step(1);
      break;
    case "k":
      step(-1);
      break;
    case "Enter":
    case "o":
      if ((e.target as HTMLElement | null)?.tagName === "BUTTON" && e.key === "Enter") return;
      openAt(cursor.value);
      break;
    case "u":
      if (openEmailId.value) {
        const p = positionOf(openEmailId.value);
        if (p >= 0) cursor.value = p;
      }
      openEmailId.value = null;
      document.querySelector<HTMLElement>("[data-testid=message-list]")?.focus();
      break;
    case "r":
      reply("reply");
      break;
    case "a":
      reply("replyAll");
      break;
    case "f":
      reply("forward");
      break;
    case "#":
      act(pick(), (ids) => void withThreads(ids).then((all) => deleteEmails(all)));
      break;
    case "e":
      act(pick(), (ids) => void withThreads(ids).then((all) => moveToRole(all, "archive")));
      break;
    case "s": {
      const ids = pick();
      const on = ids.some((id) => !emails.get(id)?.keywords.$flagged);
      if (ids.length > 0) void withThreads(ids).then((all) => setKeyword(all, "$flagged", on));
      break;
    }
    case "/":
      document.getElementById("search-input")?.focus();
      break;
    case "?":
      helpOpen.value = true;
      break;
    default:
      return;
  }
  e.preventDefault();
}

export function useShortcuts(): void {
  useEffect(() => {
    document.addEventListener("keydown", handleKey);
    return () => document.removeEventListener("keydown", handleKey);
  }, []);
}

export function Help() {
  if (!helpOpen.value) return null;
  return (
    <div class="overlay" onClick={() => (helpOpen.value = false)}>
      <div
        class="dialog help"
        role="dialog"
        aria-modal="true"
        aria-labelledby="help-title"
        onClick={(e) => e.stopPropagation()}
      >
        <h2 id="help-title">{t("keys.title")}</h2>
        <dl>
          {SHORTCUTS.map(([k, what]) => (
            <div key={k}>
              <dt>
                <kbd>{k}</kbd>
              </dt>
              <dd>{t(what)}</dd>
            </div>
          ))}
        </dl>
        <button type="button" autoFocus onClick={() => (helpOpen.value = false)}>
          {t("common.close")}
        </button>
      </div>
    </div>
  );
}
