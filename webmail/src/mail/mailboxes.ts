/**
 * The folders: Mailbox/get of all (RFC 8621 §2.1), kept current by Mailbox/changes (§2.2), the
 * tree built from parentId, and create/rename/delete by Mailbox/set (§2.5).
 */
import { t } from "../i18n/index.ts";
import { currentMailboxId, jmap, mailboxes, notify } from "../state.ts";
import type { Mailbox } from "../types.ts";

let mailboxState: string | null = null;

const ROLE_ORDER = ["inbox", "drafts", "sent", "archive", "junk", "trash"];

function rank(m: Mailbox): number {
  const i = ROLE_ORDER.indexOf(m.role ?? "");
  return i < 0 ? ROLE_ORDER.length : i;
}

export function compareMailboxes(a: Mailbox, b: Mailbox): number {
  return rank(a) - rank(b) || a.sortOrder - b.sortOrder || a.name.localeCompare(b.name);
}

export interface TreeNode {
  mailbox: Mailbox;
  depth: number;
}

/** The folders in display order, each with its depth (children after their parent). */
export function mailboxTree(list: readonly Mailbox[]): TreeNode[] {
  const byParent = new Map<string | null, Mailbox[]>();
  const ids = new Set(list.map((m) => m.id));
  for (const m of list) {
    const p = m.parentId && ids.has(m.parentId) ? m.parentId : null;
    const arr = byParent.get(p) ?? [];
    arr.push(m);
    byParent.set(p, arr);
  }
  const out: TreeNode[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const m of (byParent.get(parent) ?? []).sort(compareMailboxes)) {
      out.push({ mailbox: m, depth });
      if (depth < 20) walk(m.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** The folder's name as shown: special-use folders by role in the interface language. */
export function mailboxLabel(m: Mailbox): string {
  return m.role && ["inbox", "drafts", "sent", "archive", "junk", "trash"].includes(m.role)
    ? t(`role.${m.role}`)
    : m.name;
}

/** the path shown in the move menu (Parent / Child) */
export function mailboxPath(m: Mailbox): string {
  const parts = [mailboxLabel(m)];
  let p = m.parentId;
  for (let i = 0; p && i < 20; i++) {
    const parent = mailboxes.value.find((x) => x.id === p);
    if (!parent) break;
    parts.unshift(mailboxLabel(parent));
    p = parent.parentId;
  }
  return parts.join(" / ");
}

export async function loadMailboxes(): Promise<void> {
  const r = await jmap.call<{ list: Mailbox[]; state: string }>("Mailbox/get", { ids: null });
  mailboxes.value = r.list;
  mailboxState = r.state;
  const cur = currentMailboxId.value;
  if (!cur || !r.list.some((m) => m.id === cur)) {
    currentMailboxId.value = (r.list.find((m) => m.role === "inbox") ?? r.list[0])?.id ?? null;
  }
}

/** Catches up with Mailbox/changes; a full reload when the server cannot say (§2.2 cannotCalculateChanges). */
export async function refreshMailboxes(): Promise<void> {
  if (!mailboxState) return loadMailboxes();
  try {
    const c = await jmap.call<{
      newState: string;
      created: string[];
      updated: string[];
      destroyed: string[];
      hasMoreChanges: boolean;
    }>("Mailbox/changes", { sinceState: mailboxState, maxChanges: 500 });
    if (c.hasMoreChanges) return loadMailboxes();
    const fetch = [...c.created, ...c.updated];
    let list = mailboxes.value.filter((m) => !c.destroyed.includes(m.id));
    if (fetch.length > 0) {
      const g = await jmap.call<{ list: Mailbox[] }>("Mailbox/get", { ids: fetch });
      const got = new Map(g.list.map((m) => [m.id, m]));
      list = list.map((m) => got.get(m.id) ?? m);
      for (const m of g.list) if (!list.some((x) => x.id === m.id)) list.push(m);
    }
    mailboxState = c.newState;
    mailboxes.value = list;
    if (currentMailboxId.value && !list.some((m) => m.id === currentMailboxId.value)) {
      currentMailboxId.value = list.find((m) => m.role === "inbox")?.id ?? null;
    }
  } catch {
    await loadMailboxes();
  }
}

interface MailboxSetResult {
  created?: Record<string, { id: string }> | null;
  notCreated?: Record<string, { type: string; description?: string }> | null;
  notUpdated?: Record<string, { type: string; description?: string }> | null;
  notDestroyed?: Record<string, { type: string; description?: string }> | null;
}

async function mailboxSet(args: Record<string, unknown>): Promise<MailboxSetResult | null> {
  try {
    const r = await jmap.call<MailboxSetResult>("Mailbox/set", args);
    const err = [
      ...Object.values(r.notCreated ?? {}),
      ...Object.values(r.notUpdated ?? {}),
      ...Object.values(r.notDestroyed ?? {}),
    ][0];
    if (err) throw new Error(err.description ?? err.type);
    await refreshMailboxes();
    return r;
  } catch (e) {
    notify(t("error.folderFailed", { reason: e instanceof Error ? e.message : String(e) }), "error");
    return null;
  }
}

export async function createMailbox(name: string, parentId: string | null): Promise<string | null> {
  const r = await mailboxSet({ create: { n: { name, parentId } } });
  return r?.created?.n?.id ?? null;
}

export async function renameMailbox(id: string, name: string): Promise<boolean> {
  return (await mailboxSet({ update: { [id]: { name } } })) !== null;
}

/** Deletes the folder and the messages only in it (RFC 8621 §2.5 onDestroyRemoveEmails). */
export async function deleteMailbox(id: string): Promise<boolean> {
  return (await mailboxSet({ destroy: [id], onDestroyRemoveEmails: true })) !== null;
}
