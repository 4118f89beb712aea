/**
 * The mail-store domain API — the only storage interface that protocol code (IMAP, POP3, SMTP,
 * CLI) imports. Concrete implementations live in store/sql (SQLite now, PostgreSQL later) and
 * store/blob; only src/server and src/cli construct them (see openStore in store/index.ts).
 *
 * Invariants (DESIGN.md §3):
 * - Raw messages are byte-exact, content-addressed (SHA-256) and shared between copies.
 * - Every change to a message or mailbox takes a fresh modseq from the account's counter, so
 *   HIGHESTMODSEQ of a mailbox is the max modseq of its messages and expunge-log rows.
 * - A method that changes state resolves only after its transaction and blob are durable.
 * - Every write transaction records the Emails, Mailboxes and Threads it changed in the account
 *   change log, in the same transaction (changesSinceState).
 * - After each commit a Beacon is published on the ChangeFeed; no message data on the feed.
 * - All methods are async so that the PostgreSQL backend fits the same API.
 */
import type { ParsedMessage } from "../mime/types.ts";
import type { ChangeFeed } from "./feed/port.ts";
import type { KeyStore } from "./keys/port.ts";
import type { LockService } from "./locks/port.ts";

export type Id = number;

export interface Domain {
  id: Id;
  name: string; // lower-case ASCII (IDNA A-label)
  createdAt: Date;
}

export interface AccountSettings {
  imapEnabled: boolean;
  pop3Enabled: boolean;
  /** what POP3 DELE does at QUIT */
  pop3Delete: "delete" | "trash" | "keep-read";
  /** POP3 sees all INBOX mail, or only mail that arrived since POP3 was enabled */
  pop3Scope: "all" | "since-enabled";
  pop3EnabledAt: Date | null;
  /** SMTP submission saves a copy of each sent message in the Sent folder (for clients that do not
   * upload one themselves); absent = off */
  saveSentCopy?: boolean;
}

export interface Account {
  id: Id;
  domainId: Id;
  /** full lower-case address, local@domain */
  address: string;
  passwordHash: string;
  /** bytes; 0 = unlimited */
  quotaBytes: number;
  /** messages; 0 = unlimited */
  quotaMessages: number;
  usedBytes: number;
  usedMessages: number;
  settings: AccountSettings;
  createdAt: Date;
  /** bumped on every password change: auth caches key on it */
  credentialsVersion: number;
}

export type SpecialUse = "\\Drafts" | "\\Sent" | "\\Trash" | "\\Junk" | "\\Archive" | "\\All" | "\\Flagged";

export interface Mailbox {
  id: Id;
  accountId: Id;
  /** full name with "/" as hierarchy delimiter, UTF-8 (not modified UTF-7); "INBOX" for the inbox */
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModseq: bigint;
  specialUse: SpecialUse | null;
  subscribed: boolean;
}

export interface MailboxCounts {
  messages: number;
  unseen: number;
  /** sum of message sizes (RFC 8438 STATUS SIZE) */
  size: number;
  deleted: number;
}

/** Per-message metadata, everything IMAP needs except content. */
export interface MessageMeta {
  uid: number;
  /** stable across COPY/MOVE of the same content into the same account (JMAP Email id / OBJECTID) */
  emailId: string;
  threadId: string;
  /** SHA-256 hex of the blob */
  blobId: string;
  /** full octet size as FETCH RFC822.SIZE reports it: delivery-header prefix + blob */
  size: number;
  internalDate: Date;
  saveDate: Date;
  /** system flags (\Seen, \Answered, \Flagged, \Deleted, \Draft) and keywords, as given, deduplicated */
  flags: string[];
  modseq: bigint;
  /**
   * Octets of the message (prefix + blob) in CRLF form: each bare LF counted as CRLF, plus a final
   * CRLF when it does not end with LF — what POP3 RETR sends before dot-stuffing (RFC 1939 §5).
   * Absent for messages stored before it was recorded.
   */
  crlfSize?: number;
}

