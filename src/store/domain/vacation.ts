/**
 * Vacation responses over the db port (api/vacation.ts): the RFC 8621 §8 settings of an account
 * and the RFC 3834 §2 once-per-sender record. A change of the settings is a VacationResponse
 * update in the account change log (TxContext, id "singleton"), so JMAP gets a state for it, and
 * publishes an account-level beacon.
 */
import { type Id, StoreError, type VacationResponse } from "../api/model.ts";
import type { VacationRow } from "../db/port.ts";
import { type DomainDeps, noAccount, write } from "./context.ts";

/** RFC 8621 §8: the one VacationResponse object of an account */
export const VACATION_ID = "singleton";
/** reply records deleted per pruning transaction */
const PRUNE_BATCH = 500;

const OFF: VacationRow = {
  enabled: false,
  fromDate: null,
  toDate: null,
  subject: null,
  textBody: null,
  htmlBody: null,
};

function toModel(r: VacationRow): VacationResponse {
  return {
    isEnabled: r.enabled,
    fromDate: r.fromDate === null ? null : new Date(r.fromDate),
    toDate: r.toDate === null ? null : new Date(r.toDate),
    subject: r.subject,
    textBody: r.textBody,
    htmlBody: r.htmlBody,
  };
}

function time(d: Date | null | undefined, name: string): number | null | undefined {
  if (d === undefined || d === null) return d;
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new StoreError("INVALID", `${name} is not a valid date`);
  return t;
}

export class Vacation {
  readonly #d: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async getVacationResponse(accountId: Id): Promise<VacationResponse> {
    const r = await this.#d.db.read(async (q) => {
      if (!(await q.accounts.byId(accountId))) throw new StoreError("NONEXISTENT", "no such account");
      return q.vacation.get(accountId);
    });
    return toModel(r ?? OFF);
  }

  async setVacationResponse(accountId: Id, patch: Partial<VacationResponse>): Promise<VacationResponse> {
    const from = time(patch.fromDate, "fromDate");
    const to = time(patch.toDate, "toDate");
    if (patch.subject != null && /[\r\n]/.test(patch.subject))
      throw new StoreError("INVALID", "the subject is one line");
    const size = (patch.subject?.length ?? 0) + (patch.textBody?.length ?? 0) + (patch.htmlBody?.length ?? 0);
    // the reply must fit a message; strings count UTF-16 units, at most 3 octets each in UTF-8
    if (size * 3 > this.#d.maxMessageSize / 2)
      throw new StoreError("INVALID", "the vacation response is too large");
    return write(this.#d, async (t) => {
      const cur = (await t.tx.vacation.get(accountId)) ?? OFF;
      const next: VacationRow = {
        enabled: patch.isEnabled ?? cur.enabled,
        fromDate: from === undefined ? cur.fromDate : from,
        toDate: to === undefined ? cur.toDate : to,
        subject: patch.subject === undefined ? cur.subject : patch.subject,
        textBody: patch.textBody === undefined ? cur.textBody : patch.textBody,
        htmlBody: patch.htmlBody === undefined ? cur.htmlBody : patch.htmlBody,
      };
      if (next.fromDate !== null && next.toDate !== null && next.toDate <= next.fromDate)
        throw new StoreError("INVALID", "toDate must be after fromDate");
      // takes the account's modseq (NONEXISTENT when there is no account) before any row is written
      const modseq = await t.modseq(accountId);
      await noAccount(() => t.tx.vacation.put(accountId, next, Date.now()));
      // a new vacation answers every sender once again (RFC 5230 §4.2 allows resetting the record)
      await t.tx.vacation.clearReplies(accountId);
      t.changes.touch(accountId, "vacationResponse", VACATION_ID, "update");
      t.beacon(accountId, null, modseq);
      return toModel(next);
    });
  }

  async claimVacationReply(
    accountId: Id,
    sender: string,
    intervalMs: number,
    now = Date.now(),
  ): Promise<boolean> {
    const who = sender.toLowerCase();
    return write(this.#d, async ({ tx }) => {
      const last = await tx.vacation.lastReply(accountId, who);
      // RFC 3834 §2: at most one response per sender within the interval
      if (last !== null && now - last < intervalMs) return false;
      await tx.vacation.recordReply(accountId, who, now);
      return true;
    });
  }

  async pruneVacationReplies(before: Date): Promise<number> {
    let total = 0;
    // bounded: each round deletes PRUNE_BATCH rows or ends
    for (let i = 0; i < 1_000_000; i++) {
      const n = await write(this.#d, async ({ tx }) =>
        tx.vacation.pruneReplies(before.getTime(), PRUNE_BATCH),
      );
      total += n;
      if (n < PRUNE_BATCH) break;
    }
    return total;
  }
}
