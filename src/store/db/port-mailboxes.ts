/**
 * The db port's operations for mailboxes, subscriptions, message reads and the change log's read
 * side (issue 10 phase B, part 1; re-exported by db/port.ts, whose rules apply). The message
 * write operations (append, flags, expunge, copy/move) are a separate block.
 *
 * Hot paths: `messages.states` (whole-mailbox reads) and `messages.meta` (by uid) return compact
 * results in one call per command; the adapter keeps its fast paths (prepared statements,
 * parallel typed arrays filled without row objects).
 */

import type { MessageStates } from "../api/model.ts";
import type { Maybe } from "./port.ts";

export interface MailboxRow {
  id: number;
  accountId: number;
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModseq: bigint;
  specialUse: string | null;
  subscribed: boolean;
}

/** What message operations need of a mailbox (hot single-row lookup). */
export interface MailboxCore {
  accountId: number;
  uidValidity: number;
  uidNext: number;
}

/** A mailbox's state for CONDSTORE/QRESYNC reads. */
export interface MailboxSyncState {
  uidNext: number;
  highestModseq: bigint;
  /** the expunge log is complete only above this modseq (older rows pruned) */
  expungeFloor: bigint;
}

/** What a mailbox holds, read before deleting it (its messages cascade). */
export interface MailboxContents {
  messages: number;
  bytes: number;
  /** distinct blob and delivery-prefix ids its messages reference */
  blobIds: number[];
  prefixIds: number[];
  /** distinct (emailId, threadId) of its messages */
  emails: Array<[string, string]>;
}

/** A message's flags as stored (normalised, space-separated) and its modseq. */
export interface FlagTextRow {
  uid: number;
  flags: string;
  modseq: bigint;
}

/** A message's metadata as stored (times in ms). */
export interface MessageMetaRow {
  uid: number;
  emailId: string;
  threadId: string;
  sha256: string;
  /** prefix + blob */
  size: number;
  internalDate: number;
  saveDate: number;
  flags: string;
  modseq: bigint;
  /** MessageMeta.lineEndingFixups; null for rows stored before it was recorded */
  lineEndingFixups: number | null;
}

/** a message row with its mailbox: the account-wide lookups by Email / Thread id */
export interface AccountMessageRow extends MessageMetaRow {
  mailboxId: number;
}

/** Where a message's content is: the blob and the per-recipient delivery-header prefix. */
export interface MessageLocation {
  sha256: string;
  /** blob octets (without the prefix) */
  blobSize: number;
  /** delivery headers kept beside the blob, or null */
  prefix: Uint8Array | null;
}

export interface MailboxesRead {
  /** ordered INBOX first, then by name */
  list(accountId: number): Maybe<MailboxRow[]>;
  byName(accountId: number, name: string): Maybe<MailboxRow | null>;
  byId(id: number): Maybe<MailboxRow | null>;
  core(id: number): Maybe<MailboxCore | null>;
  syncState(id: number): Maybe<MailboxSyncState | null>;
  /** id and name of every mailbox whose name starts with prefix (byte-wise) */
  withPrefix(accountId: number, prefix: string): Maybe<Array<{ id: number; name: string }>>;
  /**
   * messages, octets, not \Seen, \Deleted; null = no such mailbox. Kept as counters in the same
   * transaction as every message write (no scan: STATUS costs the same for 10 and 100,000 messages)
   */
  counts(id: number): Maybe<{ messages: number; size: number; unseen: number; deleted: number } | null>;
  /** the first uid not yet claimed by a session (MailStore.claimNewMessages); null = no such mailbox */
  firstNewUid(id: number): Maybe<number | null>;
  /** messages with uid ≥ firstNewUid */
  newCount(id: number): Maybe<number>;
  contents(id: number): Maybe<MailboxContents>;
  /**
   * Deleted mailboxes whose messages the background purge has not removed yet, as
   * [mailbox id, account id], at most `limit`. Every other operation of this port treats them as
   * absent (list, byName, byId, core, syncState, counts, …).
   */
  retired(limit: number): Maybe<Array<[number, number]>>;
}

export interface MailboxesWrite extends MailboxesRead {
  /** inserts a mailbox with uidnext 1 and the given HIGHESTMODSEQ; returns its id (never reused) */
  insert(m: {
    accountId: number;
    name: string;
    uidValidity: number;
    specialUse: string | null;
    highestModseq: bigint;
    createdAt: number;
  }): Maybe<number>;
  /** deletes the mailbox; its messages cascade (expunge log rows go with it) */
  delete(id: number): Maybe<void>;
  /**
   * Deletes the mailbox as far as every reader can tell, in time independent of its size: it
   * leaves the namespace (its name is free at once), its ACL and METADATA rows go; its messages
   * stay for the background purge (`retired`, `takeMessages`, then `delete`).
   */
  retire(id: number): Maybe<void>;
  /**
   * Removes up to `limit` message rows of a retired mailbox (lowest uids first) and returns what
   * they held (counts, octets, blobs, prefixes, Emails) for GC marking, usage and the change log.
   */
  takeMessages(id: number, limit: number): Maybe<MailboxContents>;
  rename(id: number, name: string, highestModseq: bigint): Maybe<void>;
  /** raises the first unclaimed uid (column first_recent_uid) to uid (never lowers it) */
  setFirstNewUid(id: number, uid: number): Maybe<void>;
  /** sets HIGHESTMODSEQ (and UIDNEXT when given) */
  touch(id: number, highestModseq: bigint, uidNext?: number): Maybe<void>;
  /**
   * Moves every message of src into dst (same account) in uid order, renumbered from dst's
   * UIDNEXT, stamped with modseq and save date `now`; logs the src uids as expunged at modseq;
   * sets dst's UIDNEXT. Emails keep their ids (RFC 8474 §5.1). Returns the moved (emailId, threadId).
   */
  moveAll(srcId: number, dstId: number, modseq: bigint, now: number): Maybe<Array<[string, string]>>;
}

