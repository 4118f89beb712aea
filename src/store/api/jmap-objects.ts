/**
 * Small per-account JMAP objects the mail model has no table for (Identity, EmailSubmission):
 * JSON documents kept per (account, type, id), each type with its own state counter, destroyed
 * objects kept as tombstones so that `/changes` can answer from any earlier state.
 */
import type { Id } from "./model.ts";

export interface JmapObject {
  id: string;
  /** the object's JSON text (the JMAP layer owns its shape) */
  data: string;
}

export interface JmapObjectChanges {
  oldState: string;
  newState: string;
  hasMoreChanges: boolean;
  created: string[];
  updated: string[];
  destroyed: string[];
}

export interface JmapObjectStore {
  /** the account's live objects of one type, ordered by id */
  listJmapObjects(accountId: Id, type: string): Promise<JmapObject[]>;
  /** the type's state string for the account ("0" before any write) */
  jmapObjectState(accountId: Id, type: string): Promise<string>;
  /**
   * Creates/replaces `puts` and destroys `deletes` in one write transaction with one new state;
   * answers the new state. Ids are the caller's (unique per account and type).
   */
  writeJmapObjects(accountId: Id, type: string, puts: JmapObject[], deletes: string[]): Promise<string>;
  /** RFC 8620 §5.2 over the type's own counter; a malformed or future state cannot be calculated */
  jmapObjectChanges(
    accountId: Id,
    type: string,
    sinceState: string,
    maxChanges: number,
  ): Promise<JmapObjectChanges | "cannotCalculateChanges">;
}
