/**
 * The db port's message-write operations (phase B of docs/architecture.md "Store layers"): what
 * domain/messages-write.ts needs to append, flag, expunge, copy and move messages, to keep thread
 * references, quota counters and the account change log. Same rules as db/port.ts (Maybe<T>
 * results, modseqs as bigint, one statement or a few per operation, ids as numbers).
 */

import type { Maybe } from "./port.ts";
import type { MailboxCore } from "./port-mailboxes.ts";

/** Quota limits and usage counters of an account (0 = no limit). */
export interface QuotaRow {
  quotaBytes: number;
  quotaMessages: number;
  usedBytes: number;
  usedMessages: number;
}

/** What expunge / move / copy need of a message row. */
export interface MessageRefRow {
  uid: number;
  size: number;
  blobId: number;
  prefixId: number | null;
  emailId: string;
  threadId: string;
}

/** What storeFlags needs of a message row. */
export interface MessageFlagRow {
  uid: number;
  /** flag text as stored (flags.ts) */
  flags: string;
  modseq: bigint;
  emailId: string;
}

export interface NewMessageRow {
  mailboxId: number;
  uid: number;
  accountId: number;
  emailId: string;
  threadId: string;
  blobId: number;
  prefixId: number | null;
  size: number;
  internalDate: number;
  saveDate: number;
  flags: string;
  flagBits: number;
  modseq: bigint;
  crlfSize: number;
}

/** Content for `blobs.ensure`: written (durably) before the transaction by the blob port. */
export interface BlobContent {
  sha: string;
  raw: Uint8Array;
  /** JSON of the ParsedMessage and its parser version */
  parsed: string;
  parsedVersion: number;
  /** the search text, computed only when the blob row is new */
  text: () => { headers: string; body: string };
}

export interface MailboxesMsgWrite {
  /** null = no such mailbox */
  core(mailboxId: number): Maybe<MailboxCore | null>;
  /** raises HIGHESTMODSEQ to modseq (and sets UIDNEXT when given) */
  touch(mailboxId: number, modseq: bigint, uidNext?: number): Maybe<void>;
}

export interface AccountsMsgWrite {
  /** null = no such account */
  quota(accountId: number): Maybe<QuotaRow | null>;
  /** adds to the usage counters; negative deltas never take them below zero */
  addUsage(accountId: number, bytes: number, messages: number): Maybe<void>;
}

export interface MessagesMsgWrite {
  /** rows for the given uids of one mailbox, in uid order, missing uids skipped (uids sorted, unique) */
  refRows(mailboxId: number, uids: readonly number[]): Maybe<MessageRefRow[]>;
  /** the same for storeFlags (modseq read exactly) */
  flagRowsOf(mailboxId: number, uids: readonly number[]): Maybe<MessageFlagRow[]>;
  insert(row: NewMessageRow): Maybe<void>;
  setFlags(mailboxId: number, uid: number, flags: string, flagBits: number, modseq: bigint): Maybe<void>;
  /** deletes the rows */
  delete(mailboxId: number, uids: readonly number[]): Maybe<void>;
  /**
   * Copies rows of srcMailboxId into another mailbox, each [source uid, new uid] of `uids` (emailId,
   * threadId, blob, prefix, flags, dates kept; the save date and modseq given), RFC 8474 §5.1.
   */
  copy(
    srcMailboxId: number,
    uids: ReadonlyArray<readonly [number, number]>,
    dst: { mailboxId: number; accountId: number },
    saveDate: number,
    modseq: bigint,
  ): Maybe<void>;
  /** whether any message row of the account carries this email / thread id now */
  holds(accountId: number, kind: "email" | "thread", id: string): Maybe<boolean>;
}

export interface ExpungesWrite {
  /** logs the uids as expunged at modseq (QRESYNC VANISHED, RFC 7162 §3.2.10) */
  add(mailboxId: number, uids: readonly number[], modseq: bigint): Maybe<void>;
}

export interface ThreadsWrite {
  /** the thread of the first Message-ID in `msgids` (in the given order) that has a reference */
  find(accountId: number, msgids: readonly string[]): Maybe<string | null>;
  /** records msgid → thread for each id not referenced yet */
  put(accountId: number, msgids: readonly string[], threadId: string): Maybe<void>;
}

export interface BlobsMsgWrite {
  /** whether a blob row with this content hash exists (before the transaction: skip the search text) */
  has(sha: string): Maybe<boolean>;
  /**
   * The blob row for appended content: inserted with its search text queued for the background
   * indexer (`created`), or the existing one, unmarked if the sweeper had marked it. The adapter
   * makes sure the content is still present under the write lock (rewrites it if a sweep removed it).
   */
  ensure(c: BlobContent): Maybe<{ id: number; created: boolean }>;
  /** stores a delivery-header prefix; returns its id */
  insertPrefix(data: Uint8Array): Maybe<number>;
  /** removes stored content that no blob row references (an append whose transaction failed) */
  dropContentWithoutRow(shas: Iterable<string>): Maybe<void>;
}

export interface ChangeRow {
  accountId: number;
  /** KIND_CODE of changes.ts */
  kind: number;
  id: string;
  /** CHANGE_* of changes.ts */
  change: number;
  modseq: bigint;
}

export interface ChangeRowsWrite {
  /** whether a mailbox / email / thread exists now (end-of-transaction resolution) */
  exists(accountId: number, kind: "email" | "thread" | "mailbox", id: string): Maybe<boolean>;
  /** writes change-log rows (one per object per modseq; a repeat overwrites the change) */
  insert(rows: readonly ChangeRow[], at: number): Maybe<void>;
}

/** What a Writer has in addition for message writes (db/port.ts Writer). */
export interface MessageWriteOps {
  mailboxes: MailboxesMsgWrite;
  accounts: AccountsMsgWrite;
  messages: MessagesMsgWrite;
  expunges: ExpungesWrite;
  threads: ThreadsWrite;
  blobs: BlobsMsgWrite;
  changes: ChangeRowsWrite;
}

/** What a Reader has in addition (checks before a write transaction). */
export interface MessageReadOps {
  mailboxes: Pick<MailboxesMsgWrite, "core">;
  accounts: Pick<AccountsMsgWrite, "quota">;
  blobs: Pick<BlobsMsgWrite, "has">;
}
