/**
 * What the user does to messages, as JMAP Email/set calls (RFC 8621 §4.6): keywords (read,
 * flagged), moves between mailboxes, delete to Trash (destroy when already in Trash), archive,
 * junk, empty Trash. The list and the reader call these; the list's cache (mail/cache.ts)
 * applies the change at once and rolls it back, with an error notice, when the server refuses
 * (optimistic UI). Each answers whether the server took it.
 */
import { t } from "./i18n/index.ts";
import { applyLocal, emails } from "./mail/cache.ts";
import { coreLimit } from "./mail/select-all.ts";
import {
  currentMailboxId,
  jmap,
  mailboxByRole,
  mailboxes,
  notify,
  openEmailId,
  search,
  selection,
  threads,
} from "./state.ts";
import type { EmailSummary, Mailbox } from "./types.ts";

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

/**
 * Email/set of an update map and/or a destroy list, split into calls of at most the session's
 * maxObjectsInSet (RFC 8620 §5.3: more is refused with requestTooLarge), one after another —
 * a select-all acts on up to 10,000 messages. Throws the first refusal.
 */
async function emailSet(args: {
  update?: Record<string, Record<string, boolean | null>>;
  destroy?: string[];
}): Promise<void> {
  const max = coreLimit("maxObjectsInSet", 500);
  const updates = Object.entries(args.update ?? {});
  const destroy = args.destroy ?? [];
  for (let i = 0; i < updates.length; i += max) {
    const r = await jmap.call<SetResult>("Email/set", {
      update: Object.fromEntries(updates.slice(i, i + max)),
    });
    const f = failures(r);
    if (f.length > 0) throw new Error(f[0]);
  }
  for (let i = 0; i < destroy.length; i += max) {
    const r = await jmap.call<SetResult>("Email/set", { destroy: destroy.slice(i, i + max) });
    const f = failures(r);
    if (f.length > 0) throw new Error(f[0]);
  }
}

/** Runs the server call after the local change; on refusal rolls back and says so. */
async function optimistic(rollback: () => void, run: () => Promise<void>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (e) {
    rollback();
    notify(t("error.actionFailed", { reason: e instanceof Error ? e.message : String(e) }), "error");
    return false;
  }
}

/**
 * The folder counts follow a local change at once (the server's Mailbox/changes confirms them
 * a moment later): each pair is a summary before and after (null: destroyed). Unread is neither
 * $seen nor $draft (RFC 8621 §2). Answers the undo.
 */
function countChanges(pairs: [EmailSummary, EmailSummary | null][]): () => void {
  const delta = new Map<string, { total: number; unread: number }>();
  const add = (e: EmailSummary, sign: number) => {
    const unread = e.keywords.$seen || e.keywords.$draft ? 0 : 1;
    for (const m of Object.keys(e.mailboxIds)) {
      const d = delta.get(m) ?? { total: 0, unread: 0 };
      d.total += sign;
      d.unread += sign * unread;
      delta.set(m, d);
    }
  };
  for (const [a, b] of pairs) {
    add(a, -1);
    if (b) add(b, 1);
  }
  const before = mailboxes.value;
  const changed = (m: Mailbox) => {
    const d = delta.get(m.id);
    return d !== undefined && (d.total !== 0 || d.unread !== 0);
  };
  if (!before.some(changed)) return () => {};
  mailboxes.value = before.map((m) => {
    if (!changed(m)) return m;
    const d = delta.get(m.id)!;
    return {
      ...m,
      totalEmails: Math.max(0, m.totalEmails + d.total),
      unreadEmails: Math.max(0, m.unreadEmails + d.unread),
    };
  });
  return () => {
    mailboxes.value = before;
  };
}

/** Does the message stay in the list after it leaves `from` / joins `to`? */
function staysListed(e: EmailSummary): boolean {
  if (search.value?.allFolders) return true;
  const cur = currentMailboxId.value;
  return cur === null || e.mailboxIds[cur] === true;
}

function leaveList(ids: readonly string[]): void {
  const gone = new Set(ids);
  if (openEmailId.value && gone.has(openEmailId.value)) openEmailId.value = null;
  const sel = new Set(selection.value);
  let changed = false;
  for (const id of gone) changed = sel.delete(id) || changed;
  if (changed) selection.value = sel;
}

/** Sets or clears one keyword ($seen, $flagged, …) on the messages. */
export async function setKeyword(ids: string[], keyword: string, on: boolean): Promise<boolean> {
  const update: Record<string, Record<string, boolean | null>> = {};
  for (const id of ids) update[id] = { [`keywords/${keyword}`]: on ? true : null };
  const pairs: [EmailSummary, EmailSummary][] = [];
  const undo = applyLocal(ids, (e) => {
    const keywords = { ...e.keywords };
    if (on) keywords[keyword] = true;
    else delete keywords[keyword];
    const next = { ...e, keywords };
    pairs.push([e, next]);
    return next;
  });
  const undoCounts = countChanges(pairs);
  const rollback = () => {
    undo();
    undoCounts();
  };
  return optimistic(rollback, () => emailSet({ update }));
}

