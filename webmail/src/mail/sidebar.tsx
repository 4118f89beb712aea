// biome-ignore-all lint/a11y/noAutofocus: the folder name field opened by the user takes the focus
/**
 * The folder pane: the tree (nested by parentId, special-use folders first with their icon and
 * their name in the interface language), unread counts, a drop target for dragged messages, and
 * create / rename / delete of folders.
 */
import { useState } from "preact/hooks";
import { moveToMailbox, withThreads } from "../actions.ts";
import { askConfirm } from "../confirm.tsx";
import { t } from "../i18n/index.ts";
import {
  compose,
  currentMailboxId,
  cursor,
  mailboxes,
  openEmailId,
  search,
  selection,
  showFolders,
  view,
} from "../state.ts";
import type { Mailbox } from "../types.ts";
import { Icon } from "./icons.tsx";
import { createMailbox, deleteMailbox, mailboxLabel, mailboxTree, renameMailbox } from "./mailboxes.ts";

/** the data type a dragged message row carries (JSON array of ids) */
export const DRAG_TYPE = "application/x-postkontor-emails";

export function openMailbox(id: string): void {
  currentMailboxId.value = id;
  search.value = null;
  openEmailId.value = null;
  selection.value = new Set();
  cursor.value = 0;
  view.value = "mail";
  showFolders.value = false;
}

function FolderItem({ m, depth }: { m: Mailbox; depth: number }) {
  const [over, setOver] = useState(false);
  const current = currentMailboxId.value === m.id && !search.value;
  const label = mailboxLabel(m);
  return (
    <li>
      <button
        type="button"
        class={`folder${current ? " current" : ""}${over ? " drop" : ""}`}
        style={{ paddingLeft: `${0.6 + depth * 1.1}rem` }}
        aria-current={current ? "page" : undefined}
        aria-label={
          m.unreadEmails > 0 ? t("folder.withUnread", { name: label, count: m.unreadEmails }) : label
        }
        data-testid={`folder-${m.role ?? m.name}`}
        onClick={() => openMailbox(m.id)}
        onDragOver={(e) => {
          if (e.dataTransfer?.types.includes(DRAG_TYPE)) {
            e.preventDefault();
            e.dataTransfer.dropEffect = "move";
            setOver(true);
          }
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          setOver(false);
          const raw = e.dataTransfer?.getData(DRAG_TYPE);
          if (!raw) return;
          e.preventDefault();
          try {
            const ids = JSON.parse(raw) as unknown;
            if (Array.isArray(ids) && ids.every((x) => typeof x === "string")) {
              selection.value = new Set();
              void withThreads(ids).then((all) => moveToMailbox(all, m.id));
            }
          } catch {
            // not ours
          }
        }}
      >
        <Icon name={m.role ?? "folder"} />
        <span class="name">{label}</span>
        {m.unreadEmails > 0 && (
          <span class="count" aria-hidden="true">
            {m.unreadEmails}
          </span>
        )}
      </button>
    </li>
  );
}

type Editing = { kind: "create" } | { kind: "rename"; id: string } | null;

function FolderForm({ editing, done }: { editing: NonNullable<Editing>; done: () => void }) {
  const current = editing.kind === "rename" ? mailboxes.value.find((m) => m.id === editing.id) : undefined;
  const [sub, setSub] = useState(false);
  const parent = currentMailboxId.value;
  return (
    <form
      class="folder-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const input = (e.currentTarget as HTMLFormElement).elements.namedItem("name") as HTMLInputElement;
        const name = input.value.trim();
        if (!name) return;
        if (editing.kind === "rename") await renameMailbox(editing.id, name);
        else {
          const id = await createMailbox(name, sub ? parent : null);
          if (id) openMailbox(id);
        }
        done();
      }}
    >
      <label>
        {editing.kind === "rename" ? t("folder.newName") : t("folder.name")}
        <input
          name="name"
          type="text"
          autoFocus
          defaultValue={current?.name ?? ""}
          onKeyDown={(e) => {
            if (e.key === "Escape") done();
          }}
        />
      </label>
      {editing.kind === "create" && parent && (
        <label class="check">
          <input type="checkbox" checked={sub} onChange={(e) => setSub(e.currentTarget.checked)} />
          {t("folder.inside", { name: mailboxLabel(mailboxes.value.find((m) => m.id === parent)!) })}
        </label>
      )}
      <div class="row">
        <button type="submit" class="primary">
          {editing.kind === "rename" ? t("folder.rename") : t("folder.create")}
        </button>
        <button type="button" onClick={done}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}

export function Sidebar() {
  const [editing, setEditing] = useState<Editing>(null);
  const cur = mailboxes.value.find((m) => m.id === currentMailboxId.value);
  // the special-use folders (Inbox, Sent, Trash …) stay as they are
  const mutable = cur !== undefined && !cur.role;
  return (
    <nav class="sidebar" aria-label={t("nav.folders")}>
      <button
        type="button"
        class="primary compose-btn"
        onClick={() => {
          compose.value = { mode: "new" };
        }}
      >
        {t("action.compose")}
      </button>
      <ul class="folders">
        {mailboxTree(mailboxes.value).map((n) => (
          <FolderItem key={n.mailbox.id} m={n.mailbox} depth={n.depth} />
        ))}
      </ul>
      {editing ? (
        <FolderForm editing={editing} done={() => setEditing(null)} />
      ) : (
        <div class="folder-actions">
          <button type="button" onClick={() => setEditing({ kind: "create" })}>
            {t("folder.new")}
          </button>
          <button
            type="button"
            disabled={!mutable}
            onClick={() => cur && setEditing({ kind: "rename", id: cur.id })}
          >
            {t("folder.renameCurrent")}
          </button>
          <button
            type="button"
            disabled={!mutable}
            onClick={async () => {
              if (!cur) return;
              const ok = await askConfirm({
                title: t("folder.deleteTitle"),
                message: t("folder.confirmDelete", { name: mailboxLabel(cur) }),
                confirm: t("folder.deleteCurrent"),
              });
              if (ok) void deleteMailbox(cur.id);
            }}
          >
            {t("folder.deleteCurrent")}
          </button>
        </div>
      )}
    </nav>
  );
}
