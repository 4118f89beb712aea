/**
 * Local delivery of one message to several accounts (SMTP MX and submission, `postkontor deliver`,
 * DSN bounces), all or nothing, on the one append path (messages-write.ts appendMany, which IMAP
 * APPEND uses too):
 * - every recipient's quota is checked first with fresh counters (quota.ts, the one rule), so a
 *   message that cannot fit one of them stores nothing;
 * - one append per recipient (its own grouped transaction; one blob for all of them, the store is
 *   content-addressed; per-recipient trace headers travel as the delivery-header prefix);
 * - if a later append still fails (a concurrent delivery filled a mailbox), the copies already
 *   stored are expunged again, so the sender's retry does not duplicate the message.
 * Resolves only when every append has committed (durable before acknowledgement).
 */
import { type AppendResult, DeliveryRefused, type DeliveryTarget, type Id, StoreError } from "../types.ts";
import type { DomainDeps } from "./context.ts";
import type { MessageWrites } from "./messages-write.ts";
import { quotaVerdict } from "./quota.ts";

export async function deliver(
  deps: DomainDeps,
  writes: MessageWrites,
  /** the id of the account's mailbox of that name, null when it does not exist */
  mailboxByName: (accountId: Id, name: string) => Promise<Id | null>,
  raw: Uint8Array,
  targets: readonly DeliveryTarget[],
  /**
   * the caller's expectDelivery() announcement, handed to the first append, which ends it once
   * its own starts (the store ends it too when the delivery fails before: store.ts deliver)
   */
  announced?: () => void,
): Promise<AppendResult[]> {
  const mailboxes: Id[] = [];
  for (let i = 0; i < targets.length; i++) {
    const d = targets[i]!;
    const q = await deps.db.read((r) => r.accounts.quota(d.accountId));
    if (!q) throw new DeliveryRefused("NONEXISTENT", i, false, "no such account");
    const v = quotaVerdict(q, raw.byteLength + (d.deliveryHeaders?.byteLength ?? 0));
    // RFC 3463: 5.2.2 when the message can never fit, 4.2.2 when the mailbox is full now
    if (v === "never") throw new DeliveryRefused("OVERQUOTA", i, true, "message larger than the quota");
    if (v === "full") throw new DeliveryRefused("OVERQUOTA", i, false, "mailbox full");
    // a missing target mailbox falls back to INBOX
    let mb =
      d.mailbox && d.mailbox.toUpperCase() !== "INBOX" ? await mailboxByName(d.accountId, d.mailbox) : null;
    mb ??= await mailboxByName(d.accountId, "INBOX");
    if (mb === null) throw new DeliveryRefused("NONEXISTENT", i, false, "account has no INBOX");
    mailboxes.push(mb);
  }
  const done: AppendResult[] = [];
  try {
    for (let i = 0; i < targets.length; i++) {
      const d = targets[i]!;
      const [r] = await writes.appendMany(
        d.accountId,
        mailboxes[i]!,
        [
          {
            raw,
            flags: d.flags ?? [],
            ...(d.deliveryHeaders && d.deliveryHeaders.byteLength > 0
              ? { deliveryHeaders: d.deliveryHeaders }
              : {}),
          },
        ],
        i === 0 ? announced : undefined,
      );
      done.push(r!);
    }
  } catch (err) {
    // nothing partially stored: take back the copies of this message that already committed
    for (const r of done) await writes.expunge(r.mailboxId, [r.uid]).catch(() => {});
    if (err instanceof StoreError && err.code !== "LIMIT" && err.code !== "INVALID") {
      throw new DeliveryRefused(err.code, done.length, false, err.message);
    }
    throw err;
  }
  return done;
}
