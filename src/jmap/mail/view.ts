/**
 * The account as JMAP sees it (RFC 8621): Emails (one per emailId, over every mailbox holding a
 * copy), Threads and Mailboxes with their ids — the IMAP OBJECTID values (RFC 8474), so both
 * protocols name the same objects the same way.
 *
 * Built from the store API (mailboxes, then each mailbox's message metadata) and cached per
 * account while `currentState` is unchanged. After a write the next view reads only what
 * changed: per mailbox whose HIGHESTMODSEQ moved, `changesSince` (new and re-flagged rows,
 * expunged uids) and the metadata of new uids; the Email and Thread maps are then rebuilt in
 * memory (O(messages of the account), no store reads).
 *
 * Methods that name their Emails / Threads (Email/get, Email/set, Thread/get with ids) do not
 * need it: `mailboxView` + `loadEmails` / `loadThreads` read only those rows through the store's
 * lookups by emailId / threadId (indexes message_email, message_thread).
 * RFC 8621 §4.1.1: a message copy with \Deleted is not visible through JMAP (not in mailboxIds,
 * not in counts); an Email all of whose copies have it is not visible at all.
 */
import { mailboxObjectId } from "../../imap/server/commands/mailbox.ts";
import { objectId } from "../../imap/server/format.ts";
import type { AccountMessage, Id, Mailbox, MessageMeta, Store } from "../../store/types.ts";

/** one copy of an Email: a message row of a mailbox */
export interface Copy {
  mailboxId: Id;
  uid: number;
  flags: string[];
}

export interface EmailEntry {
  id: string;
  threadId: string;
  /** store blob (SHA-256) of the first copy */
  storeBlob: string;
  size: number;
  receivedAt: Date;
  copies: Copy[];
  /** JMAP keywords, lower-case (union over the visible copies) */
  keywords: Set<string>;
}

export interface AccountView {
  state: string;
  mailboxes: Mailbox[];
  mailboxById: Map<string, Mailbox>;
  emails: Map<string, EmailEntry>;
  /** threadId → email ids, oldest receivedAt first */
  threads: Map<string, string[]>;
  /** per mailbox id: its rows, the base of the next (incremental) view */
  rowsByMailbox: Map<Id, MailboxRows>;
}

/** IMAP flag → JMAP keyword (RFC 8621 §4.1.1); null = not a keyword (\Deleted, \Recent) */
export function flagToKeyword(flag: string): string | null {
  switch (flag.toLowerCase()) {
    case "\\seen":
      return "$seen";
    case "\\flagged":
      return "$flagged";
    case "\\answered":
      return "$answered";
    case "\\draft":
      return "$draft";
    case "\\deleted":
    case "\\recent":
      return null;
  }
  return flag.startsWith("\\") ? null : flag.toLowerCase();
}

/** JMAP keyword → IMAP flag */
export function keywordToFlag(k: string): string {
  switch (k.toLowerCase()) {
    case "$seen":
      return "\\Seen";
    case "$flagged":
      return "\\Flagged";
    case "$answered":
      return "\\Answered";
    case "$draft":
      return "\\Draft";
  }
  return k;
}

/** RFC 8621 §4.1.1 keyword syntax: IMAP atom characters, no "(){]%*\"\\" and no controls */
export function validKeyword(k: string): boolean {
  if (k.length === 0 || k.length > 255) return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
    if ('(){]%*"\\'.includes(k[i]!)) return false;
  }
  return true;
}

export const mailboxJmapId = mailboxObjectId;
export const emailJmapId = objectId;

/** one message row as the view keeps it */
interface Row {
  uid: number;
  emailId: string;
  threadId: string;
  blob: string;
  size: number;
  date: Date;
  flags: string[];
}

/** a mailbox's rows as of mb.highestModseq (refreshed by changesSince from there) */
interface MailboxRows {
  mb: Mailbox;
  rows: Map<number, Row>;
}

function rowOf(m: MessageMeta): Row {
  return {
    uid: m.uid,
    emailId: objectId(m.emailId),
    threadId: objectId(m.threadId),
    blob: m.blobId,
    size: m.size,
    date: m.internalDate,
    flags: m.flags,
  };
}

/** views per store (one process may hold several stores: tests), per account */
const caches = new WeakMap<Store, Map<Id, AccountView>>();
const CACHE_MAX = 256;

