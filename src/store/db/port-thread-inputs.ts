/**
 * The db port's operations for the RFC 5256 THREAD/SORT inputs (re-exported by db/port.ts, whose
 * rules apply): one row per blob (table `thread_input`), written in the transaction of the append
 * that stores the blob, or later for blobs stored before the table existed.
 */
import type { Maybe } from "./port.ts";

/** A blob's threading inputs (domain/thread-inputs.ts computes them). */
export interface ThreadInputRow {
  /** the Message-ID's msg-id (`<…>`), null when absent or invalid */
  messageId: string | null;
  /** References msg-ids (else the first of In-Reply-To), oldest first, space-separated */
  refs: string;
  /** RFC 5256 §2.1 base subject, i;ascii-casemap form */
  subject: string;
  /** a reply/forward marker was removed from the subject */
  reply: boolean;
  /** Date header, ms; null when absent or invalid */
  sentDate: number | null;
}

/**
 * Every message of a mailbox with its blob's inputs, in uid order, as parallel arrays (one entry
 * per message). A message whose blob has no row of `version` has `has[i] = 0` (its other entries
 * are empty) and is named by `sha256[i]` so that the caller can compute the row.
 */
export interface ThreadInputColumns {
  uid: number[];
  internalDate: number[];
  blobId: number[];
  sha256: string[];
  has: Uint8Array;
  messageId: Array<string | null>;
  refs: string[];
  subject: string[];
  reply: Uint8Array;
  sentDate: Array<number | null>;
}

export interface ThreadInputsRead {
  /** the mailbox's messages with their inputs (see ThreadInputColumns) */
  ofMailbox(mailboxId: number, version: number): Maybe<ThreadInputColumns>;
}

export interface ThreadInputsWrite extends ThreadInputsRead {
  /** stores (or replaces) the blob's row */
  put(blobId: number, version: number, row: ThreadInputRow): Maybe<void>;
}
