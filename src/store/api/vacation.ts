/**
 * Vacation responses (RFC 8621 §8 VacationResponse, RFC 3834 auto-replies): the per-account
 * settings JMAP and `postkontor vacation` read and write, and the "replied to" record behind the
 * once-per-sender rule (RFC 3834 §2). The engine that answers mail is src/smtp/vacation.ts.
 */
import type { Id, VacationResponse } from "./model.ts";

export interface VacationStore {
  /** the account's settings; an account that never set any has isEnabled false and nulls. NONEXISTENT */
  getVacationResponse(accountId: Id): Promise<VacationResponse>;
  /**
   * Changes the given properties (the others stay), records a VacationResponse change in the
   * account change log (kind "vacationResponse", id "singleton") and forgets whom the account
   * has replied to, so a new vacation answers everybody once again. NONEXISTENT, INVALID
   * (toDate not after fromDate).
   */
  setVacationResponse(accountId: Id, patch: Partial<VacationResponse>): Promise<VacationResponse>;
  /**
   * The once-per-sender rule (RFC 3834 §2): true, and the reply recorded at `now`, when the account
   * has not replied to `sender` within `intervalMs`; false otherwise. One write transaction, so two
   * deliveries at once send one reply.
   */
  claimVacationReply(accountId: Id, sender: string, intervalMs: number, now?: number): Promise<boolean>;
  /** forgets replies older than `before` (the background job does this hourly); returns rows removed */
  pruneVacationReplies(before: Date): Promise<number>;
}
