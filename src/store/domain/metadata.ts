/**
 * IMAP METADATA entries (RFC 5464) over the db port: per mailbox or per server (mailboxId null),
 * names lower-cased (§3.2), values as octets. Limits (entry size, entries per mailbox/server) are
 * the caller's config and checked in the write transaction.
 *
 * Another user's (shared, RFC 4314) mailbox: allowed with the "l" right and any one of "r", "s",
 * "w", "i", "p" (RFC 5464 §3.3 with ACL; else NONEXISTENT without "l", CANNOT otherwise). Its
 * /shared entries are the owner's (kept under the owner's account, seen by everyone with access),
 * its /private entries the user's own (kept under the user's account with the owner's mailbox id,
 * dropped with the mailbox).
 */
import type { MetadataDepth, MetadataEntry, MetadataUpdate } from "../api/mail.ts";
import { type Id, StoreError } from "../api/model.ts";
import type { Reader } from "../db/port.ts";
import { rightsFrom } from "./acl.ts";
import { type DomainDeps, write } from "./context.ts";

/** "/private" or "/shared", alone or followed by "/…" (the IMAP layer checks the full syntax) */
function checkName(name: string, forSet: boolean): string {
  const n = name.toLowerCase();
  const ok = (p: string) =>
    forSet ? n.startsWith(`${p}/`) && n.length > p.length + 1 : n === p || n.startsWith(`${p}/`);
  if (!ok("/private") && !ok("/shared")) throw new StoreError("INVALID", `bad metadata entry name ${name}`);
  return n;
}

export class Metadata {
  readonly #d: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  /** the mailbox's owner (accountId itself for server entries); throws without access */
  async #checkMailbox(
    q: Pick<Reader, "mailboxes" | "acl">,
    accountId: Id,
    mailboxId: Id | null,
  ): Promise<Id> {
    if (mailboxId === null) return accountId;
    const mb = await q.mailboxes.byId(mailboxId);
    if (!mb) throw new StoreError("NONEXISTENT", "no such mailbox");
    if (mb.accountId === accountId) return accountId;
    // RFC 5464 §3.3: "l" and any one of "r", "s", "w", "i", "p" (RFC 4314 §4: no "l" = not there)
    const rights = rightsFrom(await q.acl.ofMailbox(mailboxId), accountId);
    if (!rights.includes("l")) throw new StoreError("NONEXISTENT", "no such mailbox");
    if (![..."rswip"].some((r) => rights.includes(r)))
      throw new StoreError("CANNOT", "no right to the mailbox's metadata");
    return mb.accountId;
  }

  /**
   * Each requested entry (value null when absent) followed by its descendants: none at depth 0,
   * children at depth 1, all at "infinity" (RFC 5464 §4.2.2). Requested twice = returned once.
   */
  async getMetadata(
    accountId: Id,
    mailboxId: Id | null,
    names: string[],
    depth: MetadataDepth,
  ): Promise<MetadataEntry[]> {
    const wanted = names.map((n) => checkName(n, false));
    return this.#d.db.read(async (q) => {
      const owner = await this.#checkMailbox(q, accountId, mailboxId);
      const out: MetadataEntry[] = [];
      const seen = new Set<string>();
      for (const name of wanted) {
        const rows = await q.metadata.tree(
          entryAccount(name, accountId, owner),
          mailboxId,
          name,
          depth !== 0,
        );
        if (!seen.has(name)) {
          seen.add(name);
          out.push({ name, value: rows.find((r) => r.name === name)?.value ?? null });
        }
        for (const r of rows) {
          if (r.name === name || seen.has(r.name)) continue;
          // depth 1: direct children only (no "/" after the requested name's own "/")
          if (depth === 1 && r.name.indexOf("/", name.length + 1) !== -1) continue;
          seen.add(r.name);
          out.push({ name: r.name, value: r.value });
        }
      }
      return out;
    });
  }

  /**
   * Sets (value) or removes (null) entries in one transaction, all or nothing: TOOBIG when a value
   * is over maxSize octets, LIMIT when the mailbox/server would hold more than maxEntries.
   */
  async setMetadata(
    accountId: Id,
    mailboxId: Id | null,
    updates: MetadataUpdate[],
    limits: { maxSize: number; maxEntries: number },
  ): Promise<void> {
    const items = updates.map((u) => ({ name: checkName(u.name, true), value: u.value }));
    for (const u of items) {
      if (u.value !== null && u.value.byteLength > limits.maxSize)
        throw new StoreError("TOOBIG", "metadata value too large");
    }
    await write(this.#d, async (t) => {
      const tx = t.tx;
      const owner = await this.#checkMailbox(tx, accountId, mailboxId);
      // per account the entries are kept under: the user's, and the owner's for /shared
      const counts = new Map<Id, number>();
      const changed = new Map<Id, Set<string>>();
      for (const u of items) {
        const acc = entryAccount(u.name, accountId, owner);
        let count = counts.get(acc) ?? (await tx.metadata.count(acc, mailboxId));
        if (u.value === null) {
          if (await tx.metadata.remove(acc, mailboxId, u.name)) count--;
        } else if (await tx.metadata.put(acc, mailboxId, u.name, u.value)) {
          count++;
        }
        counts.set(acc, count);
        if (!changed.has(acc)) changed.set(acc, new Set());
        changed.get(acc)!.add(u.name);
      }
      for (const count of counts.values())
        if (count > limits.maxEntries) throw new StoreError("LIMIT", "too many metadata entries");
      // IMAP NOTIFY (RFC 5465 §5.10/§5.11) in every worker process, on the feed of the entries' account
      for (const [acc, names] of changed) t.metadataBeacon(acc, mailboxId, [...names]);
    });
  }
}

/** the account an entry is kept under: /shared entries of a shared mailbox are its owner's */
function entryAccount(name: string, accountId: Id, owner: Id): Id {
  return owner !== accountId && (name === "/shared" || name.startsWith("/shared/")) ? owner : accountId;
}
