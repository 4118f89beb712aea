/**
 * The one quota rule (RFC 9208 §4.3 / RFC 5530 OVERQUOTA): a write that adds `bytes` octets
 * (delivery-header prefix included) and `messages` messages to an account fits when neither limit
 * (0 = none) would be exceeded afterwards. Used by every path that adds messages: the pre-check
 * before blob files are written, the check inside the append / copy / move transaction (the one
 * that decides, counters updated in the same transaction), SMTP RCPT TO (declared SIZE) and local
 * delivery — so SMTP, `deliver`, APPEND, COPY and MOVE refuse the same messages.
 */
import type { QuotaRow } from "../db/port.ts";
import { StoreError } from "../types.ts";

/**
 * "ok"; "full": does not fit now (may fit after the user deletes mail; SMTP 4.2.2); "never": larger
 * than the whole byte quota, retrying cannot help (SMTP 5.2.2, RFC 3463).
 */
export type QuotaVerdict = "ok" | "full" | "never";

export function quotaVerdict(q: QuotaRow, bytes: number, messages = 1): QuotaVerdict {
  if (q.quotaBytes > 0 && bytes > q.quotaBytes) return "never";
  if (q.quotaBytes > 0 && q.usedBytes + bytes > q.quotaBytes) return "full";
  if (q.quotaMessages > 0 && q.usedMessages + messages > q.quotaMessages) return "full";
  return "ok";
}

/** Throws OVERQUOTA unless the write fits (nothing is stored then). */
export function checkQuota(q: QuotaRow, bytes: number, messages: number): void {
  const v = quotaVerdict(q, bytes, messages);
  if (v === "ok") return;
  if (q.quotaBytes > 0 && q.usedBytes + bytes > q.quotaBytes) {
    throw new StoreError("OVERQUOTA", "storage quota exceeded");
  }
  throw new StoreError("OVERQUOTA", "message count quota exceeded");
}
