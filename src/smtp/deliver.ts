/**
 * Local delivery, shared by SMTP (MX and submission), `postkontor deliver` and DSN bounces: a thin
 * mapping onto the store's one delivery path (`store.deliver`, src/store/domain/delivery.ts —
 * quota of every recipient checked first with the store's one quota rule, one append per
 * recipient on the same path as IMAP APPEND, all or nothing) and of its refusals to
 * DeliveryError for the SMTP / sysexits answers. After the store committed, the vacation
 * responder (vacation.ts) starts in the background for the recipients, when the caller passes the
 * envelope (import does not come here, DSN bounces pass none).
 */
import { count } from "../net/metrics.ts";
import { type QuotaVerdict, quotaVerdict as storeQuotaVerdict } from "../store/index.ts";
import { type Account, type AppendResult, DeliveryRefused, type Store } from "../store/types.ts";
import { type AutoReplyContext, startAutoReplies } from "./vacation.ts";

export interface LocalDelivery {
  account: Account;
  /** target mailbox name; missing mailboxes fall back to INBOX */
  mailbox?: string;
  flags?: string[];
  /** per-recipient header block (CRLF-terminated lines) prefixed on read */
  deliveryHeaders?: Uint8Array;
}

export type { QuotaVerdict };

/**
 * Whether a message of `size` octets fits the account's quota now (the store's rule, for RCPT TO
 * with a declared SIZE). "full": RFC 3463 4.2.2; "never": larger than the whole quota, 5.2.2.
 */
export function quotaVerdict(account: Account, size: number, messages = 1): QuotaVerdict {
  return storeQuotaVerdict(account, size, messages);
}

/** Delivers one message to one account (one transaction). */
export async function deliverLocal(store: Store, raw: Uint8Array, d: LocalDelivery): Promise<AppendResult> {
  const [r] = await deliverAll(store, raw, [d]);
  return r!;
}

export class DeliveryError extends Error {
  readonly code: "OVERQUOTA" | "QUOTA_NEVER" | "TOOBIG" | "NOUSER" | "TEMP";
  readonly address: string;
  constructor(code: DeliveryError["code"], address: string, message: string) {
    super(message);
    this.code = code;
    this.address = address;
    this.name = "DeliveryError";
  }
}

/**
 * Delivers one message to several local accounts, all or nothing; a refusal becomes a
 * DeliveryError naming the recipient that failed. With `autoReply` (the envelope of the message),
 * vacation responses start after the commit; they neither delay nor fail the delivery.
 */
export async function deliverAll(
  store: Store,
  raw: Uint8Array,
  deliveries: LocalDelivery[],
  autoReply?: AutoReplyContext,
  /** an expectDelivery() announcement the delivery takes over */
  announced?: () => void,
): Promise<AppendResult[]> {
  try {
    const r = await store.deliver(
      raw,
      deliveries.map((d) => ({
        accountId: d.account.id,
        ...(d.mailbox !== undefined ? { mailbox: d.mailbox } : {}),
        ...(d.flags !== undefined ? { flags: d.flags } : {}),
        ...(d.deliveryHeaders !== undefined ? { deliveryHeaders: d.deliveryHeaders } : {}),
      })),
      announced ? { announced } : undefined,
    );
    count("postkontor_deliveries_total", { result: "accepted" }, deliveries.length);
    if (autoReply) {
      // mail filed as Junk (DMARC quarantine) is not answered: its sender is likely forged
      const answered = deliveries.filter((d) => d.mailbox?.toLowerCase() !== "junk").map((d) => d.account);
      startAutoReplies(store, raw, answered, autoReply);
    }
    return r;
  } catch (err) {
    if (!(err instanceof DeliveryRefused)) throw err;
    const addr = deliveries[err.target]?.account.address ?? "";
    if (err.code === "OVERQUOTA" && err.permanent)
      throw new DeliveryError("QUOTA_NEVER", addr, `message larger than the quota of ${addr}`);
    if (err.code === "OVERQUOTA") throw new DeliveryError("OVERQUOTA", addr, `mailbox of ${addr} is full`);
    if (err.code === "TOOBIG") throw new DeliveryError("TOOBIG", addr, err.message);
    if (err.code === "NONEXISTENT") throw new DeliveryError("NOUSER", addr, `no account ${addr}`);
    throw err;
  }
}
