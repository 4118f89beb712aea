/**
 * The `db` port: transactions and typed data operations, the only way the mail logic
 * (src/store/domain/) reaches the metadata database. An adapter (db/sqlite, db/postgres)
 * implements every operation with its own SQL; domain code contains no SQL dialect and imports no
 * driver. See docs/architecture.md "Store layers" for the whole design and what is still to move.
 *
 * Rules every adapter keeps and domain code relies on:
 * - `read` runs fn on a consistent view of committed data (one connection / snapshot for the
 *   duration of fn). Readers never see a write transaction's uncommitted rows.
 * - `write` runs fn in one serializable write transaction (SQLite: BEGIN IMMEDIATE, the
 *   cross-process write lock; PostgreSQL: a transaction holding an advisory lock on every
 *   account it touches, db/postgres/pg.ts). If fn throws, nothing of it is kept and the promise rejects with that error.
 *   The promise resolves only after the commit is durable (DESIGN: durable before acknowledgement).
 * - `write(fn, { group: true })` may share one commit with other grouped writes queued at the same
 *   time (one WAL fsync for many deliveries). Each item still behaves as its own transaction: a
 *   throwing item is rolled back alone (the others commit), and every item's promise settles only
 *   after the shared commit. Grouped fns must not await anything but port operations (no file or
 *   network I/O while the batch is open), and **a grouped fn may run more than once** (SQLite rolls
 *   back the whole batch when one item throws and runs the others again, db/sqlite/db.ts): it must
 *   change nothing outside the transaction but its result and its afterCommit hooks.
 * - `tx.afterCommit(hook)` runs hook after this item's commit (for grouped writes: after the shared
 *   commit, only for items that were kept), before the write promise resolves: change-feed beacons,
 *   blob GC and search-index scheduling go there. Hooks must not throw (errors are swallowed).
 * - One modseq per account per transaction (RFC 7162 §3.1.1): `tx.accounts.nextModseq` bumps the
 *   account's counter; domain code calls it at most once per account per write and caches the value
 *   in its transaction context (domain/context.ts), so every row a transaction changes shares it.
 * - Every per-user row carries account_id as the leading column of its key, and every hot
 *   operation names the account (or a mailbox id that belongs to exactly one account).
 *
 * Hot paths and microtasks: an operation returns `Maybe<T>` — SQLite returns plain values
 * (synchronous driver, no promise allocated), PostgreSQL returns promises. Domain code `await`s
 * each result (awaiting a plain value costs one microtask, no I/O), so hot paths use few, bulk
 * operations returning compact arrays (one await per command, not per message).
 *
 * Values: ids are JS numbers; modseqs are bigint at this boundary (adapters read them exactly);
 * times are ms since the epoch (numbers) in row types and `Date` only in the model (api/model.ts).
 */
import type { QueueRecipient } from "../api/model.ts";
import type {
  BlobsParsedWrite,
  BlobsRead,
  ChangesRead,
  ChangesWrite,
  ExpungesRead,
  MailboxesRead,
  MailboxesWrite,
  MessageReads,
  Peeker,
  SubscriptionsRead,
  SubscriptionsWrite,
  UsageWrite,
} from "./port-mailboxes.ts";

export type * from "./port-mailboxes.ts";

import type { MessageReadOps, MessageWriteOps } from "./port-messages.ts";

export type * from "./port-messages.ts";

import type { AclRead, AclWrite } from "./port-acl.ts";
import type { ThreadInputsRead, ThreadInputsWrite } from "./port-thread-inputs.ts";

export type * from "./port-thread-inputs.ts";

import type { MetadataRead, MetadataWrite } from "./port-metadata.ts";
import type { VacationRead, VacationWrite } from "./port-vacation.ts";

export type * from "./port-acl.ts";

import type { AppPasswordsRead, AppPasswordsWrite } from "./port-app-passwords.ts";
import type { UploadsRead, UploadsWrite } from "./port-uploads.ts";
import type { WebmailSessionsRead, WebmailSessionsWrite } from "./port-webmail-sessions.ts";

export type * from "./port-app-passwords.ts";

import type { DeletedRead, DeletedWrite } from "./port-deleted.ts";
import type { ImportsRead, ImportsWrite } from "./port-imports.ts";
import type { JmapObjectsRead, JmapObjectsWrite } from "./port-jmap-objects.ts";

export type * from "./port-deleted.ts";

export type * from "./port-imports.ts";
export type * from "./port-jmap-objects.ts";
export type * from "./port-metadata.ts";
export type * from "./port-uploads.ts";
export type * from "./port-vacation.ts";
export type * from "./port-webmail-sessions.ts";

export type Maybe<T> = T | Promise<T>;

export interface WriteOptions {
  /** may share a commit with other grouped writes (see the rules above) */
  group?: boolean;
}

