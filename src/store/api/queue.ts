/** The outbound queue's state: submission enqueues, the queue runner claims and finishes, the CLI administers. */
import type { Id, QueueAttemptResult, QueueClaim, QueueEntry, QueueInput } from "./model.ts";

export interface QueueStore {
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
}
