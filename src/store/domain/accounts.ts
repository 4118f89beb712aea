/**
 * Domains and accounts over the db port: normalisation, defaults, the rules of deletion (blobs
 * whose last reference goes are marked for the sweeper in the same transaction), account creation
 * with its default folders.
 */
import { type AccountRow, DbConflict, type DomainRow } from "../db/port.ts";
import { normalizeAddress, normalizeDomain } from "../names.ts";
import {
  type Account,
  type AccountImportResult,
  type AccountSettings,
  type Domain,
  type Id,
  type NewAccount,
  StoreError,
} from "../types.ts";
import { type DomainDeps, type TxContext, write } from "./context.ts";
import { DEFAULT_FOLDERS, insertMailbox } from "./mailboxes.ts";

export const DEFAULT_SETTINGS: AccountSettings = {
  imapEnabled: true,
  pop3Enabled: true,
  pop3Delete: "delete",
  pop3Scope: "all",
  pop3EnabledAt: null,
};

/** Stored settings JSON → AccountSettings; unknown or corrupt values fall back to the defaults. */
export function parseSettings(text: string): AccountSettings {
  let v: Record<string, unknown> = {};
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // corrupt settings fall back to defaults
  }
  const s: AccountSettings = { ...DEFAULT_SETTINGS };
  if (typeof v.imapEnabled === "boolean") s.imapEnabled = v.imapEnabled;
  if (typeof v.pop3Enabled === "boolean") s.pop3Enabled = v.pop3Enabled;
  if (v.pop3Delete === "delete" || v.pop3Delete === "trash" || v.pop3Delete === "keep-read")
    s.pop3Delete = v.pop3Delete;
  if (v.pop3Scope === "all" || v.pop3Scope === "since-enabled") s.pop3Scope = v.pop3Scope;
  if (typeof v.pop3EnabledAt === "number") s.pop3EnabledAt = new Date(v.pop3EnabledAt);
  if (typeof v.saveSentCopy === "boolean") s.saveSentCopy = v.saveSentCopy;
  return s;
}

export function settingsText(s: AccountSettings): string {
  return JSON.stringify({ ...s, pop3EnabledAt: s.pop3EnabledAt ? s.pop3EnabledAt.getTime() : null });
}

/** POP3 "since-enabled" needs the moment POP3 was switched on (as updateAccount does) */
function withPop3Start(next: AccountSettings, before: AccountSettings): AccountSettings {
  if (next.pop3Enabled && !before.pop3Enabled && next.pop3EnabledAt === null)
    return { ...next, pop3EnabledAt: new Date() };
  return next;
}

export function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    domainId: r.domainId,
    address: r.address,
    passwordHash: r.passwordHash,
    quotaBytes: r.quotaBytes,
    quotaMessages: r.quotaMessages,
    usedBytes: r.usedBytes,
    usedMessages: r.usedMessages,
    settings: parseSettings(r.settings),
    createdAt: new Date(r.createdAt),
    credentialsVersion: r.credentialsVersion,
  };
}

function toDomain(r: DomainRow): Domain {
  return { id: r.id, name: r.name, createdAt: new Date(r.createdAt) };
}

/** Removes an account's message references before a cascading delete (prefixes now, blobs via GC). */
async function releaseAccountRefs(t: TxContext, accountId: Id): Promise<number[]> {
  const refs = await t.tx.messages.refsOfAccount(accountId);
  t.releaseBlobs(refs.blobIds);
  return refs.prefixIds;
}

export class Accounts {
  readonly #d: DomainDeps;

  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  // --- domains ----------------------------------------------------------------------------

