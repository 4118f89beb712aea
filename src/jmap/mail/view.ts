/**
 * The account as JMAP sees it (RFC 8621): Emails (one per emailId, over every mailbox holding a
 * copy), Threads and Mailboxes with their ids — the IMAP OBJECTID values (RFC 8474), so both
 * protocols name the same objects the same way.
 *
 * Built from the store API (mailboxes, then each mailbox's message metadata) and cached per
 * account while `currentState` is unchanged: any write to the account makes a new view.
 * RFC 8621 §4.1.1: a message copy with \Deleted is not visible through JMAP (not in mailboxIds,
 * not in counts); an Email all of whose copies have it is not visible at all.
 */
import { mailboxObjectId } from "../../imap/server/commands/mailbox.ts";
import { objectId } from "../../imap/server/format.ts";
import type { Id, Mailbox, Store } from "../../store/types.ts";

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

const cache = new Map<Id, AccountView>();
const CACHE_MAX = 256;

export async function accountView(store: Store, accountId: Id): Promise<AccountView> {
  const state = await store.currentState(accountId);
  const hit = cache.get(accountId);
  if (hit && hit.state === state) return hit;
  const mailboxes = await store.listMailboxes(accountId);
  const emails = new Map<string, EmailEntry>();
  for (const mb of mailboxes) {
    const rows = await store.listMessages(mb.id);
    if (rows.length === 0) continue;
    const metas = await store.getMessages(
      mb.id,
      rows.map((r) => r.uid),
    );
    for (const m of metas) {
      if (m.flags.some((f) => f.toLowerCase() === "\\deleted")) continue;
      const id = objectId(m.emailId);
      let e = emails.get(id);
      if (!e) {
        e = {
          id,
          threadId: objectId(m.threadId),
          storeBlob: m.blobId,
          size: m.size,
          receivedAt: m.internalDate,
          copies: [],
          keywords: new Set(),
        };
        emails.set(id, e);
      }
      e.copies.push({ mailboxId: mb.id, uid: m.uid, flags: m.flags });
      for (const f of m.flags) {
        const k = flagToKeyword(f);
        if (k) e.keywords.add(k);
      }
    }
  }
  const threads = new Map<string, string[]>();
  const byDate = [...emails.values()].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
  for (const e of byDate) {
    const t = threads.get(e.threadId);
    if (t) t.push(e.id);
    else threads.set(e.threadId, [e.id]);
  }
  const view: AccountView = {
    state,
    mailboxes,
    mailboxById: new Map(mailboxes.map((m) => [mailboxJmapId(m), m])),
    emails,
    threads,
  };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(accountId, view);
  return view;
}
