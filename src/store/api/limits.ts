/** Sending limits (submission abuse limits, sliding hour). */
import type { Id, SendingLimits } from "./model.ts";

export interface LimitsStore {
  /**
   * Counts one message to `recipients` recipients against the account's sliding-hour limits.
   * Atomic: records it and returns true when it fits, records nothing and returns false otherwise.
   */
  recordSending(accountId: Id, recipients: number, limits: SendingLimits): Promise<boolean>;
}