/**
 * A message's content as stored (Store.openMessage): the per-recipient delivery-header prefix
 * and the shared blob, separately, so large messages are streamed instead of joined in memory.
 */
export interface MessageContent {
  /** delivery headers kept beside the blob (empty when none) */
  prefix: Uint8Array;
  /** octets of prefix + blob (FETCH RFC822.SIZE) */
  size: number;
  /**
   * the blob's bytes [start, end) (blob offsets, without the prefix) in chunks; opened when
   * first iterated. A message expunged and collected before that rejects with StoreError
   * NOTFOUND; once reading started it stays readable to the end.
   */
  blob(range?: { start?: number; end?: number }): AsyncIterable<Uint8Array>;
}

/** Compact row for SELECT / view refresh; flags as given. */
export interface MessageFlagsRow {
  uid: number;
  flags: string[];
  modseq: bigint;
}

/** Parallel arrays, one entry per message, ascending uid (Store.listFlagText). */
export interface FlagTextRows {
  uids: Uint32Array;
  /** stored flag text: normalised flags separated by one space; "" = no flags */
  flags: string[];
  /** numbers while they fit in 2^53, bigint beyond */
  modseqs: Array<number | bigint>;
  /**
   * the mailbox's HIGHESTMODSEQ read just before the rows: while it is unchanged (every change
   * raises it) the rows are still current, so callers may reuse them
   */
  highestModseq: bigint;
}

export interface ChangesSince {
  /** messages whose modseq > since (new or changed), sorted by uid */
  changed: MessageFlagsRow[];
  /** uids expunged with modseq > since, sorted */
  expunged: number[];
  highestModseq: bigint;
  uidNext: number;
}

/** Object kinds recorded in the account change log (JMAP Email, Mailbox, Thread). */
export type ChangeKind = "email" | "mailbox" | "thread";

/**
 * What changed in an account between two states (RFC 8620 §5.2 /changes). Ids are strings:
 * MessageMeta.emailId, String(Mailbox.id), MessageMeta.threadId. Per id the net effect over
 * the window: created (did not exist at oldState), updated, or destroyed (existed at oldState);
 * one created and destroyed inside the window is left out entirely.
 */
export interface AccountChanges {
  oldState: string;
  /** the state after applying these changes; an intermediate one when hasMoreChanges */
  newState: string;
  hasMoreChanges: boolean;
  created: string[];
  updated: string[];
  destroyed: string[];
}

export interface AppendInput {
  raw: Uint8Array;
  flags?: string[];
  internalDate?: Date;
  /** per-recipient headers (Received, Authentication-Results, Delivered-To) kept beside the blob, prefixed on read */
  deliveryHeaders?: Uint8Array;
}

export interface AppendResult {
  mailboxId: Id;
  uidValidity: number;
  uid: number;
  modseq: bigint;
}

export interface CopyResult {
  uidValidity: number;
  /** [source uid, destination uid], in source-uid order */
  mapping: Array<[number, number]>;
}

export type FlagOp = "set" | "add" | "remove";

export interface StoreFlagsResult {
  /** messages actually changed (flags differ from before), with their new state */
  updated: MessageFlagsRow[];
  /** uids that failed UNCHANGEDSINCE (RFC 7162 MODIFIED) */
  modified: number[];
}

export type MailboxEvent = "messages" | "mailboxes" | "account";

export type { Beacon, ChangeFeed } from "./feed/port.ts";
export type { KeyStore, StoredKey } from "./keys/port.ts";
export type { Lease, LockService } from "./locks/port.ts";

/** Text-index lookup used by IMAP SEARCH TEXT/BODY/header keys and JMAP; substring, case-insensitive. */
export interface TextQuery {
  field: "text" | "body" | "header";
  /** for field "header": lower-case header name, e.g. "subject" */
  header?: string;
  /**
   * for field "header" (from/to/cc/bcc): match the parsed addresses (`Name <mailbox@host>`,
   * comments and obsolete forms removed) instead of the header text
   */
  address?: boolean;
  value: string;
}