export interface Db {
  /** runs fn on a consistent read view of committed data */
  read<T>(fn: (q: Reader) => Maybe<T>): Promise<T>;
  /** runs fn in one write transaction; resolves after the durable commit and the afterCommit hooks */
  write<T>(fn: (tx: Writer) => Maybe<T>, opts?: WriteOptions): Promise<T>;
  /**
   * Announces a grouped write that will be queued shortly (the caller is writing blob files
   * first); the adapter may hold a forming batch a few ms for it. Call the returned function once
   * the write is queued or abandoned.
   */
  expectGroupedWrite(): () => void;
  /**
   * Runs fn on single-statement snapshots of committed data that do not wait behind this
   * process's open or queued transactions (hot content lookups: FETCH BODY[], POP3 RETR).
   */
  peek<T>(fn: (p: Peeker) => Maybe<T>): Promise<T>;
  /** resolves once the writes queued now have settled */
  flush(): Promise<void>;
  /** waits for queued writes, then closes the connections */
  close(): Promise<void>;
}

// --- rows (plain data, no Date) ------------------------------------------------------------

export interface DomainRow {
  id: number;
  name: string;
  createdAt: number;
}

export interface AccountRow {
  id: number;
  domainId: number;
  address: string;
  passwordHash: string;
  quotaBytes: number;
  quotaMessages: number;
  usedBytes: number;
  usedMessages: number;
  /** JSON of AccountSettings as stored (domain/accounts.ts parses it, tolerating garbage) */
  settings: string;
  credentialsVersion: number;
  createdAt: number;
}

export interface AliasRow {
  source: string;
  target: string;
  createdAt: number;
}

export interface QueueRow {
  id: number;
  accountId: number | null;
  mailFrom: string;
  /** JSON of QueueRecipient[] as stored */
  recipients: string;
  envid: string | null;
  ret: string | null;
  size: number;
  status: string;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  held: boolean;
  leaseOwner: string | null;
  leaseUntil: number | null;
}

/** Blob and delivery-prefix references held by a set of messages (before a cascading delete). */
export interface MessageRefs {
  blobIds: number[];
  prefixIds: number[];
}

// --- operations by aggregate ---------------------------------------------------------------

export interface DomainsRead {
  /** by normalised name; null if not hosted */
  byName(name: string): Maybe<DomainRow | null>;
  /** all domains ordered by name */
  list(): Maybe<DomainRow[]>;
}
export interface DomainsWrite extends DomainsRead {
  /** inserts; throws DbConflict if the name exists */
  insert(name: string, createdAt: number): Maybe<number>;
  /** deletes the domain; accounts, mailboxes, messages, aliases cascade */
  delete(id: number): Maybe<void>;
}

export interface AccountsRead {
  byId(id: number): Maybe<AccountRow | null>;
  byAddress(address: string): Maybe<AccountRow | null>;
  /** ordered by address; only the domain's accounts when domainName is given */
  list(domainName?: string): Maybe<AccountRow[]>;
  /** ids of a domain's accounts */
  idsOfDomain(domainId: number): Maybe<number[]>;
}
export interface AccountsWrite extends AccountsRead {
  /** inserts with zero usage, modseq 1, credentials version 1; throws DbConflict if the address exists */
  insert(a: {
    domainId: number;
    address: string;
    passwordHash: string;
    settings: string;
    createdAt: number;
  }): Maybe<number>;
  /** sets the hash and bumps credentials_version; false = no such account */
  setPassword(address: string, passwordHash: string): Maybe<boolean>;
  update(id: number, patch: { quotaBytes: number; quotaMessages: number; settings: string }): Maybe<void>;
  /** deletes the account; its mailboxes, messages, subscriptions, send log cascade */
  delete(id: number): Maybe<void>;
  /**
   * Bumps the account's modseq counter and returns the new value; throws DbNotFound if there is no
   * such account. Call once per account per transaction (domain/tx.ts caches it).
   */
  nextModseq(accountId: number): Maybe<bigint>;
  /**
   * Hands out the next UIDVALIDITY: max(atLeast, last + 1), stored as the account's last one
   * (strictly increasing per account, RFC 9051 §2.3.1.1); throws DbNotFound without the account.
   */
  takeUidValidity(accountId: number, atLeast: number): Maybe<number>;
}

export interface AliasesRead {
  /** ordered by source, target; only the domain's aliases when domainName is given */
  list(domainName?: string): Maybe<AliasRow[]>;
  /** account ids the alias source (an address or "@domain") delivers to, ascending; unknown targets skipped */
  targetAccountIds(source: string): Maybe<number[]>;
  /** non-catch-all sources whose target is this address, ordered */
  sourcesFor(target: string): Maybe<string[]>;
}
export interface AliasesWrite extends AliasesRead {
  /** throws DbConflict if source → target exists */
  insert(a: { source: string; target: string; domainId: number; createdAt: number }): Maybe<void>;
  /** removes source → target (or every target of source when target is null); returns the count */
  delete(source: string, target: string | null): Maybe<number>;
}

export interface MessagesRead extends MessageReads {
  /** distinct blob and prefix ids referenced by an account's messages (before deleting it) */
  refsOfAccount(accountId: number): Maybe<MessageRefs>;
}

