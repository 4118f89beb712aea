/**
 * Mailbox logic over the db port: listing, creation (with parents and the UIDVALIDITY rule),
 * deletion and rename (with their messages), subscriptions, counts and the claiming of new
 * messages by sessions (IMAP \Recent).
 */

import { DbConflict, type MailboxRow } from "../db/port.ts";
import { DELIM, normalizeMailboxName, parentNames } from "../names.ts";
import type { Id, Mailbox, MailboxCounts, SpecialUse } from "../types.ts";
import { SPECIAL_USES, StoreError } from "../types.ts";
import { inheritAcl } from "./acl.ts";
import { type DomainDeps, noAccount, type TxContext, write } from "./context.ts";

/** INBOX and the special-use folders every new account gets (RFC 6154). */
export const DEFAULT_FOLDERS: ReadonlyArray<readonly [string, SpecialUse | null]> = [
  ["INBOX", null],
  ["Drafts", "\\Drafts"],
  ["Sent", "\\Sent"],
  ["Trash", "\\Trash"],
  ["Junk", "\\Junk"],
  ["Archive", "\\Archive"],
];

const SPECIAL_USE_SET: ReadonlySet<string> = new Set(SPECIAL_USES);

export function toMailbox(r: MailboxRow): Mailbox {
  return {
    id: r.id,
    accountId: r.accountId,
    name: r.name,
    uidValidity: r.uidValidity,
    uidNext: r.uidNext,
    highestModseq: r.highestModseq,
    specialUse: r.specialUse as SpecialUse | null,
    subscribed: r.subscribed,
  };
}

/**
 * Inserts a mailbox stamped with the transaction's modseq and a fresh UIDVALIDITY: seconds-based
 * and strictly increasing per account, so a re-created name never reuses one (RFC 9051 §2.3.1.1).
 * Recorded in the account change log as created.
 */
export async function insertMailbox(
  t: TxContext,
  accountId: Id,
  name: string,
  specialUse: SpecialUse | null,
): Promise<Id> {
  const modseq = await t.modseq(accountId);
  const uidValidity = await noAccount(() =>
    t.tx.accounts.takeUidValidity(accountId, Math.floor(Date.now() / 1000)),
  );
  if (uidValidity > 0xffffffff) throw new StoreError("LIMIT", "UIDVALIDITY space exhausted");
  let id: Id;
  try {
    id = await t.tx.mailboxes.insert({
      accountId,
      name,
      uidValidity,
      specialUse,
      highestModseq: modseq,
      createdAt: Date.now(),
    });
  } catch (err) {
    if (err instanceof DbConflict) throw new StoreError("ALREADYEXISTS", `mailbox ${name} exists`);
    throw err;
  }
  t.beacon(accountId, null, modseq);
  t.changes.touch(accountId, "mailbox", String(id), "create");
  await inheritAcl(t.tx, accountId, name, id);
  return id;
}

/** Creates the superior names of `name` that do not exist yet (RFC 9051 §6.3.4). */
async function insertParents(t: TxContext, accountId: Id, name: string): Promise<void> {
  for (const p of parentNames(name)) {
    if (!(await t.tx.mailboxes.byName(accountId, p))) await insertMailbox(t, accountId, p, null);
  }
}

export class Mailboxes {
  readonly #d: DomainDeps;

  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async listMailboxes(accountId: Id): Promise<Mailbox[]> {
    return (await this.#d.db.read((q) => q.mailboxes.list(accountId))).map(toMailbox);
  }

  async getMailbox(accountId: Id, name: string): Promise<Mailbox | null> {
    let n: string;
    try {
      n = normalizeMailboxName(name);
    } catch {
      return null;
    }
    const r = await this.#d.db.read((q) => q.mailboxes.byName(accountId, n));
    return r ? toMailbox(r) : null;
  }

  async getMailboxById(mailboxId: Id): Promise<Mailbox | null> {
    const r = await this.#d.db.read((q) => q.mailboxes.byId(mailboxId));
    return r ? toMailbox(r) : null;
  }

  async createMailbox(accountId: Id, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    const n = normalizeMailboxName(name);
    if (specialUse !== null && !SPECIAL_USE_SET.has(specialUse)) {
      throw new StoreError("INVALID", `unknown special-use ${specialUse}`);
    }
    const id = await write(this.#d, async (t) => {
      if (await t.tx.mailboxes.byName(accountId, n))
        throw new StoreError("ALREADYEXISTS", `mailbox ${n} exists`);
      await insertParents(t, accountId, n);
      return insertMailbox(t, accountId, n, specialUse);
    });
    const mb = await this.getMailboxById(id);
    if (!mb) throw new StoreError("NONEXISTENT", "mailbox vanished");
    return mb;
  }