/** Moves the messages into mailboxId, out of the folder they are listed in. */
export async function moveToMailbox(ids: string[], mailboxId: string): Promise<boolean> {
  const from = currentMailboxId.value;
  const update: Record<string, Record<string, boolean | null>> = {};
  for (const id of ids) {
    const patch: Record<string, boolean | null> = { [`mailboxIds/${mailboxId}`]: true };
    // out of the folder it is listed in; from a search over all folders, out of every other
    const known = emails.get(id);
    const listedIn = !search.value?.allFolders && from && (!known || known.mailboxIds[from]) ? from : null;
    const sources = listedIn ? [listedIn] : known ? Object.keys(known.mailboxIds) : [];
    for (const m of sources) if (m !== mailboxId) patch[`mailboxIds/${m}`] = null;
    update[id] = patch;
  }
  const leaving = new Set(ids.filter((id) => !emails.has(id)));
  const pairs: [EmailSummary, EmailSummary][] = [];
  const undo = applyLocal(ids, (e) => {
    const kept: Record<string, true> = {};
    for (const m of Object.keys(e.mailboxIds)) if (update[e.id]?.[`mailboxIds/${m}`] !== null) kept[m] = true;
    const next = { ...e, mailboxIds: { ...kept, [mailboxId]: true as const } };
    pairs.push([e, next]);
    if (staysListed(next)) return next;
    leaving.add(e.id);
    return null;
  });
  const undoCounts = countChanges(pairs);
  const rollback = () => {
    undo();
    undoCounts();
  };
  leaveList([...leaving]);
  return optimistic(rollback, () => emailSet({ update }));
}

/** Moves the messages to the mailbox with that role (Trash, Archive, Junk). */
export async function moveToRole(ids: string[], role: "trash" | "archive" | "junk"): Promise<boolean> {
  const target = mailboxByRole(role);
  if (!target) {
    notify(t("error.noMailboxWithRole", { role: t(`role.${role}`) }), "error");
    return false;
  }
  return moveToMailbox(ids, target.id);
}

/** Delete: to Trash, or destroyed for good when the message is in Trash already. */
export async function deleteEmails(ids: string[]): Promise<boolean> {
  const trash = mailboxByRole("trash");
  const inTrash = (id: string) => {
    const e = emails.get(id);
    return trash !== undefined && (e ? e.mailboxIds[trash.id] === true : currentMailboxId.value === trash.id);
  };
  const destroy = trash ? ids.filter(inTrash) : ids;
  const destroying = new Set(destroy);
  const move = ids.filter((id) => !destroying.has(id));
  let ok = true;
  if (destroy.length > 0) {
    const pairs: [EmailSummary, null][] = [];
    const undo = applyLocal(destroy, (e) => {
      pairs.push([e, null]);
      return null;
    });
    const undoCounts = countChanges(pairs);
    const rollback = () => {
      undo();
      undoCounts();
    };
    leaveList(destroy);
    ok = await optimistic(rollback, () => emailSet({ destroy }));
  }
  if (move.length > 0 && trash) ok = (await moveToMailbox(move, trash.id)) && ok;
  return ok;
}

/** Destroys everything in the mailbox (Empty Trash): Email/query and Email/set destroy in batches. */
export async function emptyMailbox(
  mailboxId: string,
  batch = Math.min(200, coreLimit("maxObjectsInSet", 200)),
): Promise<boolean> {
  try {
    for (;;) {
      const q = await jmap.call<{ ids: string[] }>("Email/query", {
        filter: { inMailbox: mailboxId },
        position: 0,
        limit: batch,
      });
      if (q.ids.length === 0) return true;
      if (currentMailboxId.value === mailboxId) applyLocal(q.ids, () => null);
      leaveList(q.ids);
      await emailSet({ destroy: q.ids });
    }
  } catch (e) {
    notify(t("error.actionFailed", { reason: e instanceof Error ? e.message : String(e) }), "error");
    return false;
  }
}

/**
 * In the conversation view a row stands for its thread: the ids plus the other messages of
 * their threads in the same list (the current folder, or anywhere for an all-folders search),
 * by Thread/get and Email/get in one request (RFC 8620 §3.7 back-reference). Answers the ids
 * unchanged in the message view or when the server cannot say.
 */
export async function withThreads(ids: string[]): Promise<string[]> {
  if (!threads.value || ids.length === 0) return ids;
  const threadIds = [...new Set(ids.map((id) => emails.get(id)?.threadId).filter((x) => x !== undefined))];
  if (threadIds.length === 0) return ids;
  try {
    const r = await jmap.request([
      ["Thread/get", { accountId: jmap.accountId, ids: threadIds }, "t"],
      [
        "Email/get",
        {
          accountId: jmap.accountId,
          "#ids": { resultOf: "t", name: "Thread/get", path: "/list/*/emailIds" },
          properties: ["id", "mailboxIds"],
        },
        "e",
      ],
    ]);
    const got = r[1];
    if (!got || got[0] === "error") return ids;
    const cur = search.value?.allFolders ? null : currentMailboxId.value;
    const out = new Set(ids);
    for (const e of (got[1] as { list: { id: string; mailboxIds: Record<string, boolean> }[] }).list)
      if (!cur || e.mailboxIds[cur]) out.add(e.id);
    return [...out];
  } catch {
    return ids;
  }
}
