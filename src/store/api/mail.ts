/** Mailboxes and messages: IMAP, POP3, local delivery, and the change feed sessions follow. */

import type { ParsedMessage } from "../../mime/types.ts";
import type {
  AccountChanges,
  AccountMessage,
  AppendInput,
  AppendResult,
  ChangeFeed,
  ChangeKind,
  ChangesSince,
  CopyResult,
  DeliverOptions,
  DeliveryTarget,
  FlagOp,
  Id,
  ImportItem,
  JmapMailboxCounts,
  Mailbox,
  MailboxCounts,
  MessageBlobRef,
  MessageContent,
  MessageFlagsRow,
  MessageMeta,
  MessageStates,
  SpecialUse,
  StoreFlagsResult,
  TextQuery,
  ThreadInputs,
  UndeleteOptions,
  UndeleteResult,
} from "./model.ts";

/** RFC 5464 §4.2.2 DEPTH */
export type MetadataDepth = 0 | 1 | "infinity";
/** a METADATA entry: name lower-cased; value null = the entry does not exist */
export interface MetadataEntry {
  name: string;
  value: Uint8Array | null;
}
/** SETMETADATA item: value null removes the entry */
export interface MetadataUpdate {
  name: string;
  value: Uint8Array | null;
}

export interface MailStore {
  readonly feed: ChangeFeed;

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
  /**
   * Subscribing needs a mailbox of that name in the account (NONEXISTENT), unless opts.anyName:
   * for names the caller checked itself (an IMAP shared mailbox of another account, RFC 4314).
   */
  setSubscribed(
    accountId: Id,
    name: string,
    subscribed: boolean,
    opts?: { anyName?: boolean },
  ): Promise<void>;
  /** names subscribed, including ones that no longer exist */
  listSubscriptions(accountId: Id): Promise<string[]>;
  mailboxCounts(mailboxId: Id): Promise<MailboxCounts>;

