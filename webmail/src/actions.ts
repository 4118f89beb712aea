/**
 * What the user does to messages, as JMAP Email/set calls (RFC 8621 §4.6): keywords (read,
 * flagged), moves between mailboxes, delete to Trash (destroy when already in Trash), archive,
 * junk. The list and the reader call these; the list's cache applies the change at once and
 * rolls it back when the server refuses (optimistic UI).
 */
import { t } from "./i18n/index.ts";
import { currentMailboxId, jmap, mailboxByRole, notify } from "./state.ts";

interface SetResult {
  updated?: Record<string, unknown> | null;
  destroyed?: string[] | null;
  notUpdated?: Record<string, { type: string; description?: string }> | null;
  notDestroyed?: Record<string, { type: string; description?: string }> | null;
}

function failures(r: SetResult): string[] {
  return [...Object.values(r.notUpdated ?? {}), ...Object.values(r.notDestroyed ?? {})].map(
    (e) => e.description ?? e.type,
  );
}

async function emailSet(args: Record<string, unknown>): Promise<void> {
  const r = await jmap.call<SetResult>("Email/set", args);
  const f = failures(r);
  if (f.length > 0) throw new Error(f[0]);
}

/** Sets or clears one keyword ($seen, $flagged, …) on the messages. */
export async function setKeyword(ids: string[], keyword: string, on: boolean): Promise<void> {
  const update: Record<string, Record<string, boolean | null>> = {};
  for (const id of ids) update[id] = { [`keywords/${keyword}`]: on ? true : null };
  await emailSet({ update });
}

/** Moves the messages out of the current mailbox into mailboxId. */
export async function moveToMailbox(ids: string[], mailboxId: string): Promise<void> {
  const from = currentMailboxId.value;
  const update: Record<string, Record<string, boolean | null>> = {};
  for (const id of ids) {
    const patch: Record<string, boolean | null> = { [`mailboxIds/${mailboxId}`]: true };
    if (from && from !== mailboxId) patch[`mailboxIds/${from}`] = null;
    update[id] = patch;
  }
  await emailSet({ update });
}

/** Moves the messages to the mailbox with that role (Trash, Archive, Junk). */
export async function moveToRole(ids: string[], role: "trash" | "archive" | "junk"): Promise<void> {
  const target = mailboxByRole(role);
  if (!target) {
    notify(t("error.noMailboxWithRole", { role }), "error");
    return;
  }
  await moveToMailbox(ids, target.id);
}

/** Delete: to Trash, or destroyed for good when the current mailbox is Trash. */
export async function deleteEmails(ids: string[]): Promise<void> {
  const trash = mailboxByRole("trash");
  if (!trash || currentMailboxId.value === trash.id) {
    await emailSet({ destroy: ids });
    return;
  }
  await moveToMailbox(ids, trash.id);
}
