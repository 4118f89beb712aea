/**
 * The feed port: publish/subscribe of change beacons (docs/architecture.md "Process model", change feed). After each
 * commit the store publishes a small Beacon {account, mailbox, modseq}; sessions (IMAP IDLE, JMAP
 * push) subscribe per account and pull the delta from the store by modseq. No message data
 * travels on the feed, so every node sees the same truth.
 * Adapters: hub.ts (in-process emitter + a Unix-socket hub relaying between the worker
 * processes of one host), postgres.ts (LISTEN/NOTIFY between nodes, resync after a reconnect).
 * contract.ts holds the tests every adapter runs.
 *
 * Contract: publish never waits and never fails a committed write; local subscribers get the
 * beacon synchronously, other processes/nodes a moment later; a subscriber that throws does not
 * starve the others.
 */
import type { Id } from "../types.ts";

/**
 * Beacon published after each commit. Sessions pull the delta from the store by modseq.
 * mailboxId is null for account-level changes (mailbox created/renamed/deleted/subscribed).
 */
export interface Beacon {
  accountId: Id;
  mailboxId: Id | null;
  modseq: string; // bigint as decimal string (JSON-safe)
  /**
   * METADATA entries changed (RFC 5464; IMAP NOTIFY MailboxMetadataChange / ServerMetadataChange,
   * RFC 5465 §5.10/§5.11): of mailboxId, or of the server when mailboxId is null. Absent for every
   * other change; [] when the names did not fit in a beacon (then: "some entries").
   */
  metadata?: string[];
  /**
   * The session whose command made the change (origin.ts; at most MAX_ORIGIN characters), absent
   * for deliveries and other writes outside a session: IMAP NOTIFY skips its own (RFC 5465 §5).
   */
  origin?: string;
}

export interface ChangeFeed {
  /** subscribe to one account's beacons; returns an unsubscribe function */
  subscribe(accountId: Id, listener: (b: Beacon) => void): () => void;
  /** used by the store after commit; relays to other processes */
  publish(b: Beacon): void;
  close(): Promise<void>;
}
