/**
 * The vacation responder (RFC 8621 §8 VacationResponse, RFC 3834): called by local delivery
 * (deliver.ts deliverAll — SMTP MX, submission to local users, `postkontor deliver`; not import)
 * after the message is stored. It runs in the background: it never fails nor delays the delivery.
 *
 * Per recipient account: the settings (store), the RFC 3834 rules (vacation-rules.ts), the
 * once-per-sender rule (store.claimVacationReply, one transaction), then the reply with the null
 * reverse-path (RFC 3834 §3.3) to the envelope sender: delivered at once when the sender is local,
 * else written to the outbound queue, whose runner DKIM-signs it as the From domain (the account's).
 */
import type { Account, Store } from "../store/types.ts";
import { buildVacationReply, vacationVerdict } from "./vacation-rules.ts";

export interface AutoReplyContext {
  /** the envelope sender of the delivered message ("" = the null reverse-path) */
  mailFrom: string;
  /** time between two replies to one sender (smtp.vacation_reply_interval) */
  intervalMs: number;
  log?: (fields: Record<string, unknown>, msg: string) => void;
  /** arrival time (tests); default now */
  now?: Date;
}

/** what happened for one account: a reply "delivered" or "queued", or the reason there was none */
export type AutoReplyOutcome = "delivered" | "queued" | "already replied" | string;

const pending = new Set<Promise<unknown>>();

/** Resolves when every auto-reply started so far has finished (one-shot CLI commands, tests). */
export async function autoRepliesSettled(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}

/** Starts the auto-replies of the accounts that just received `raw`; returns at once. */
export function startAutoReplies(
  store: Store,
  raw: Uint8Array,
  accounts: readonly Account[],
  ctx: AutoReplyContext,
): void {
  const seen = new Set<number>();
  for (const account of accounts) {
    if (seen.has(account.id)) continue;
    seen.add(account.id);
    const p = autoReply(store, raw, account, ctx)
      .then((outcome) => {
        if (outcome === "delivered" || outcome === "queued")
          ctx.log?.({ user: account.address, to: ctx.mailFrom, outcome }, "vacation reply sent");
      })
      .catch((err: unknown) =>
        ctx.log?.({ user: account.address, to: ctx.mailFrom, err: String(err) }, "vacation reply failed"),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  }
}

/** One account's auto-reply to one delivered message (see the module comment). */
export async function autoReply(
  store: Store,
  raw: Uint8Array,
  account: Account,
  ctx: AutoReplyContext,
): Promise<AutoReplyOutcome> {
  const settings = await store.getVacationResponse(account.id);
  // the common case costs one indexed read
  if (!settings.isEnabled) return "disabled";
  const now = ctx.now ?? new Date();
  const verdict = vacationVerdict({
    settings,
    mailFrom: ctx.mailFrom,
    raw,
    ownAddresses: await store.addressesOf(account.id),
    now,
  });
  if (!verdict.reply) return verdict.reason;
  const sender = ctx.mailFrom.trim();
  // RFC 3834 §2: once per sender per interval (claimed in one transaction)
  if (!(await store.claimVacationReply(account.id, sender, ctx.intervalMs, now.getTime())))
    return "already replied";
  const reply = buildVacationReply({
    from: account.address,
    to: sender,
    settings,
    original: verdict.original,
    now,
  });
  const local = await store.resolveRecipient(sender).catch(() => []);
  if (local.length > 0) {
    // the store's one delivery path; no auto-reply to this reply (its reverse-path is null)
    await store.deliver(
      reply,
      local.map((a) => ({ accountId: a.id })),
    );
    return "delivered";
  }
  // RFC 3834 §3.3: sent with the null reverse-path, so nothing ever answers it
  await store.enqueueOutbound({
    accountId: account.id,
    mailFrom: "",
    recipients: [{ address: sender }],
    envid: null,
    ret: null,
    message: reply,
  });
  return "queued";
}