/** A forwarding address: `source` ("local@domain", or "@domain" = catch-all) delivers to `target`. */
export interface Alias {
  source: string;
  target: string;
  createdAt: Date;
}

/** One recipient of a queued outbound message with its DSN parameters (RFC 3461 §4). */
export interface QueueRecipient {
  address: string;
  /** NOTIFY values (NEVER, SUCCESS, FAILURE, DELAY); absent = not given */
  notify?: string[];
  /** ORCPT as given, "type;address" */
  orcpt?: string;
  /** delivery state of this recipient (absent = pending: not tried yet) */
  state?: QueueRecipientState;
  /** delivery attempts made for this recipient */
  attempts?: number;
  /** last reply or error, e.g. "451 4.7.1 try later" */
  lastError?: string | null;
  /** SMTP reply code and RFC 3463 status of the last answer (for the DSN, RFC 3464 §2.3.4) */
  code?: number;
  status?: string;
  /** the MTA that gave the last answer (RFC 3464 §2.3.5 Remote-MTA) */
  remoteMta?: string;
  /** ms since the epoch of the last attempt */
  lastAttemptAt?: number;
  /** a delay DSN (RFC 3464 Action: delayed) was sent for this recipient */
  delayNotified?: boolean;
  /** RFC 8689 REQUIRETLS was given at MAIL FROM (kept per recipient: the whole message carries it) */
  requireTls?: boolean;
}

/** pending: not tried; deferred: temporary failure, retried; delivered / failed: final. */
export type QueueRecipientState = "pending" | "deferred" | "delivered" | "failed";

export interface QueueInput {
  accountId: Id | null;
  /** reverse-path; "" = null sender */
  mailFrom: string;
  recipients: QueueRecipient[];
  /** RFC 3461 §4.4 ENVID and §4.3 RET */
  envid?: string | null;
  ret?: "FULL" | "HDRS" | null;
  /** the message as it will be sent (trace headers included) */
  message: Uint8Array;
}

export interface QueueEntry {
  id: Id;
  accountId: Id | null;
  mailFrom: string;
  recipients: QueueRecipient[];
  envid: string | null;
  ret: "FULL" | "HDRS" | null;
  size: number;
  status: "queued" | "sent" | "failed";
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  /** held entries are not delivered until released (`postkontor queue hold|release`) */
  held: boolean;
  /** runner currently delivering this entry, and until when its claim holds */
  leaseOwner: string | null;
  leaseUntil: Date | null;
}

/** An entry claimed for delivery, with the message bytes. */
export interface QueueClaim {
  entry: QueueEntry;
  message: Uint8Array;
}

/** The outcome of one delivery attempt of a claimed entry. */
export interface QueueAttemptResult {
  /** every recipient with its new state (same order and addresses as the claimed entry) */
  recipients: QueueRecipient[];
  /** when to try the still-deferred recipients again */
  nextAttemptAt: Date;
  lastError: string | null;
}

/** Per-account sending limits over a sliding hour; 0 = unlimited. */
export interface SendingLimits {
  messagesPerHour: number;
  recipientsPerHour: number;
  /** the same counted over every account of the sender's domain; absent/0 = unlimited */
  domainMessagesPerHour?: number;
  domainRecipientsPerHour?: number;
}

export class StoreError extends Error {
  readonly code:
    | "NONEXISTENT"
    | "ALREADYEXISTS"
    | "OVERQUOTA"
    | "TOOBIG"
    | "CANNOT"
    | "INUSE"
    | "LIMIT"
    | "NOTFOUND"
    | "INVALID";
  constructor(code: StoreError["code"], message: string) {
    super(message);
    this.code = code;
    this.name = "StoreError";
  }
}

