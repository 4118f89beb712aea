/**
 * Mailbox access control lists (RFC 4314) over the db port. The owner of a mailbox always has
 * every right and is never stored; a row grants rights to one account or to anyone. The rights a
 * non-owner has are the union of its own row and the "anyone" row (RFC 4314 §2: no negative
 * rights here). Rows go with the mailbox and with the grantee account (foreign keys).
 */
import { type AclEntry, ALL_RIGHTS, ANYONE, type SharedMailbox } from "../api/acl.ts";
import { type Id, type Mailbox, StoreError } from "../api/model.ts";
import type { AclRow, Writer } from "../db/port.ts";
import { normalizeAddress } from "../names.ts";
import { type DomainDeps, write } from "./context.ts";
import { toMailbox } from "./mailboxes.ts";

/** union of two canonical rights strings, canonical */
function union(a: string, b: string): string {
  let out = "";
  for (const r of ALL_RIGHTS) if (a.includes(r) || b.includes(r)) out += r;
  return out;
}

export class Acl {
  readonly #d: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async getAcl(mailboxId: Id): Promise<AclEntry[]> {
    return this.#d.db.read(async (q) => {
      const out: AclEntry[] = [];
      for (const r of await q.acl.ofMailbox(mailboxId)) {
        const grantee = r.granteeId === null ? ANYONE : (await q.accounts.byId(r.granteeId))?.address;
        if (grantee) out.push({ grantee, rights: r.rights });
      }
      return out.sort((a, b) => (a.grantee < b.grantee ? -1 : a.grantee > b.grantee ? 1 : 0));
    });
  }

  async setAcl(mailboxId: Id, grantee: string, rights: string): Promise<void> {
    await write(this.#d, async (t) => {
      const tx = t.tx;
      const mb = await tx.mailboxes.byId(mailboxId);
      if (!mb) throw new StoreError("NONEXISTENT", "no such mailbox");
      let granteeId: number | null = null;
      if (grantee.toLowerCase() !== ANYONE) {
        let address: string;
        try {
          address = normalizeAddress(grantee).address;
        } catch {
          throw new StoreError("NOTFOUND", `no such account: ${grantee}`);
        }
        const acc = await tx.accounts.byAddress(address);
        if (!acc) throw new StoreError("NOTFOUND", `no such account: ${grantee}`);
        // RFC 4314 §2: the owner's rights are implicit and cannot be changed here
        if (acc.id === mb.accountId) throw new StoreError("CANNOT", "the owner always has every right");
        granteeId = acc.id;
      }
      if (rights === "") await tx.acl.remove(mailboxId, granteeId);
      else await tx.acl.put({ mailboxId, ownerId: mb.accountId, granteeId, rights });
      // on the owner's feed, modseq 0 (no message changed): a grantee's NOTIFY re-reads its
      // rights (RFC 5465 §5.9 \NoAccess)
      t.beacon(mb.accountId, mailboxId, 0n);
    });
  }

  async rightsOf(accountId: Id, mailbox: Pick<Mailbox, "id" | "accountId">): Promise<string> {
    if (mailbox.accountId === accountId) return ALL_RIGHTS;
    const rows = await this.#d.db.read((q) => q.acl.ofMailbox(mailbox.id));
    return rightsFrom(rows, accountId);
  }

  async sharedWith(accountId: Id): Promise<SharedMailbox[]> {
    return this.#d.db.read(async (q) => {
      const byMailbox = new Map<number, string>();
      for (const r of await q.acl.forGrantee(accountId)) {
        byMailbox.set(r.mailboxId, union(byMailbox.get(r.mailboxId) ?? "", r.rights));
      }
      const owners = new Map<number, string | null>();
      const out: SharedMailbox[] = [];
      for (const [mailboxId, rights] of byMailbox) {
        const row = await q.mailboxes.byId(mailboxId);
        if (!row) continue;
        if (!owners.has(row.accountId))
          owners.set(row.accountId, (await q.accounts.byId(row.accountId))?.address ?? null);
        const ownerAddress = owners.get(row.accountId);
        if (ownerAddress) out.push({ mailbox: toMailbox(row), ownerAddress, rights });
      }
      return out.sort((a, b) =>
        a.ownerAddress !== b.ownerAddress
          ? a.ownerAddress < b.ownerAddress
            ? -1
            : 1
          : a.mailbox.name < b.mailbox.name
            ? -1
            : a.mailbox.name > b.mailbox.name
              ? 1
              : 0,
      );
    });
  }
}

/**
 * A new mailbox starts with its parent's ACL (RFC 4314 leaves a new mailbox's ACL to the
 * server; Dovecot inherits too), so a grantee who may create below a shared mailbox can use what
 * it created. Called in the creating transaction.
 */
export async function inheritAcl(tx: Writer, accountId: Id, name: string, mailboxId: Id): Promise<void> {
  const i = name.lastIndexOf("/");
  if (i <= 0) return;
  const parent = await tx.mailboxes.byName(accountId, name.slice(0, i));
  if (!parent) return;
  for (const r of await tx.acl.ofMailbox(parent.id)) await tx.acl.put({ ...r, mailboxId });
}

/** the rights of a non-owner from a mailbox's rows: its own row and the anyone row */
export function rightsFrom(rows: AclRow[], accountId: Id): string {
  let rights = "";
  for (const r of rows)
    if (r.granteeId === null || r.granteeId === accountId) rights = union(rights, r.rights);
  return rights;
}