  // --- messages -------------------------------------------------------------------------
  /** APPEND / local delivery; checks quota (OVERQUOTA) and size limit (TOOBIG) */
  append(accountId: Id, mailboxId: Id, input: AppendInput): Promise<AppendResult>;
  /** several messages in one transaction (MULTIAPPEND: all or nothing) */
  appendMany(accountId: Id, mailboxId: Id, inputs: AppendInput[]): Promise<AppendResult[]>;
  /**
   * REPLACE (RFC 8508): appends input to dstMailboxId and removes message uid of srcMailboxId in
   * one transaction — all or nothing (a failing append leaves the old message; NONEXISTENT when
   * the old message or a mailbox is gone). The old message's octets count as freed for the quota.
   */
  replace(
    accountId: Id,
    srcMailboxId: Id,
    uid: number,
    dstMailboxId: Id,
    input: AppendInput,
  ): Promise<AppendResult>;
  /**
   * Local delivery of one message to several accounts, all or nothing (quota of every target
   * checked first; copies already stored are expunged again if a later one fails): rejects with
   * DeliveryRefused naming the target. The same append path as APPEND.
   */
  deliver(raw: Uint8Array, targets: DeliveryTarget[], opts?: DeliverOptions): Promise<AppendResult[]>;
  /**
   * Announces a deliver() about to come (a message received and being checked): a group commit
   * that forms meanwhile waits a moment (at most a few ms) for it to share its commit instead of
   * committing without it. Returns the end of the announcement: pass it to deliver()
   * (DeliverOptions.announced), which ends it once the delivery is queued, and call it on every
   * path that does not deliver (calling it again is harmless).
   */
  expectDelivery(): () => void;
  /** all messages of a mailbox, sorted by uid (SELECT, view build) */
  listMessages(mailboxId: Id): Promise<MessageFlagsRow[]>;
  /**
   * The same facts as listMessages in the compact bulk form (see MessageStates): parallel
   * arrays sorted by uid, flags serialised, modseqs in one typed array. For reads of a whole
   * large mailbox (IMAP SELECT and `UID FETCH 1:* (UID FLAGS)` use it).
   */
  listMessageStates(mailboxId: Id): Promise<MessageStates>;
  /**
   * Raises the mailbox's first unclaimed uid to uptoUid (never lowers it) in one write
   * transaction and returns the previous value, so each uid in [previous, uptoUid) is claimed by
   * exactly one caller, across processes. uptoUid 0 (or any value not above the current one)
   * only reads. New mailboxes start at 1: every message is unclaimed until someone claims it.
   * (IMAP derives \Recent from it — see imap/server/session.ts.)
   */
  claimNewMessages(mailboxId: Id, uptoUid: number): Promise<number>;
  /** messages not claimed yet (uid ≥ the first unclaimed uid) */
  countUnclaimed(mailboxId: Id): Promise<number>;
  changesSince(mailboxId: Id, modseq: bigint): Promise<ChangesSince>;
  /** metadata for the given uids (missing ones omitted), sorted by uid */
  getMessages(mailboxId: Id, uids: number[]): Promise<MessageMeta[]>;
  /**
   * getMessages' uid, blobId and modseq alone: for reads that need nothing else of the row (IMAP
   * FETCH of ENVELOPE / BODYSTRUCTURE), without the per-message objects of the rest
   */
  getMessageBlobs(mailboxId: Id, uids: number[]): Promise<MessageBlobRef[]>;
  /**
   * RFC 5256 THREAD/SORT inputs of every message in the mailbox (one query; inputs of messages
   * stored before they were recorded are computed and stored on the way)
   */
  threadInputs(mailboxId: Id): Promise<ThreadInputs>;
  /**
   * Every message row of the account (any mailbox, \Deleted included) whose emailId is one of
   * `emailIds` — the copies of those Emails (RFC 8621 Email ids = IMAP EMAILID, RFC 8474) —
   * sorted by mailbox id, then uid. Unknown ids are absent.
   */
  messagesByEmailId(accountId: Id, emailIds: string[]): Promise<AccountMessage[]>;
  /** the same for threadIds (the rows of those Threads) */
  messagesByThreadId(accountId: Id, threadIds: string[]): Promise<AccountMessage[]>;
  /**
   * emailIds of the mailbox's messages without \Deleted, newest internal date first (ties:
   * emailId ascending, byte order), from 0-based `position`, at most `limit` — one page of
   * JMAP Email/query inMailbox sorted by receivedAt, read from an index (not the whole mailbox).
   * `ascending`: oldest first (ties still emailId ascending).
   */
  emailIdsByDate(
    mailboxId: Id,
    position: number,
    limit: number,
    opts?: { collapseThreads?: boolean; ascending?: boolean },
  ): Promise<string[]>;
  /**
   * The 0-based index of `emailId` in emailIdsByDate's list (same options), or null when it is not
   * in it (JMAP anchors, Email/queryChanges' added indexes). Counts the rows before it.
   */
  emailIndexByDate(
    mailboxId: Id,
    emailId: string,
    opts?: { collapseThreads?: boolean; ascending?: boolean },
  ): Promise<number | null>;
  /**
   * With `collapseThreads`, only each thread's first message in that order (RFC 8621 §4.4), and
   * mailboxThreadCount is the matching total: distinct threadIds among the mailbox's messages
   * without \Deleted (a counter, migration 23).
   */
  mailboxThreadCount(mailboxId: Id): Promise<number>;
  /**
   * The mailbox's messages without \Deleted as JMAP counts them: distinct Emails (two copies of one
   * Email in the mailbox count once) and distinct Threads — counters kept by triggers (migration
   * 23), no scan: Email/query totals, Mailbox/get totalEmails/totalThreads.
   */
  jmapMailboxTotals(mailboxId: Id): Promise<{ emails: number; threads: number }>;
  /**
   * JMAP Mailbox counts (RFC 8621 §2) of every mailbox of the account: the totals above and the
   * unread ones — an Email none of whose visible copies in the account has \Seen or \Draft; a
   * Thread with a message in the mailbox and an unread Email anywhere in the account. The unread
   * ones come from the partial index of messages with neither flag (migration 23), in two
   * statements for all mailboxes: O(unread messages of the account), not O(messages).
   */
  jmapAccountCounts(accountId: Id): Promise<Map<Id, JmapMailboxCounts>>;
  /** parsed MIME structure, computed at append time and cached */
  getParsed(blobId: string): Promise<ParsedMessage>;
  /**
   * getParsed of each blob, in order; null where the blob is gone (expunged and collected
   * meanwhile). Cached structures are answered without a wait per blob.
   */
  getParsedMany(blobIds: readonly string[]): Promise<Array<ParsedMessage | null>>;
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
  // --- import ledger (postkontor import) ---------------------------------------------------
  /**
   * Appends the items (as appendMany: one transaction, all or nothing, quota checked) and writes
   * each one's ledger row (account, source, key) in the same transaction; an item whose key is
   * already in the ledger is not stored (null in the result). So an interrupted import that is
   * run again stores every message exactly once.
   */
  importMessages(
    accountId: Id,
    mailboxId: Id,
    source: string,
    items: ImportItem[],
  ): Promise<Array<AppendResult | null>>;
  // --- undelete window (store.undelete_window) --------------------------------------------
  /**
   * Brings expunged messages still inside the undelete window back: into their folder with new
   * UIDs, or into `Restored/<date>/<name>` when the folder is gone; flags, keywords, internal
   * dates and delivery headers kept; counted against the quota again. Retrying stores nothing twice.
   */
  undelete(accountId: Id, opts?: UndeleteOptions): Promise<UndeleteResult>;
  // --- METADATA (RFC 5464) ----------------------------------------------------------------
  /**
   * Entries of a mailbox (mailboxId) or of the server (null), per account: each requested name
   * (lower-cased; value null if absent), then its descendants down to `depth`. NONEXISTENT when
   * the mailbox is neither the account's nor shared with it ("l"); CANNOT when shared without any
   * of "rswip" (RFC 5464 §3.3); a shared mailbox's /shared entries are its owner's, its /private
   * ones the account's. INVALID for a name outside /private and /shared.
   */
  getMetadata(
    accountId: Id,
    mailboxId: Id | null,
    names: string[],
    depth: MetadataDepth,
  ): Promise<MetadataEntry[]>;
  /**
   * Sets or removes (value null) entries in one transaction, all or nothing: TOOBIG when a value
   * is over limits.maxSize octets, LIMIT when the mailbox/server would hold more than
   * limits.maxEntries. Entries go with their mailbox (DELETE) and stay with it on RENAME.
   */
  setMetadata(
    accountId: Id,
    mailboxId: Id | null,
    updates: MetadataUpdate[],
    limits: { maxSize: number; maxEntries: number },
  ): Promise<void>;
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
}