  async deleteMailbox(accountId: Id, name: string): Promise<void> {
    const n = normalizeMailboxName(name);
    // RFC 9051 §6.3.5: INBOX cannot be deleted
    if (n === "INBOX") throw new StoreError("CANNOT", "INBOX cannot be deleted");
    // A metadata operation whatever the mailbox holds: the mailbox is gone for every reader
    // and its name free at commit; its messages, their blobs' GC marks, the usage they count and
    // their Emails' change-log rows follow in the background purge (purgeDeleted), in bounded
    // transactions, so a 100,000-message DELETE neither waits nor holds the write lock long.
    await write(this.#d, async (t) => {
      const mb = await t.tx.mailboxes.byName(accountId, n);
      if (!mb) throw new StoreError("NONEXISTENT", `no mailbox ${n}`);
      const modseq = await t.modseq(accountId);
      t.changes.touch(accountId, "mailbox", String(mb.id), "destroy");
      // children stay (RFC 9051 §6.3.5); subscriptions outlive the mailbox (RFC 9051 §6.3.7)
      await t.tx.mailboxes.retire(mb.id);
      t.purgeQueued();
      t.beacon(accountId, mb.id, modseq);
      t.beacon(accountId, null, modseq);
    });
  }

  /**
   * One step of the background purge of deleted mailboxes: removes up to `limit` messages of one
   * (with what an expunge does: GC marks, usage, change-log rows for their Emails and Threads,
   * under a fresh modseq), or the mailbox row once it is empty. Returns false when none is left.
   */
  async purgeDeleted(limit: number): Promise<boolean> {
    const next = await this.#d.db.read((q) => q.mailboxes.retired(1));
    const first = next[0];
    if (!first) return false;
    const [id, accountId] = first;
    await write(this.#d, async (t) => {
      const c = await t.tx.mailboxes.takeMessages(id, limit);
      if (c.messages === 0) {
        // its expunge log goes with it (cascade); the mailbox itself was logged destroyed
        await t.tx.mailboxes.delete(id);
        return;
      }
      t.releaseBlobs(c.blobIds);
      const modseq = await t.modseq(accountId);
      // its Emails lose a mailbox (destroyed unless another mailbox holds them: end of the tx)
      for (const [emailId, threadId] of c.emails)
        t.changes.touch(accountId, "email", emailId, "remove", threadId);
      await t.tx.blobs.dropUnreferencedPrefixes(c.prefixIds);
      await t.tx.usage.subtract(accountId, c.bytes, c.messages);
      t.beacon(accountId, null, modseq);
    });
    return true;
  }

  async renameMailbox(accountId: Id, from: string, to: string): Promise<void> {
    const src = normalizeMailboxName(from);
    const dst = normalizeMailboxName(to);
    if (dst === "INBOX") throw new StoreError("ALREADYEXISTS", "INBOX exists");
    if (dst === src) throw new StoreError("ALREADYEXISTS", `mailbox ${dst} exists`);
    if (dst.startsWith(src + DELIM)) throw new StoreError("CANNOT", "cannot rename a mailbox into itself");
    await write(this.#d, async (t) => {
      const mbs = t.tx.mailboxes;
      const mb = await mbs.byName(accountId, src);
      if (!mb) throw new StoreError("NONEXISTENT", `no mailbox ${src}`);
      if (await mbs.byName(accountId, dst)) throw new StoreError("ALREADYEXISTS", `mailbox ${dst} exists`);
      const modseq = await t.modseq(accountId);
      await insertParents(t, accountId, dst);
      if (src === "INBOX") {
        // RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox; INBOX stays
        // (empty) and its inferior names are unaffected
        const newId = await insertMailbox(t, accountId, dst, null);
        const moved = await mbs.moveAll(mb.id, newId, modseq, Date.now());
        if (moved.length > 0) {
          // the same Emails in another mailbox (emailId kept, RFC 8474 §5.1); usage unchanged
          for (const [emailId, threadId] of moved)
            t.changes.touch(accountId, "email", emailId, "update", threadId);
          await mbs.touch(newId, modseq);
          await mbs.touch(mb.id, modseq);
          t.changes.touch(accountId, "mailbox", String(newId), "update");
          t.changes.touch(accountId, "mailbox", String(mb.id), "update");
        }
        t.beacon(accountId, mb.id, modseq);
        t.beacon(accountId, newId, modseq);
        return;
      }
      const renames: Array<[number, string, string]> = [[mb.id, src, dst]];
      for (const c of await mbs.withPrefix(accountId, src + DELIM)) {
        renames.push([c.id, c.name, dst + c.name.slice(src.length)]);
      }
      for (const [, , newName] of renames.slice(1)) {
        if (await mbs.byName(accountId, newName))
          throw new StoreError("ALREADYEXISTS", `mailbox ${newName} exists`);
      }
      for (const [id, oldName, newName] of renames) {
        await mbs.rename(id, newName, modseq);
        t.changes.touch(accountId, "mailbox", String(id), "update");
        // subscriptions follow the renamed mailboxes
        if (await t.tx.subscriptions.remove(accountId, oldName))
          await t.tx.subscriptions.add(accountId, newName);
        t.beacon(accountId, id, modseq);
      }
      t.beacon(accountId, null, modseq);
    });
  }

  async setSubscribed(
    accountId: Id,
    name: string,
    subscribed: boolean,
    opts?: { anyName?: boolean },
  ): Promise<void> {
    const n = normalizeMailboxName(name);
    await write(this.#d, async (t) => {
      const mb = await t.tx.mailboxes.byName(accountId, n);
      if (subscribed) {
        // RFC 9051 §6.3.7: we only allow subscribing to mailboxes that exist
        if (!mb && !opts?.anyName) throw new StoreError("NONEXISTENT", `no mailbox ${n}`);
        await t.tx.subscriptions.add(accountId, n);
      } else {
        await t.tx.subscriptions.remove(accountId, n);
      }
      t.beacon(accountId, null, await t.modseq(accountId));
      // JMAP Mailbox isSubscribed (RFC 8621 §2): the mailbox of that name, if any, changed
      if (mb) t.changes.touch(accountId, "mailbox", String(mb.id), "update");
    });
  }

  async listSubscriptions(accountId: Id): Promise<string[]> {
    return this.#d.db.read((q) => q.subscriptions.list(accountId));
  }

  async mailboxCounts(mailboxId: Id): Promise<MailboxCounts> {
    const c = await this.#d.db.read((q) => q.mailboxes.counts(mailboxId));
    if (!c) throw new StoreError("NONEXISTENT", "no such mailbox");
    return c;
  }

  /**
   * Raises the mailbox's first not-yet-claimed uid to uptoUid and returns the previous value
   * (MailStore.claimNewMessages): read first (it only grows, so usually nothing to write), then
   * read-and-raise in one write transaction, atomic across processes.
   */
  async claimNewMessages(mailboxId: Id, uptoUid: number): Promise<number> {
    const cur = await this.#d.db.read((q) => q.mailboxes.firstNewUid(mailboxId));
    if (cur === null) throw new StoreError("NONEXISTENT", "no such mailbox");
    if (cur >= uptoUid) return cur;
    return this.#d.db.write(async (tx) => {
      const prev = await tx.mailboxes.firstNewUid(mailboxId);
      if (prev === null) throw new StoreError("NONEXISTENT", "no such mailbox");
      if (prev < uptoUid) await tx.mailboxes.setFirstNewUid(mailboxId, uptoUid);
      return prev;
    });
  }

  async countUnclaimed(mailboxId: Id): Promise<number> {
    return this.#d.db.read((q) => q.mailboxes.newCount(mailboxId));
  }
}