export interface BlobsWrite extends BlobsRead, BlobsParsedWrite {
  /**
   * Marks the given blobs gc_pending where no message references them any more; returns how many
   * were marked (the caller schedules the sweeper after commit when > 0).
   */
  markUnreferenced(blobIds: Iterable<number>): Maybe<number>;
  /** deletes delivery-header prefixes no message references any more */
  dropUnreferencedPrefixes(prefixIds: Iterable<number>): Maybe<void>;
}

export interface QueueRead {
  /** all entries by id */
  list(): Maybe<QueueRow[]>;
  get(id: number): Maybe<QueueRow | null>;
  /** the message bytes of an entry; null = no such entry */
  message(id: number): Maybe<Uint8Array | null>;
  /** entries overall and those submitted by accountId */
  count(accountId: number | null): Maybe<{ total: number; account: number }>;
}
export interface QueueWrite extends QueueRead {
  insert(e: {
    accountId: number | null;
    mailFrom: string;
    recipients: QueueRecipient[];
    envid: string | null;
    ret: string | null;
    message: Uint8Array;
    now: number;
  }): Maybe<number>;
  /**
   * Due entries (queued, not held, next attempt ≤ now, no live lease), oldest due first, at most
   * limit, with their message bytes. Inside a write transaction so that `lease` makes the claim atomic.
   */
  due(now: number, limit: number): Maybe<Array<{ row: QueueRow; message: Uint8Array }>>;
  /** sets (owner, until) on the entry; owner null clears the lease */
  lease(id: number, owner: string | null, until: number | null): Maybe<void>;
  /** extends the lease only while owner holds it; false = lease lost */
  renewLease(id: number, owner: string, until: number): Maybe<boolean>;
  /** clears the lease only while owner holds it */
  releaseLease(id: number, owner: string): Maybe<void>;
  /** records an attempt: recipients, attempts + 1, next attempt, last error; clears the lease */
  recordAttempt(
    id: number,
    a: { recipients: QueueRecipient[]; nextAttemptAt: number; lastError: string | null },
  ): Maybe<void>;
  /** held flag and/or next attempt; false = no such entry */
  set(id: number, patch: { held?: boolean; nextAttemptAt?: number }): Maybe<boolean>;
  delete(id: number): Maybe<boolean>;
}

export interface SendingWrite {
  /** forgets sends at or before `before` for the account */
  prune(accountId: number, before: number): Maybe<void>;
  /** messages and recipients the account sent after `since` */
  usage(accountId: number, since: number): Maybe<{ messages: number; recipients: number }>;
  /** the same over every account of the account's domain */
  domainUsage(accountId: number, since: number): Maybe<{ messages: number; recipients: number }>;
  record(accountId: number, at: number, recipients: number): Maybe<void>;
}

/** What `Db.read` hands to fn. */
export interface Reader {
  domains: DomainsRead;
  accounts: AccountsRead & MessageReadOps["accounts"];
  aliases: AliasesRead;
  queue: QueueRead;
  mailboxes: MailboxesRead & MessageReadOps["mailboxes"];
  subscriptions: SubscriptionsRead;
  messages: MessagesRead;
  expunges: ExpungesRead;
  blobs: BlobsRead & MessageReadOps["blobs"];
  changes: ChangesRead;
  metadata: MetadataRead;
  acl: AclRead;
  appPasswords: AppPasswordsRead;
  imports: ImportsRead;
  jmapObjects: JmapObjectsRead;
  vacation: VacationRead;
  deleted: DeletedRead;
  uploads: UploadsRead;
  threadInputs: ThreadInputsRead;
  webmailSessions: WebmailSessionsRead;
}

/** What `Db.write` hands to fn: everything a Reader has, the write operations, afterCommit. */
export interface Writer {
  domains: DomainsWrite;
  accounts: AccountsWrite & MessageWriteOps["accounts"];
  aliases: AliasesWrite;
  mailboxes: MailboxesWrite & MessageWriteOps["mailboxes"];
  subscriptions: SubscriptionsWrite;
  messages: MessagesRead & MessageWriteOps["messages"];
  expunges: ExpungesRead & MessageWriteOps["expunges"];
  threads: MessageWriteOps["threads"];
  changes: ChangesWrite & MessageWriteOps["changes"];
  blobs: BlobsWrite & MessageWriteOps["blobs"];
  queue: QueueWrite;
  sending: SendingWrite;
  usage: UsageWrite;
  metadata: MetadataWrite;
  acl: AclWrite;
  appPasswords: AppPasswordsWrite;
  imports: ImportsWrite;
  jmapObjects: JmapObjectsWrite;
  vacation: VacationWrite;
  deleted: DeletedWrite;
  uploads: UploadsWrite;
  threadInputs: ThreadInputsWrite;
  webmailSessions: WebmailSessionsWrite;
  /** runs hook after the durable commit of this write (see the rules above) */
  afterCommit(hook: () => void): void;
}

/** A unique key would be duplicated (adapters translate their driver's error into this). */
export class DbConflict extends Error {
  constructor(message = "unique constraint") {
    super(message);
    this.name = "DbConflict";
  }
}

/** A row the operation needs does not exist. */
export class DbNotFound extends Error {
  constructor(message = "not found") {
    super(message);
    this.name = "DbNotFound";
  }
}