export interface Store {
  readonly feed: ChangeFeed;
  /** leases shared by every process/node (POP3 [IN-USE]) — the locks port */
  readonly locks: LockService;
  /** secrets every node shares (DKIM keys), kept in the store — the keys port */
  readonly keys: KeyStore;

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

  // --- mailboxes ------------------------------------------------------------------------
  listMailboxes(accountId: Id): Promise<Mailbox[]>;
  getMailbox(accountId: Id, name: string): Promise<Mailbox | null>;
  getMailboxById(mailboxId: Id): Promise<Mailbox | null>;
  /** creates missing parents too; ALREADYEXISTS if it exists */
  createMailbox(accountId: Id, name: string, specialUse?: SpecialUse | null): Promise<Mailbox>;
  /** deletes messages in it; children stay (RFC 9051 §6.3.5); INBOX cannot be deleted */
  deleteMailbox(accountId: Id, name: string): Promise<void>;
  /** renames children too; renaming INBOX moves its messages to the new mailbox (RFC 9051 §6.3.6) */
  renameMailbox(accountId: Id, from: string, to: string): Promise<void>;
  setSubscribed(accountId: Id, name: string, subscribed: boolean): Promise<void>;
  /** names subscribed, including ones that no longer exist */
  listSubscriptions(accountId: Id): Promise<string[]>;
  mailboxCounts(mailboxId: Id): Promise<MailboxCounts>;

  // --- messages -------------------------------------------------------------------------
  /** APPEND / local delivery; checks quota (OVERQUOTA) and size limit (TOOBIG) */
  append(accountId: Id, mailboxId: Id, input: AppendInput): Promise<AppendResult>;
  /** several messages in one transaction (MULTIAPPEND: all or nothing) */
  appendMany(accountId: Id, mailboxId: Id, inputs: AppendInput[]): Promise<AppendResult[]>;
  /** all messages of a mailbox, sorted by uid (SELECT, view build) */
  listMessages(mailboxId: Id): Promise<MessageFlagsRow[]>;
  /**
   * Compact form of listMessages for bulk reads (`UID FETCH 1:* (UID FLAGS)`, SELECT): parallel
   * arrays sorted by uid; flags as stored (normalised, space-separated, "" = none).
   */
  listFlagText(mailboxId: Id): Promise<FlagTextRows>;
  /**
   * IMAP \Recent (RFC 3501 §2.3.2): raises the mailbox's first not-yet-claimed uid to uptoUid
   * (never lowers it) in one write transaction and returns the previous value, so each uid in
   * [previous, uptoUid) is claimed by exactly one caller, across processes. uptoUid 0 only reads.
   */
  claimRecent(mailboxId: Id, uptoUid: number): Promise<number>;
  /** messages not claimed yet (uid ≥ first recent uid): STATUS RECENT */
  recentCount(mailboxId: Id): Promise<number>;
  changesSince(mailboxId: Id, modseq: bigint): Promise<ChangesSince>;
  /** metadata for the given uids (missing ones omitted), sorted by uid */
  getMessages(mailboxId: Id, uids: number[]): Promise<MessageMeta[]>;
  /** parsed MIME structure, computed at append time and cached */
  getParsed(blobId: string): Promise<ParsedMessage>;
  /** full message octets: delivery-header prefix + blob */
  readMessage(mailboxId: Id, uid: number): Promise<Uint8Array>;
  /** the same content as prefix + blob stream, for large messages (FETCH BODY[], POP3 RETR) */
  openMessage(mailboxId: Id, uid: number): Promise<MessageContent>;
  storeFlags(
    mailboxId: Id,
    uids: number[],
    op: FlagOp,
    flags: string[],
    opts?: { unchangedSince?: bigint },
  ): Promise<StoreFlagsResult>;
  /** removes the given uids (all of them, \Deleted or not — the caller filters); returns removed uids */
  expunge(mailboxId: Id, uids: number[]): Promise<number[]>;
  copy(srcMailboxId: Id, uids: number[], dstMailboxId: Id): Promise<CopyResult>;
  /** copy + expunge in one transaction */
  move(srcMailboxId: Id, uids: number[], dstMailboxId: Id): Promise<CopyResult>;
  /** uids of messages in the mailbox whose indexed text contains the value */
  searchText(mailboxId: Id, q: TextQuery): Promise<number[]>;

