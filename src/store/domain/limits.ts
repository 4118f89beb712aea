/** Sending limits over a sliding hour (per account and per sender domain), over the db port. */
import type { Id, SendingLimits } from "../types.ts";
import { type DomainDeps, write } from "./context.ts";

const HOUR_MS = 3_600_000;

export class Limits {
  readonly #d: DomainDeps;

  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  /** Atomic: records the send and returns true when it fits every limit, records nothing otherwise. */
  recordSending(accountId: Id, recipients: number, limits: SendingLimits): Promise<boolean> {
    return write(this.#d, async ({ tx }) => {
      const now = Date.now();
      const since = now - HOUR_MS;
      await tx.sending.prune(accountId, since);
      const used = await tx.sending.usage(accountId, since);
      if (limits.messagesPerHour > 0 && used.messages + 1 > limits.messagesPerHour) return false;
      if (limits.recipientsPerHour > 0 && used.recipients + recipients > limits.recipientsPerHour)
        return false;
      // per sender domain: every account of the account's domain (abuse limits, issue 5)
      const dm = limits.domainMessagesPerHour ?? 0;
      const dr = limits.domainRecipientsPerHour ?? 0;
      if (dm > 0 || dr > 0) {
        const d = await tx.sending.domainUsage(accountId, since);
        if (dm > 0 && d.messages + 1 > dm) return false;
        if (dr > 0 && d.recipients + recipients > dr) return false;
      }
      await tx.sending.record(accountId, now, recipients);
      return true;
    });
  }
}