  async addDomain(name: string): Promise<Domain> {
    const d = normalizeDomain(name);
    return write(this.#d, async (t) => {
      const createdAt = Date.now();
      try {
        const id = await t.tx.domains.insert(d, createdAt);
        return { id, name: d, createdAt: new Date(createdAt) };
      } catch (err) {
        if (err instanceof DbConflict) throw new StoreError("ALREADYEXISTS", `domain ${d} exists`);
        throw err;
      }
    });
  }

  async listDomains(): Promise<Domain[]> {
    return (await this.#d.db.read((q) => q.domains.list())).map(toDomain);
  }

  async getDomain(name: string): Promise<Domain | null> {
    let d: string;
    try {
      d = normalizeDomain(name);
    } catch {
      return null;
    }
    const r = await this.#d.db.read((q) => q.domains.byName(d));
    return r ? toDomain(r) : null;
  }

  async deleteDomain(name: string, opts?: { force?: boolean }): Promise<void> {
    const d = normalizeDomain(name);
    await write(this.#d, async (t) => {
      const dom = await t.tx.domains.byName(d);
      if (!dom) throw new StoreError("NONEXISTENT", `no domain ${d}`);
      const accounts = await t.tx.accounts.idsOfDomain(dom.id);
      if (accounts.length > 0 && !opts?.force) {
        throw new StoreError("INUSE", `domain ${d} still has ${accounts.length} account(s)`);
      }
      const prefixes: number[] = [];
      for (const id of accounts) prefixes.push(...(await releaseAccountRefs(t, id)));
      await t.tx.domains.delete(dom.id);
      await t.tx.blobs.dropUnreferencedPrefixes(prefixes);
      for (const id of accounts) t.beacon(id, null, 0n);
    });
  }

  // --- accounts ---------------------------------------------------------------------------

  /** creates INBOX and the special-use folders, all subscribed */
  async createAccount(address: string, passwordHash: string): Promise<Account> {
    const a = normalizeAddress(address);
    const id = await write(this.#d, async (t) => {
      const dom = await t.tx.domains.byName(a.domain);
      if (!dom) throw new StoreError("NONEXISTENT", `domain ${a.domain} is not hosted here`);
      let accountId: Id;
      try {
        accountId = await t.tx.accounts.insert({
          domainId: dom.id,
          address: a.address,
          passwordHash,
          settings: settingsText(DEFAULT_SETTINGS),
          createdAt: Date.now(),
        });
      } catch (err) {
        if (err instanceof DbConflict) throw new StoreError("ALREADYEXISTS", `account ${a.address} exists`);
        throw err;
      }
      for (const [name, use] of DEFAULT_FOLDERS) {
        await insertMailbox(t, accountId, name, use);
        await t.tx.subscriptions.add(accountId, name);
      }
      return accountId;
    });
    const acct = await this.getAccountById(id);
    if (!acct) throw new StoreError("NONEXISTENT", "account vanished");
    return acct;
  }

  /** AccountStore.createAccounts: one transaction for the whole list */
  async createAccounts(list: NewAccount[], opts: { update?: boolean } = {}): Promise<AccountImportResult[]> {
    const touched: Id[] = [];
    const results = await write(this.#d, async (t) => {
      const out: AccountImportResult[] = [];
      const domains = new Map<string, Id | null>();
      for (const e of list) {
        let a: { address: string; domain: string };
        try {
          a = normalizeAddress(e.address);
        } catch (err) {
          out.push({ address: e.address, outcome: "failed", error: (err as Error).message });
          continue;
        }
        const bad = [e.quotaBytes, e.quotaMessages].some(
          (v) => v !== undefined && (!Number.isSafeInteger(v) || v < 0),
        );
        if (bad) {
          out.push({ address: a.address, outcome: "failed", error: "quota must be a non-negative integer" });
          continue;
        }
        const existing = await t.tx.accounts.byAddress(a.address);
        if (existing) {
          if (!opts.update) {
            out.push({ address: a.address, outcome: "skipped" });
            continue;
          }
          const cur = toAccount(existing);
          if (existing.passwordHash !== e.passwordHash)
            await t.tx.accounts.setPassword(a.address, e.passwordHash);
          await t.tx.accounts.update(cur.id, {
            quotaBytes: e.quotaBytes ?? cur.quotaBytes,
            quotaMessages: e.quotaMessages ?? cur.quotaMessages,
            settings: settingsText(withPop3Start({ ...cur.settings, ...(e.settings ?? {}) }, cur.settings)),
          });
          touched.push(cur.id);
          out.push({ address: a.address, outcome: "updated" });
          continue;
        }
        let domainId = domains.get(a.domain);
        if (domainId === undefined) {
          domainId = (await t.tx.domains.byName(a.domain))?.id ?? null;
          domains.set(a.domain, domainId);
        }
        if (domainId === null) {
          out.push({ address: a.address, outcome: "failed", error: `domain ${a.domain} is not hosted here` });
          continue;
        }
        const settings = withPop3Start({ ...DEFAULT_SETTINGS, ...(e.settings ?? {}) }, DEFAULT_SETTINGS);
        const accountId = await t.tx.accounts.insert({
          domainId,
          address: a.address,
          passwordHash: e.passwordHash,
          settings: settingsText(settings),
          createdAt: Date.now(),
        });
        if (e.quotaBytes !== undefined || e.quotaMessages !== undefined)
          await t.tx.accounts.update(accountId, {
            quotaBytes: e.quotaBytes ?? 0,
            quotaMessages: e.quotaMessages ?? 0,
            settings: settingsText(settings),
          });
        for (const [name, use] of DEFAULT_FOLDERS) {
          await insertMailbox(t, accountId, name, use);
          await t.tx.subscriptions.add(accountId, name);
        }
        out.push({ address: a.address, outcome: "created" });
      }
      for (const id of touched) t.beacon(id, null, 0n);
      return out;
    });
    return results;
  }

  async getAccount(address: string): Promise<Account | null> {
    let addr: string;
    try {
      addr = normalizeAddress(address).address;
    } catch {
      return null;
    }
    const r = await this.#d.db.read((q) => q.accounts.byAddress(addr));
    return r ? toAccount(r) : null;
  }

  async getAccountById(id: Id): Promise<Account | null> {
    const r = await this.#d.db.read((q) => q.accounts.byId(id));
    return r ? toAccount(r) : null;
  }

  async listAccounts(domain?: string): Promise<Account[]> {
    const d = domain === undefined ? undefined : normalizeDomain(domain);
    return (await this.#d.db.read((q) => q.accounts.list(d))).map(toAccount);
  }

  async setPassword(address: string, passwordHash: string): Promise<void> {
    const addr = normalizeAddress(address).address;
    await write(this.#d, async (t) => {
      if (!(await t.tx.accounts.setPassword(addr, passwordHash)))
        throw new StoreError("NONEXISTENT", `no account ${addr}`);
    });
  }

  async updateAccount(
    address: string,
    patch: Partial<Pick<Account, "quotaBytes" | "quotaMessages">> & { settings?: Partial<AccountSettings> },
  ): Promise<Account> {
    const addr = normalizeAddress(address).address;
    const id = await write(this.#d, async (t) => {
      const row = await t.tx.accounts.byAddress(addr);
      if (!row) throw new StoreError("NONEXISTENT", `no account ${addr}`);
      const cur = toAccount(row);
      for (const v of [patch.quotaBytes, patch.quotaMessages]) {
        if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
          throw new StoreError("INVALID", "quota must be a non-negative integer");
        }
      }
      const settings: AccountSettings = { ...cur.settings, ...(patch.settings ?? {}) };
      // POP3 "since-enabled" scope needs the moment POP3 was switched on
      if (
        patch.settings?.pop3Enabled === true &&
        !cur.settings.pop3Enabled &&
        patch.settings.pop3EnabledAt === undefined
      ) {
        settings.pop3EnabledAt = new Date();
      }
      await t.tx.accounts.update(cur.id, {
        quotaBytes: patch.quotaBytes ?? cur.quotaBytes,
        quotaMessages: patch.quotaMessages ?? cur.quotaMessages,
        settings: settingsText(settings),
      });
      t.beacon(cur.id, null, 0n);
      return cur.id;
    });
    const acct = await this.getAccountById(id);
    if (!acct) throw new StoreError("NONEXISTENT", `no account ${addr}`);
    return acct;
  }

  async deleteAccount(address: string): Promise<void> {
    const addr = normalizeAddress(address).address;
    await write(this.#d, async (t) => {
      const a = await t.tx.accounts.byAddress(addr);
      if (!a) throw new StoreError("NONEXISTENT", `no account ${addr}`);
      const prefixes = await releaseAccountRefs(t, a.id);
      await t.tx.accounts.delete(a.id);
      await t.tx.blobs.dropUnreferencedPrefixes(prefixes);
      t.beacon(a.id, null, 0n);
    });
  }
}
