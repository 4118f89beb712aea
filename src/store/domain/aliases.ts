/**
 * Aliases and recipient resolution over the db port: which accounts mail to an address reaches
 * (the account itself, else its alias targets, else the domain's catch-all targets).
 */
import { DbConflict } from "../db/port.ts";
import { normalizeAddress, normalizeDomain } from "../names.ts";
import { type Account, type Alias, type Id, StoreError } from "../types.ts";
import { toAccount } from "./accounts.ts";
import { type DomainDeps, write } from "./context.ts";

/** "local@domain" (normalized) or "@domain" (catch-all) */
function aliasSource(source: string): { source: string; domain: string } {
  const t = source.trim().toLowerCase();
  if (t.startsWith("@")) {
    const domain = normalizeDomain(t.slice(1));
    return { source: `@${domain}`, domain };
  }
  const a = normalizeAddress(t);
  return { source: a.address, domain: a.domain };
}

export class Aliases {
  readonly #d: DomainDeps;

  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async addAlias(source: string, target: string): Promise<Alias> {
    const src = aliasSource(source);
    const tgt = normalizeAddress(target).address;
    return write(this.#d, async ({ tx }) => {
      const dom = await tx.domains.byName(src.domain);
      if (!dom) throw new StoreError("NONEXISTENT", `domain ${src.domain} is not hosted here`);
      if (!(await tx.accounts.byAddress(tgt))) throw new StoreError("NONEXISTENT", `no account ${tgt}`);
      if (src.source === tgt) throw new StoreError("INVALID", "an alias cannot point to itself");
      if (await tx.accounts.byAddress(src.source))
        throw new StoreError("ALREADYEXISTS", `${src.source} is an account`);
      const now = Date.now();
      try {
        await tx.aliases.insert({ source: src.source, target: tgt, domainId: dom.id, createdAt: now });
      } catch (err) {
        if (err instanceof DbConflict)
          throw new StoreError("ALREADYEXISTS", `alias ${src.source} → ${tgt} exists`);
        throw err;
      }
      return { source: src.source, target: tgt, createdAt: new Date(now) };
    });
  }

  async listAliases(domain?: string): Promise<Alias[]> {
    const d = domain === undefined ? undefined : normalizeDomain(domain);
    const rows = await this.#d.db.read((q) => q.aliases.list(d));
    return rows.map((r) => ({ source: r.source, target: r.target, createdAt: new Date(r.createdAt) }));
  }

  async deleteAlias(source: string, target?: string): Promise<number> {
    const src = aliasSource(source).source;
    const tgt = target === undefined ? null : normalizeAddress(target).address;
    return write(this.#d, async ({ tx }) => {
      const n = await tx.aliases.delete(src, tgt);
      if (n === 0) throw new StoreError("NONEXISTENT", `no alias ${src}${tgt ? ` → ${tgt}` : ""}`);
      return n;
    });
  }

  /** one read view: the account, else its alias targets, else the domain's catch-all targets */
  async resolveRecipient(address: string): Promise<Account[]> {
    let a: { address: string; domain: string };
    try {
      a = normalizeAddress(address);
    } catch {
      return [];
    }
    const rows = await this.#d.db.read(async (q) => {
      const own = await q.accounts.byAddress(a.address);
      if (own) return [own];
      let ids = await q.aliases.targetAccountIds(a.address);
      if (ids.length === 0) ids = await q.aliases.targetAccountIds(`@${a.domain}`);
      const out = [];
      for (const id of ids) {
        const r = await q.accounts.byId(id);
        if (r) out.push(r);
      }
      return out;
    });
    return rows.map(toAccount);
  }

  async addressesOf(accountId: Id): Promise<string[]> {
    return this.#d.db.read(async (q) => {
      const own = await q.accounts.byId(accountId);
      if (!own) return [];
      return [own.address, ...(await q.aliases.sourcesFor(own.address))];
    });
  }
}
