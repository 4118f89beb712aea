/**
 * The list's toolbar: acts on the picked messages (or the open one): read/unread, flag/unflag,
 * move (a menu of folders), delete, archive, junk; Empty Trash in Trash; threads or messages.
 */
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import {
  deleteEmails,
  emptyMailbox,
  moveToMailbox,
  moveToRole,
  setKeyword,
  withThreads,
} from "../actions.ts";
import { askConfirm } from "../confirm.tsx";
import { t } from "../i18n/index.ts";
import {
  currentMailboxId,
  mailboxes,
  openEmailId,
  search,
  selection,
  setThreads,
  threads,
} from "../state.ts";
import { emails, listTotal } from "./cache.ts";
import { mailboxPath, mailboxTree } from "./mailboxes.ts";
import { allPicked, selectAll, selectingAll, selectNone } from "./select-all.ts";

/**
 * The header checkbox: ticked when every message of the list is picked, half-ticked when some
 * are; a click picks all (mail/select-all.ts, rows not yet fetched included) or none.
 */
function SelectAllBox() {
  const size = selection.value.size;
  const total = listTotal.value ?? 0;
  const all = allPicked() || (total > 0 && size >= total);
  return (
    <label class="check select-all" title={t("list.selectAll")}>
      <input
        type="checkbox"
        checked={all}
        indeterminate={size > 0 && !all}
        disabled={total === 0 || selectingAll.value}
        aria-label={t("list.selectAll")}
        onClick={() => {
          if (size > 0) selectNone();
          else void selectAll();
        }}
      />
      {selectingAll.value && <span class="picked-count">{t("list.selectingAll")}</span>}
    </label>
  );
}

/** what the toolbar and the shortcuts act on: the picked messages, else the open one */
export function targets(): string[] {
  if (selection.value.size > 0) return [...selection.value];
  return openEmailId.value ? [openEmailId.value] : [];
}

function done(): void {
  selection.value = new Set();
}

function MoveMenu({ ids }: { ids: string[] }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  // a layout effect: the focus is in the menu before it paints, so a key pressed as soon as it
  // shows (Escape, arrows) reaches the menu's handler
  useLayoutEffect(() => {
    if (!open) return;
    const first = ref.current?.querySelector<HTMLElement>("[role=menuitem]");
    first?.focus();
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);
  const cur = currentMailboxId.value;
  return (
    <div class="menu-wrap" ref={ref}>
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        disabled={ids.length === 0}
        onClick={() => setOpen(!open)}
      >
        {t("action.move")}
      </button>
      {open && (
        <div
          class="menu"
          role="menu"
          aria-label={t("action.moveTo")}
          tabIndex={-1}
          onKeyDown={(e) => {
            const items = [...(ref.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? [])];
            const i = items.indexOf(document.activeElement as HTMLElement);
            if (e.key === "Escape") setOpen(false);
            else if (e.key === "ArrowDown") items[(i + 1) % items.length]?.focus();
            else if (e.key === "ArrowUp") items[(i - 1 + items.length) % items.length]?.focus();
            else return;
            e.preventDefault();
            e.stopPropagation();
          }}
        >
          {mailboxTree(mailboxes.value)
            .filter((n) => n.mailbox.id !== cur || search.value)
            .map((n) => (
              <button
                type="button"
                role="menuitem"
                key={n.mailbox.id}
                onClick={() => {
                  setOpen(false);
                  done();
                  void withThreads(ids).then((all) => moveToMailbox(all, n.mailbox.id));
                }}
              >
                {mailboxPath(n.mailbox)}
              </button>
            ))}
        </div>
      )}
    </div>
  );
}

export function Toolbar() {
  const ids = targets();
  const none = ids.length === 0;
  const cur = mailboxes.value.find((m) => m.id === currentMailboxId.value);
  const inTrash = cur?.role === "trash" && !search.value;
  const anyUnread = ids.some((id) => !emails.get(id)?.keywords.$seen);
  const anyUnflagged = ids.some((id) => !emails.get(id)?.keywords.$flagged);
  const btn = (label: string, run: () => void, disabled = none) => (
    <button type="button" disabled={disabled} onClick={run}>
      {label}
    </button>
  );
  return (
    <div class="toolbar" role="toolbar" aria-label={t("toolbar.label")}>
      <SelectAllBox />
      {selection.value.size > 0 && (
        <span class="picked-count">{t("toolbar.picked", { count: selection.value.size })}</span>
      )}
      {anyUnread
        ? btn(t("action.markRead"), () => void withThreads(ids).then((all) => setKeyword(all, "$seen", true)))
        : btn(
            t("action.markUnread"),
            () => void withThreads(ids).then((all) => setKeyword(all, "$seen", false)),
          )}
      {anyUnflagged || none
        ? btn(t("action.flag"), () => void withThreads(ids).then((all) => setKeyword(all, "$flagged", true)))
        : btn(
            t("action.unflag"),
            () => void withThreads(ids).then((all) => setKeyword(all, "$flagged", false)),
          )}
      <MoveMenu ids={ids} />
      {btn(
        t("action.archive"),
        () => {
          done();
          void withThreads(ids).then((all) => moveToRole(all, "archive"));
        },
        none || cur?.role === "archive",
      )}
      {btn(
        t("action.junk"),
        () => {
          done();
          void withThreads(ids).then((all) => moveToRole(all, "junk"));
        },
        none || cur?.role === "junk",
      )}
      {btn(t("action.delete"), () => {
        done();
        void withThreads(ids).then((all) => deleteEmails(all));
      })}
      {inTrash &&
        btn(
          t("action.emptyTrash"),
          async () => {
            if (!cur) return;
            const ok = await askConfirm({
              title: t("action.emptyTrashTitle"),
              message: t("action.confirmEmptyTrash"),
              confirm: t("action.emptyTrash"),
            });
            if (ok) void emptyMailbox(cur.id);
          },
          listTotal.value === 0,
        )}
      <label class="check threads-toggle">
        <input
          type="checkbox"
          checked={threads.value}
          onChange={(e) => setThreads(e.currentTarget.checked)}
        />
        {t("toolbar.threads")}
      </label>
    </div>
  );
}
