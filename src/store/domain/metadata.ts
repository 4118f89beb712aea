/**
 * IMAP METADATA entries (RFC 5464) over the db port: per mailbox or per server (mailboxId null),
 * names lower-cased (§3.2), values as octets. Limits (entry size, entries per mailbox/server) are
 * the caller's config and checked in the write transaction.
 */
import type { MetadataDepth, MetadataEntry, MetadataUpdate } from "../api/mail.ts";
import { type Id, StoreError } from "../api/model.ts";
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

  async #checkMailbox(
    q: { mailboxes: { byId(id: number): unknown } },
    accountId: Id,
    mailboxId: Id | null,
  ): Promise<void> {
    if (mailboxId === null) return;
    const mb = (await q.mailboxes.byId(mailboxId)) as { accountId: number } | null;
    if (!mb || mb.accountId !== accountId) throw new StoreError("NONEXISTENT", "no such mailbox");
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
      await this.#checkMailbox(q, accountId, mailboxId);
      const out: MetadataEntry[] = [];
      const seen = new Set<string>();
      for (const name of wanted) {
        const rows = await q.metadata.tree(accountId, mailboxId, name, depth !== 0);
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
      await this.#checkMailbox(tx, accountId, mailboxId);
      let count = await tx.metadata.count(accountId, mailboxId);
      for (const u of items) {
        if (u.value === null) {
          if (await tx.metadata.remove(accountId, mailboxId, u.name)) count--;
        } else if (await tx.metadata.put(accountId, mailboxId, u.name, u.value)) {
          count++;
        }
      }
      if (count > limits.maxEntries) throw new StoreError("LIMIT", "too many metadata entries");
      // IMAP NOTIFY (RFC 5465 §5.10/§5.11) in every worker process
      t.metadataBeacon(accountId, mailboxId, [...new Set(items.map((u) => u.name))]);
    });
  }
}
