/**
 * The reader's toolbar: reply, reply all, forward (they open compose), delete, archive, junk,
 * move (a menu of folders), flag and read toggles. Changes go through actions.ts (Email/set),
 * which updates the list at once, rolls back and tells the user when the server refuses; the
 * reader's own view of the flags follows the same way.
 */
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { deleteEmails, moveToMailbox, moveToRole, setKeyword } from "../actions.ts";
import { t } from "../i18n/index.ts";
import { mailboxPath } from "../mail/mailboxes.ts";
import { compose, mailboxes, openEmailId } from "../state.ts";
import type { ComposeRequest } from "../types.ts";

export interface ToolbarProps {
  emailId: string;
  keywords: Record<string, true>;
  mailboxIds: Record<string, true>;
  /** applies a keyword change to what the reader shows (optimistic) */
  onKeyword: (keyword: string, on: boolean) => void;
}

/** Runs a move-away action (actions.ts tells the user when it fails); the reader closes when it worked. */
async function away(run: () => Promise<boolean>): Promise<void> {
  if (await run()) openEmailId.value = null;
}

export function ReaderToolbar(props: ToolbarProps) {
  const { emailId, keywords } = props;
  const [moveOpen, setMoveOpen] = useState(false);
  const flagged = keywords.$flagged === true;
  const seen = keywords.$seen === true;

  const open = (mode: ComposeRequest["mode"]) => {
    compose.value = { mode, emailId };
  };
  const toggle = async (keyword: string, on: boolean) => {
    props.onKeyword(keyword, on);
    if (!(await setKeyword([emailId], keyword, on))) props.onKeyword(keyword, !on);
  };
  const toRole = (role: "archive" | "junk") => void away(() => moveToRole([emailId], role));
  const targets = mailboxes.value.filter((m) => !props.mailboxIds[m.id]);
  const moveButton = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  // the menu takes the focus when it opens (a layout effect: before the browser paints it, so a key
  // pressed as soon as the menu shows lands in it); arrows move in it, Escape closes it — also
  // while the focus is still on the menu button (WAI-ARIA menu button)
  useLayoutEffect(() => {
    if (moveOpen) menu.current?.querySelector("button")?.focus();
  }, [moveOpen]);
  const menuKey = (ev: KeyboardEvent) => {
    if (!moveOpen) return;
    const items = [...(menu.current?.querySelectorAll("button") ?? [])];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    if (ev.key === "Escape") {
      ev.stopPropagation();
      setMoveOpen(false);
      moveButton.current?.focus();
    } else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const next = (at + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items[next]?.focus();
    }
  };

  return (
    <div class="reader-toolbar" role="toolbar" aria-label={t("reader.toolbar")}>
      <button type="button" onClick={() => open("reply")} aria-label={t("reader.reply")}>
        {t("reader.reply")}
      </button>
      <button type="button" onClick={() => open("replyAll")} aria-label={t("reader.replyAll")}>
        {t("reader.replyAll")}
      </button>
      <button type="button" onClick={() => open("forward")} aria-label={t("reader.forward")}>
        {t("reader.forward")}
      </button>
      <span class="reader-sep" />
      <button
        type="button"
        onClick={() => void away(() => deleteEmails([emailId]))}
        aria-label={t("reader.delete")}
      >
        {t("reader.delete")}
      </button>
      <button type="button" onClick={() => toRole("archive")} aria-label={t("reader.archive")}>
        {t("reader.archive")}
      </button>
      <button type="button" onClick={() => toRole("junk")} aria-label={t("reader.junk")}>
        {t("reader.junk")}
      </button>
      <div class="reader-move">
        <button
          type="button"
          aria-haspopup="menu"
          aria-expanded={moveOpen}
          aria-label={t("reader.move")}
          ref={moveButton}
          onClick={() => setMoveOpen(!moveOpen)}
          onKeyDown={menuKey}
        >
          {t("reader.move")}
        </button>
        {moveOpen && (
          <div class="reader-menu" role="menu" aria-label={t("reader.move")} ref={menu} onKeyDown={menuKey}>
            {targets.map((m) => (
              <div key={m.id} role="none">
                <button
                  type="button"
                  role="menuitem"
                  aria-label={t("reader.moveTo", { folder: mailboxPath(m) })}
                  onClick={() => {
                    setMoveOpen(false);
                    void away(() => moveToMailbox([emailId], m.id));
                  }}
                >
                  {mailboxPath(m)}
                </button>
              </div>
            ))}
          </div>
        )}
      </div>
      <span class="reader-sep" />
      <button
        type="button"
        aria-pressed={flagged}
        aria-label={flagged ? t("reader.unflag") : t("reader.flag")}
        onClick={() => void toggle("$flagged", !flagged)}
      >
        {flagged ? t("reader.unflag") : t("reader.flag")}
      </button>
      <button
        type="button"
        aria-label={seen ? t("reader.markUnread") : t("reader.markRead")}
        onClick={() => void toggle("$seen", !seen)}
      >
        {seen ? t("reader.markUnread") : t("reader.markRead")}
      </button>
      <button
        type="button"
        class="reader-close"
        aria-label={t("reader.close")}
        onClick={() => {
          openEmailId.value = null;
        }}
      >
        ×
      </button>
    </div>
  );
}
