/**
 * The maildrop of one POP3 session (RFC 1939 §5): a snapshot of INBOX taken at login. Message
 * numbers are positions in that snapshot and never change during the session; mail arriving later
 * is not shown (it is there at the next login), and messages expunged meanwhile by IMAP answer
 * -ERR on RETR/TOP. DELE only marks; apply() is the UPDATE state (RFC 1939 §6).
 *
 * Sizes: LIST/STAT report pop3Size() — the exact octets RETR sends (CRLF line ends, before
 * dot-stuffing). The store records at append how many octets CRLF normalisation adds
 * (MessageMeta.lineEndingFixups: one per bare LF, 2 for a missing final line end — the same rule
 * as pop3Size), so size + fix-ups is that size and LIST/STAT read no content. Messages stored
 * before it was recorded have no fix-up count: theirs
 * are computed from the content on first use, a few at a time, and cached per blob in this
 * process (content is immutable).
 *
 * UIDL (RFC 1939 §7): "<uidvalidity>.<uid>" of INBOX — stable across sessions, restarts and
 * backups that keep UIDVALIDITY, and consistent with IMAP (same UID). 1–70 chars in 0x21–0x7E.
 */
import type { Account, Id, MessageMeta, Store } from "../../store/types.ts";
import { pop3Size } from "../protocol/message.ts";

export interface Entry {
  uid: number;
  blobId: string;
  /** store size (RFC822.SIZE); the key of the size cache with blobId */
  storeSize: number;
  /** octets RETR sends; null until computed */
  size: number | null;
  deleted: boolean;
  /** RETR sent the whole message (gets \Seen at UPDATE) */
  retrieved: boolean;
}

export type DeleteMode = Account["settings"]["pop3Delete"];

const SIZE_CACHE_MAX = 200_000;
const sizeCache = new Map<string, number>();

function cacheGet(key: string): number | undefined {
  return sizeCache.get(key);
}

function cachePut(key: string, size: number): void {
  sizeCache.set(key, size);
  // bounded: drop the oldest insertions (Map keeps insertion order)
  while (sizeCache.size > SIZE_CACHE_MAX) {
    const first = sizeCache.keys().next();
    if (first.done) break;
    sizeCache.delete(first.value);
  }
}

const SIZE_CONCURRENCY = 8;

export class Maildrop {
  readonly mailboxId: Id;
  readonly uidValidity: number;
  readonly entries: Entry[];
  private readonly store: Store;

  private constructor(store: Store, mailboxId: Id, uidValidity: number, entries: Entry[]) {
    this.store = store;
    this.mailboxId = mailboxId;
    this.uidValidity = uidValidity;
    this.entries = entries;
  }

  /** snapshot of INBOX, honouring the account's pop3Scope */
  static async open(store: Store, account: Account): Promise<Maildrop> {
    const inbox = await store.getMailbox(account.id, "INBOX");
    if (!inbox) return new Maildrop(store, -1, 0, []);
    const rows = await store.listMessages(inbox.id);
    let metas: MessageMeta[] = rows.length
      ? await store.getMessages(
          inbox.id,
          rows.map((r) => r.uid),
        )
      : [];
    if (account.settings.pop3Scope === "since-enabled") {
      // Gmail's "only mail arriving from now on": messages saved into INBOX since POP3 was enabled.
      // No timestamp recorded = enabled since the account was created.
      const since = (account.settings.pop3EnabledAt ?? account.createdAt).getTime();
      metas = metas.filter((m) => m.saveDate.getTime() >= since);
    }
    const entries = metas.map((m) => {
      // RFC 1939 §5: the size RETR sends; recorded at append, else cached from an earlier read
      const known =
        m.lineEndingFixups !== undefined ? m.size + m.lineEndingFixups : cacheGet(`${m.blobId}:${m.size}`);
      return {
        uid: m.uid,
        blobId: m.blobId,
        storeSize: m.size,
        size: known ?? null,
        deleted: false,
        retrieved: false,
      };
    });
    return new Maildrop(store, inbox.id, inbox.uidValidity, entries);
  }

  /** entry by 1-based message number, or null */
  get(n: number): Entry | null {
    return this.entries[n - 1] ?? null;
  }

  uidl(e: Entry): string {
    return `${this.uidValidity}.${e.uid}`;
  }

  /** message content as stored (delivery-header prefix + blob); StoreError NOTFOUND if expunged */
  async read(e: Entry): Promise<Uint8Array> {
    const raw = await this.store.readMessage(this.mailboxId, e.uid);
    if (e.size === null) this.setSize(e, pop3Size(raw));
    return raw;
  }

  private setSize(e: Entry, size: number): void {
    e.size = size;
    cachePut(`${e.blobId}:${e.storeSize}`, size);
  }

  /** computes missing sizes of the given entries; a message expunged meanwhile keeps its store size */
  async ensureSizes(entries: readonly Entry[]): Promise<void> {
    const todo = entries.filter((e) => e.size === null);
    let next = 0;
    const worker = async () => {
      // each iteration handles one entry; bounded by todo.length
      while (next < todo.length) {
        const e = todo[next++]!;
        try {
          await this.read(e);
        } catch {
          // expunged by another session: the size is only advisory now; RETR will say it is gone
          e.size = e.storeSize;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SIZE_CONCURRENCY, todo.length) }, worker));
  }

  /** non-deleted entries with their 1-based numbers */
  *live(): Generator<[number, Entry]> {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (!e.deleted) yield [i + 1, e];
    }
  }

  reset(): void {
    for (const e of this.entries) e.deleted = false;
  }

  /**
   * UPDATE state (RFC 1939 §6): applies DELE per the account's setting and marks retrieved
   * messages \Seen (as Dovecot does, so IMAP shows what POP3 downloaded). Returns counts.
   *  - delete:    expunge through the store (IMAP sessions see it through the change feed)
   *  - trash:     move to the \Trash special-use mailbox (created when missing)
   *  - keep-read: leave the message in INBOX, add \Seen. It stays in the maildrop: leave-on-server
   *               clients skip it by UIDL, as with Gmail's "keep and mark as read".
   */
  async apply(accountId: Id, mode: DeleteMode): Promise<{ removed: number; requested: number }> {
    const deleted = this.entries.filter((e) => e.deleted).map((e) => e.uid);
    const seen = this.entries
      .filter(
        (e) => (e.retrieved && !(e.deleted && mode === "delete")) || (e.deleted && mode === "keep-read"),
      )
      .map((e) => e.uid);
    if (seen.length) {
      await this.store.storeFlags(this.mailboxId, seen, "add", ["\\Seen"]);
    }
    if (deleted.length === 0 || mode === "keep-read")
      return { removed: deleted.length, requested: deleted.length };
    if (mode === "trash") {
      const trash = await this.trashMailbox(accountId);
      const r = await this.store.move(this.mailboxId, deleted, trash);
      return { removed: r.mapping.length, requested: deleted.length };
    }
    const removed = await this.store.expunge(this.mailboxId, deleted);
    return { removed: removed.length, requested: deleted.length };
  }

  private async trashMailbox(accountId: Id): Promise<Id> {
    const boxes = await this.store.listMailboxes(accountId);
    const t = boxes.find((b) => b.specialUse === "\\Trash") ?? boxes.find((b) => b.name === "Trash");
    if (t) return t.id;
    return (await this.store.createMailbox(accountId, "Trash", "\\Trash")).id;
  }
}