async function loadRows(store: Store, mb: Mailbox, prev: MailboxRows | undefined): Promise<MailboxRows> {
  if (prev && prev.mb.uidValidity === mb.uidValidity) {
    if (prev.mb.highestModseq === mb.highestModseq) return { mb, rows: prev.rows };
    // only what changed since the previous view: flags of known rows, new rows, expunged uids
    const ch = await store.changesSince(mb.id, prev.mb.highestModseq);
    const rows = new Map(prev.rows);
    for (const u of ch.expunged) rows.delete(u);
    const fresh: number[] = [];
    for (const r of ch.changed) {
      const old = rows.get(r.uid);
      if (old) rows.set(r.uid, { ...old, flags: r.flags });
      else fresh.push(r.uid);
    }
    if (fresh.length) for (const m of await store.getMessages(mb.id, fresh)) rows.set(m.uid, rowOf(m));
    return { mb: { ...mb, highestModseq: ch.highestModseq }, rows };
  }
  const list = await store.listMessages(mb.id);
  const rows = new Map<number, Row>();
  if (list.length)
    for (const m of await store.getMessages(
      mb.id,
      list.map((r) => r.uid),
    ))
      rows.set(m.uid, rowOf(m));
  return { mb, rows };
}

export async function accountView(store: Store, accountId: Id): Promise<AccountView> {
  let cache = caches.get(store);
  if (!cache) {
    cache = new Map();
    caches.set(store, cache);
  }
  const state = await store.currentState(accountId);
  const hit = cache.get(accountId);
  if (hit && hit.state === state) return hit;
  const mailboxes = await store.listMailboxes(accountId);
  const rowsByMailbox = new Map<Id, MailboxRows>();
  for (const mb of mailboxes)
    rowsByMailbox.set(mb.id, await loadRows(store, mb, hit?.rowsByMailbox.get(mb.id)));
  const emails = new Map<string, EmailEntry>();
  for (const { mb, rows } of rowsByMailbox.values()) for (const m of rows.values()) addCopy(emails, mb.id, m);
  const threads = threadsOf(emails);
  const view: AccountView = {
    state,
    mailboxes,
    mailboxById: new Map(mailboxes.map((m) => [mailboxJmapId(m), m])),
    emails,
    threads,
    rowsByMailbox,
  };
  if (cache.size >= CACHE_MAX && !cache.has(accountId)) cache.delete(cache.keys().next().value!);
  cache.set(accountId, view);
  return view;
}

/** adds one message row to its Email (RFC 8621 §4.1.1: a copy with \Deleted is not visible) */
function addCopy(emails: Map<string, EmailEntry>, mailboxId: Id, m: Row): void {
  if (m.flags.some((f) => f.toLowerCase() === "\\deleted")) return;
  let e = emails.get(m.emailId);
  if (!e) {
    e = {
      id: m.emailId,
      threadId: m.threadId,
      storeBlob: m.blob,
      size: m.size,
      receivedAt: m.date,
      copies: [],
      keywords: new Set(),
    };
    emails.set(m.emailId, e);
  }
  e.copies.push({ mailboxId, uid: m.uid, flags: m.flags });
  for (const f of m.flags) {
    const k = flagToKeyword(f);
    if (k) e.keywords.add(k);
  }
}

/** threadId → email ids, oldest receivedAt first (RFC 8621 §3) */
function threadsOf(emails: Map<string, EmailEntry>): Map<string, string[]> {
  const threads = new Map<string, string[]>();
  const byDate = [...emails.values()].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
  for (const e of byDate) {
    const t = threads.get(e.threadId);
    if (t) t.push(e.id);
    else threads.set(e.threadId, [e.id]);
  }
  return threads;
}

/** the account's state and mailboxes, without its messages */
export type MailboxView = Pick<AccountView, "state" | "mailboxes" | "mailboxById">;

/** state first: rows read after it may be newer, never older (a client re-syncs from the state) */
export async function mailboxView(store: Store, accountId: Id): Promise<MailboxView> {
  const state = await store.currentState(accountId);
  const mailboxes = await store.listMailboxes(accountId);
  return { state, mailboxes, mailboxById: new Map(mailboxes.map((m) => [mailboxJmapId(m), m])) };
}

function emailsOf(rows: AccountMessage[]): Map<string, EmailEntry> {
  const emails = new Map<string, EmailEntry>();
  for (const m of rows) addCopy(emails, m.mailboxId, rowOf(m));
  return emails;
}

/**
 * The visible Emails among `ids` (JMAP Email ids = the stored emailIds, which are OBJECTID-clean),
 * from the store's lookup by emailId: O(copies of those Emails), not O(messages of the account).
 */
export async function loadEmails(
  store: Store,
  accountId: Id,
  ids: string[],
): Promise<Map<string, EmailEntry>> {
  return emailsOf(await store.messagesByEmailId(accountId, ids));
}

/** the visible Threads among `ids`: threadId → email ids, oldest receivedAt first */
export async function loadThreads(
  store: Store,
  accountId: Id,
  ids: string[],
): Promise<Map<string, string[]>> {
  return threadsOf(emailsOf(await store.messagesByThreadId(accountId, ids)));
}
