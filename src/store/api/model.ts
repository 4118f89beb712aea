/**
 * The data model of the mail-store API (api/*.ts split the methods by role; store/types.ts
 * re-exports everything). Implementations: store/domain over the ports (store/db, store/blob),
 * and store/sql for what is not moved yet; only src/server and src/cli construct them (openStore
 * in store/index.ts).
 *
 * Invariants (docs/architecture.md "Mail store"):
 * - Raw messages are byte-exact, content-addressed (SHA-256) and shared between copies.
 * - Every change to a message or mailbox takes a fresh modseq from the account's counter, so
 *   HIGHESTMODSEQ of a mailbox is the max modseq of its messages and expunge-log rows.
 * - A method that changes state resolves only after its transaction and blob are durable.
 * - Every write transaction records the Emails, Mailboxes and Threads it changed in the account
 *   change log, in the same transaction (changesSinceState).
 * - After each commit a Beacon is published on the ChangeFeed; no message data on the feed.
 * - All methods are async so that the PostgreSQL backend fits the same API.
 */

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

/**
 * An account's vacation response (RFC 8621 §8; JMAP id "singleton"). Replies go out only while
 * isEnabled and fromDate ≤ arrival < toDate (a null bound is open).
 */
export interface VacationResponse {
  isEnabled: boolean;
  fromDate: Date | null;
  toDate: Date | null;
  /** null = "Auto: " + the subject of the message answered */
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
}

/** A named app password of an account (the secret is shown once, when it is added). */
export interface AppPassword {
  /** unique per server, never reused (the JMAP AppPassword id is built from it) */
  id: Id;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** protocol of the last use: "imap", "pop3", "smtp" or "http" */
  lastUsedBy: string | null;
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

/** The special-use attributes a mailbox may carry (RFC 6154 §2). */
export const SPECIAL_USES = [
  "\\Drafts",
  "\\Sent",
  "\\Trash",
  "\\Junk",
  "\\Archive",
  "\\All",
  "\\Flagged",
] as const;
export type SpecialUse = (typeof SPECIAL_USES)[number];

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

/** JMAP Mailbox counts (RFC 8621 §2: totalEmails, unreadEmails, totalThreads, unreadThreads) */
export interface JmapMailboxCounts {
  emails: number;
  unreadEmails: number;
  threads: number;
  unreadThreads: number;
}

/** getMessageBlobs: a message's uid, content and modseq (MessageMeta's fields of those names) */
export interface MessageBlobRef {
  uid: number;
  blobId: string;
  modseq: bigint;
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
   * Octets a CRLF-normalised form of the message (prefix + blob) adds to `size`: one per bare LF
   * (an LF not preceded by CR), plus 2 when the message is non-empty and does not end with LF.
   * A property of the bytes, recorded at append (store/crlf.ts); protocols that send messages
   * with CRLF line ends derive their sizes from it. Absent for messages stored before it was
   * recorded (read the content instead).
   */
  lineEndingFixups?: number;
}

/** a message row with its mailbox: what the account-wide lookups by Email / Thread id answer */
export interface AccountMessage extends MessageMeta {
  mailboxId: Id;
}

/**
 * RFC 5256 THREAD/SORT inputs of a mailbox's messages (Store.threadInputs): parallel arrays, one
 * entry per message, in uid order.
 */
export interface ThreadInputs {
  uid: number[];
  /** RFC 5256 §2.2 sent date, ms: the Date header, else the internal date */
  date: number[];
  /** the Message-ID's msg-id (`<…>`), null when absent or invalid */
  messageId: Array<string | null>;
  /** References msg-ids (else the first msg-id of In-Reply-To), oldest first, space-separated */
  refs: string[];
  /** RFC 5256 §2.1 base subject, i;ascii-casemap form (as SORT's SUBJECT key) */
  subject: string[];
  /** 1 when a reply/forward marker was removed from the subject (REFERENCES step 5) */
  reply: Uint8Array;
  /** false when some message's content could not be read (expunged meanwhile): empty inputs */
  complete: boolean;
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

/**
 * Every message's state, as parallel arrays: one entry per message, ascending uid
 * (Store.listMessageStates). No per-message objects: the bulk form for large mailboxes.
 * Read-only: the store may hand the same arrays to several callers (its per-process cache).
 */
export interface MessageStates {
  uids: Uint32Array;
  /**
   * each message's flags in the store's serialised form: the same list as MessageMeta.flags
   * (system flags in their canonical spelling, keywords as given, deduplicated) joined by one
   * space; "" = no flags. Flags never contain a space, so `t === "" ? [] : t.split(" ")` is the
   * list; protocols format it themselves.
   */
  flags: string[];
  /** each message's modseq, exact (64-bit) */
  modseqs: BigUint64Array;
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

/** Object kinds recorded in the account change log (JMAP Email, Mailbox, Thread, VacationResponse). */
export type ChangeKind = "email" | "mailbox" | "thread" | "vacationResponse";

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

/** `Store.undelete`: which expunged messages of the undelete window to bring back */
export interface UndeleteOptions {
  /** only those expunged at or after this time */
  since?: Date;
  /** only those expunged from a folder of this name */
  mailbox?: string;
}

export interface UndeleteResult {
  restored: number;
  /** the folders they went to */
  folders: string[];
}

/** A message `postkontor import` stores, with its key in the account's import ledger. */
export interface ImportItem extends AppendInput {
  /** unique per source: the same key again is a duplicate (src/import/ledger.ts builds it) */
  key: string;
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

export { currentOrigin, withOrigin } from "../feed/origin.ts";
export type { Beacon, ChangeFeed } from "../feed/port.ts";
export type { KeyStore, StoredKey } from "../keys/port.ts";
export type { Lease, LockService } from "../locks/port.ts";

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

/** Where `deliver` puts a message in one account (a missing mailbox falls back to INBOX). */
export interface DeliveryTarget {
  accountId: Id;
  mailbox?: string;
  flags?: string[];
  /** per-recipient header block (CRLF-terminated lines) prefixed on read */
  deliveryHeaders?: Uint8Array;
}

export interface DeliverOptions {
  /** the end of an expectDelivery() announcement: deliver ends it once its append is queued */
  announced?: () => void;
}

/**
 * `deliver` stored nothing because of targets[target]: code OVERQUOTA (permanent = the message is
 * larger than the whole quota, RFC 3463 5.2.2; else the mailbox is full now, 4.2.2), TOOBIG,
 * NONEXISTENT (no such account or INBOX), or another StoreError code of the failed append.
 */
export class DeliveryRefused extends StoreError {
  readonly target: number;
  readonly permanent: boolean;
  constructor(code: StoreError["code"], target: number, permanent: boolean, message: string) {
    super(code, message);
    this.target = target;
    this.permanent = permanent;
    this.name = "DeliveryRefused";
  }
}
