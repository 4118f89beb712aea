/** Domains, accounts and aliases: admin tools (CLI), authentication, SMTP recipient lookup. */
import type { Account, AccountSettings, Alias, AppPassword, Domain, Id } from "./model.ts";

export interface NewAccount {
  address: string;
  passwordHash: string;
  quotaBytes?: number;
  quotaMessages?: number;
  settings?: Partial<AccountSettings>;
}

export interface AccountImportResult {
  address: string;
  outcome: "created" | "updated" | "skipped" | "failed";
  error?: string;
}

export interface AccountStore {
  // --- domains and accounts -------------------------------------------------------------
  addDomain(name: string): Promise<Domain>;
  listDomains(): Promise<Domain[]>;
  /** refuses (INUSE) while the domain has accounts unless force */
  deleteDomain(name: string, opts?: { force?: boolean }): Promise<void>;
  getDomain(name: string): Promise<Domain | null>;

  /** creates INBOX and the special-use folders Drafts, Sent, Trash, Junk, Archive */
  createAccount(address: string, passwordHash: string): Promise<Account>;
  getAccount(address: string): Promise<Account | null>;
  getAccountById(id: Id): Promise<Account | null>;
  listAccounts(domain?: string): Promise<Account[]>;
  setPassword(address: string, passwordHash: string): Promise<void>;
  updateAccount(
    address: string,
    patch: Partial<Pick<Account, "quotaBytes" | "quotaMessages">> & { settings?: Partial<AccountSettings> },
  ): Promise<Account>;
  deleteAccount(address: string): Promise<void>;
  /**
   * Bulk creation (`postkontor user import`): every entry of the list in ONE write transaction.
   * An entry whose account exists is skipped, or with `update` gets the given password hash,
   * quota and settings. An entry that cannot be created (domain not hosted, bad address, bad
   * quota) is reported as failed; the others still commit. Results are in input order.
   */
  createAccounts(list: NewAccount[], opts?: { update?: boolean }): Promise<AccountImportResult[]>;

  // --- app passwords (docs/architecture.md "App passwords") ----------------------------------
  /** a new named app password; the secret is returned once and only its hash is kept. ALREADYEXISTS */
  addAppPassword(address: string, name: string): Promise<{ appPassword: AppPassword; secret: string }>;
  listAppPasswords(address: string): Promise<AppPassword[]>;
  /** NONEXISTENT when the account has no app password of that name */
  deleteAppPassword(address: string, name: string): Promise<void>;
  /** whether secret is one of the account's app passwords; records the use (time, protocol) */
  verifyAppPassword(accountId: Id, secret: string, protocol: string): Promise<boolean>;

  // --- aliases (SMTP recipients) ----------------------------------------------------------
  /** source "local@domain" or "@domain" (catch-all) of a hosted domain; target a local account */
  addAlias(source: string, target: string): Promise<Alias>;
  listAliases(domain?: string): Promise<Alias[]>;
  /** removes source → target, or every target of source; returns the number removed */
  deleteAlias(source: string, target?: string): Promise<number>;
  /**
   * Accounts mail to this address is delivered to: the account itself, else the alias targets,
   * else the domain's catch-all targets; [] = unknown recipient. Targets that no longer exist are skipped.
   */
  resolveRecipient(address: string): Promise<Account[]>;
  /** the account's own address and the (non-catch-all) alias sources that deliver to it */
  addressesOf(accountId: Id): Promise<string[]>;
}