export interface SubscriptionsRead {
  /** ordered by name */
  list(accountId: number): Maybe<string[]>;
}

export interface SubscriptionsWrite extends SubscriptionsRead {
  /** subscribes (idempotent) */
  add(accountId: number, name: string): Maybe<void>;
  /** false = was not subscribed */
  remove(accountId: number, name: string): Maybe<boolean>;
}

/** uid, content and modseq of a message: what a FETCH of parsed items alone reads */
export interface MessageBlobRow {
  uid: number;
  sha256: string;
  modseq: bigint;
}

/** RFC 8621 §2 Mailbox counts of one mailbox */
export interface JmapCountsRow {
  mailboxId: number;
  emails: number;
  threads: number;
  unreadEmails: number;
  unreadThreads: number;
}

/** Message reads (the write side is in its own block). */
export interface MessageReads {
  /** every message of the mailbox, by uid */
  flagRows(mailboxId: number): Maybe<FlagTextRow[]>;
  /** the compact bulk form (api MessageStates, modseqs exact); null = no such mailbox */
  states(mailboxId: number): Maybe<MessageStates | null>;
  /** messages with modseq > since, by uid */
  changedSince(mailboxId: number, since: bigint): Maybe<FlagTextRow[]>;
  /** uids present, ascending */
  uids(mailboxId: number): Maybe<number[]>;
  /** metadata of the given uids (unique, ascending, > 0), missing ones skipped */
  meta(mailboxId: number, uids: readonly number[]): Maybe<MessageMetaRow[]>;
  /** meta's uid, blob and modseq alone (no row objects for the rest) */
  blobRows(mailboxId: number, uids: readonly number[]): Maybe<MessageBlobRow[]>;
  /** the account's rows (any mailbox) whose email_id is one of `emailIds`, by mailbox id and uid */
  byEmailIds(accountId: number, emailIds: readonly string[]): Maybe<AccountMessageRow[]>;
  /** the account's rows (any mailbox) whose thread_id is one of `threadIds`, by mailbox id and uid */
  byThreadIds(accountId: number, threadIds: readonly string[]): Maybe<AccountMessageRow[]>;
  /**
   * email ids of the mailbox's rows without \Deleted, newest internal date first (ties: email id
   * ascending, byte order), each once, skipping `offset`, at most `limit` — index message_date (migration 19).
   * collapse: only a thread's first row in that order (the others of its thread_id left out).
   * asc: oldest first (ties still by email id ascending).
   */
  emailIdsByDate(
    mailboxId: number,
    offset: number,
    limit: number,
    collapse: boolean,
    asc: boolean,
  ): Maybe<string[]>;
  /**
   * the 0-based index of the email's row in emailIdsByDate's order (same collapse, asc), or null
   * when no row of that email is in that list (none in the mailbox, \Deleted, collapsed away)
   */
  emailIndexByDate(mailboxId: number, emailId: string, collapse: boolean, asc: boolean): Maybe<number | null>;
  /** visible Emails and Threads of the mailbox (migration 23's counters); null = no mailbox */
  jmapTotals(mailboxId: number): Maybe<{ emails: number; threads: number } | null>;
  /** every live mailbox's JMAP counts (RFC 8621 §2; db/jmap-sql.ts) */
  jmapCounts(accountId: number): Maybe<JmapCountsRow[]>;
}

export interface ExpungesRead {
  /** uids expunged with modseq > since, ascending */
  since(mailboxId: number, since: bigint): Maybe<number[]>;
}

export interface ParsedCacheRow {
  /** JSON of the ParsedMessage, or null */
  parsed: string | null;
  version: number;
}

export interface BlobsRead {
  /** the stored parse of a blob by its SHA-256; null = no such blob */
  parsed(sha256: string): Maybe<ParsedCacheRow | null>;
}

export interface BlobsParsedWrite {
  setParsed(sha256: string, parsed: string, version: number): Maybe<void>;
}

export interface ChangesRead {
  /** the account's modseq and lowest answerable state; null = no such account */
  accountState(accountId: number): Maybe<{ modseq: bigint; floor: bigint } | null>;
  /**
   * Change-log rows of one kind after (modseq, objId) up to modseq `upto`, in (modseq, objId)
   * order (objId byte order), at most limit: [modseq, objId, change code].
   */
  page(
    accountId: number,
    kind: number,
    after: { modseq: bigint; id: string },
    upto: bigint,
    limit: number,
  ): Maybe<Array<[bigint, string, number]>>;
}

/** (the change-log rows themselves are written with ChangeRowsWrite, port-messages.ts) */
export type ChangesWrite = ChangesRead;

export interface UsageWrite {
  /** lowers the account's quota usage (never below 0) */
  subtract(accountId: number, bytes: number, messages: number): Maybe<void>;
}

/** Single-statement snapshot reads that do not wait behind this process's transactions. */
export interface Peeker {
  /** null = no such message */
  location(mailboxId: number, uid: number): Maybe<MessageLocation | null>;
}