  // --- account change log (JMAP /changes, IMAP NOTIFY) --------------------------------------
  /**
   * The account's current state: opaque, the same for every kind, changes with every write
   * transaction of the account (RFC 8620 §5.1 allows a state that changes more often).
   */
  currentState(accountId: Id): Promise<string>;
  /**
   * Changes of one kind since `sinceState` (a state from currentState or an earlier newState),
   * at most maxChanges ids (then hasMoreChanges and an intermediate newState). Answers
   * "cannotCalculateChanges" for a state older than the kept history (pruned), from the future,
   * or malformed (RFC 8620 §5.2).
   * Emails: an IMAP COPY within the account keeps the emailId, so the copy is an update of the
   * same Email (a mailbox added); MOVE is an update; an Email is destroyed when its last message
   * row goes. Mailboxes: created / renamed, subscribed or counts changed (updated) / deleted.
   * Threads: created / an Email added or removed (updated) / last Email gone (destroyed).
   */
  changesSinceState(
    accountId: Id,
    kind: ChangeKind,
    sinceState: string,
    maxChanges?: number,
  ): Promise<AccountChanges | "cannotCalculateChanges">;
  /**
   * Maintenance (a background job runs it; exposed for the CLI and tests): removes change-log
   * and expunge-log entries recorded before `before`, raising the account's and mailboxes'
   * lowest answerable state, and thread references no message uses any more. Small batches,
   * each in its own short write transaction.
   */
  pruneHistory(before: Date): Promise<void>;

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

  // --- outbound queue and sending counters ------------------------------------------------
  enqueueOutbound(input: QueueInput): Promise<QueueEntry>;
  listQueue(): Promise<QueueEntry[]>;
  getQueuedMessage(id: Id): Promise<Uint8Array | null>;
  getQueueEntry(id: Id): Promise<QueueEntry | null>;
  /**
   * Claims up to `limit` due entries (not held, next attempt reached, no live lease) for `owner`
   * in one write transaction, so concurrent runners never get the same entry.
   */
  claimOutbound(o: { owner: string; leaseMs: number; limit: number; now?: number }): Promise<QueueClaim[]>;
  /**
   * Records an attempt: recipient states, attempts + 1, next attempt; deletes the entry when no
   * recipient is pending or deferred any more. Only while `owner` holds the lease: "lost" otherwise.
   */
  finishOutbound(id: Id, owner: string, r: QueueAttemptResult): Promise<"done" | "requeued" | "lost">;
  /** drops a lease (a runner that died); the entry becomes claimable at once */
  releaseOutboundLease(id: Id, owner: string): Promise<void>;
  /** extends `owner`'s lease to now + leaseMs while a delivery is in progress; false = lease lost */
  renewOutboundLease(id: Id, owner: string, leaseMs: number): Promise<boolean>;
  /** queue entries overall and those submitted by `accountId` (queue size limits) */
  countOutbound(accountId: Id | null): Promise<{ total: number; account: number }>;
  /** retry: due now (and not held); hold / release: stop / resume delivery. false = no such entry */
  updateOutbound(id: Id, op: "retry" | "hold" | "release"): Promise<boolean>;
  /** removes an entry without any bounce; false = no such entry */
  deleteOutbound(id: Id): Promise<boolean>;
  /**
   * Counts one message to `recipients` recipients against the account's sliding-hour limits.
   * Atomic: records it and returns true when it fits, records nothing and returns false otherwise.
   */
  recordSending(accountId: Id, recipients: number, limits: SendingLimits): Promise<boolean>;

  close(): Promise<void>;
}
