/**
 * Local delivery, shared by SMTP (MX and submission) and `postkontor deliver`.
 *
 * - One store transaction per recipient (store.append), one blob for all of them (the store is
 *   content-addressed); per-recipient trace headers travel as deliveryHeaders beside the blob.
 * - Quota: checked for every recipient before anything is stored (precheckQuota); if a later
 *   append still fails (a concurrent delivery filled the mailbox), the copies already stored for
 *   this message are expunged again, so a refused message leaves nothing behind and the sender's
 *   retry does not duplicate it.
 * - The promise resolves only when every append has committed (durable, docs/architecture.md "Mail store").
 */
import type { Account, AppendResult, Id, Store } from "../store/types.ts";
import { StoreError } from "../store/types.ts";

export interface LocalDelivery {
  account: Account;
  /** target mailbox name; missing mailboxes fall back to INBOX */
  mailbox?: string;
  flags?: string[];
  /** per-recipient header block (CRLF-terminated lines) prefixed on read */
  deliveryHeaders?: Uint8Array;
}

export type QuotaVerdict = "ok" | "full" | "never";

/**
 * Whether a message of `size` octets fits the account's quota now.
 * "full": does not fit now (RFC 3463 4.2.2, mailbox full — may fit after the user deletes mail);
 * "never": larger than the whole quota (5.2.2 / 5.3.4, retrying cannot help).
 */
export function quotaVerdict(account: Account, size: number, messages = 1): QuotaVerdict {
  if (account.quotaBytes > 0 && size > account.quotaBytes) return "never";
  if (account.quotaBytes > 0 && account.usedBytes + size > account.quotaBytes) return "full";
  if (account.quotaMessages > 0 && account.usedMessages + messages > account.quotaMessages) return "full";
  return "ok";
}

async function targetMailbox(store: Store, account: Account, name: string | undefined): Promise<Id> {
  if (name && name.toUpperCase() !== "INBOX") {
    const mb = await store.getMailbox(account.id, name);
    if (mb) return mb.id;
  }
  const inbox = await store.getMailbox(account.id, "INBOX");
  if (!inbox) throw new StoreError("NONEXISTENT", `account ${account.address} has no INBOX`);
  return inbox.id;
}

/** Delivers one message to one account (one transaction). */
export async function deliverLocal(store: Store, raw: Uint8Array, d: LocalDelivery): Promise<AppendResult> {
  const mailboxId = await targetMailbox(store, d.account, d.mailbox);
  return store.append(d.account.id, mailboxId, {
    raw,
    flags: d.flags ?? [],
    ...(d.deliveryHeaders && d.deliveryHeaders.byteLength > 0 ? { deliveryHeaders: d.deliveryHeaders } : {}),
  });
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
 * Delivers one message to several local accounts: every quota is checked first with fresh account
 * rows; then one append per recipient; on a failure, the copies already stored are removed again
 * and a DeliveryError names the recipient that failed. All or nothing.
 */
export async function deliverAll(
  store: Store,
  raw: Uint8Array,
  deliveries: LocalDelivery[],
): Promise<AppendResult[]> {
  const fresh: LocalDelivery[] = [];
  for (const d of deliveries) {
    const account = await store.getAccountById(d.account.id);
    if (!account) throw new DeliveryError("NOUSER", d.account.address, `no account ${d.account.address}`);
    const size = raw.byteLength + (d.deliveryHeaders?.byteLength ?? 0);
    const v = quotaVerdict(account, size);
    if (v === "never")
      throw new DeliveryError(
        "QUOTA_NEVER",
        account.address,
        `message larger than the quota of ${account.address}`,
      );
    if (v === "full")
      throw new DeliveryError("OVERQUOTA", account.address, `mailbox of ${account.address} is full`);
    fresh.push({ ...d, account });
  }
  const done: AppendResult[] = [];
  try {
    for (const d of fresh) done.push(await deliverLocal(store, raw, d));
  } catch (err) {
    // nothing partially stored: take back the copies of this message that already committed
    for (const r of done) await store.expunge(r.mailboxId, [r.uid]).catch(() => {});
    const addr = fresh[done.length]?.account.address ?? "";
    if (err instanceof StoreError) {
      if (err.code === "OVERQUOTA") throw new DeliveryError("OVERQUOTA", addr, `mailbox of ${addr} is full`);
      if (err.code === "TOOBIG") throw new DeliveryError("TOOBIG", addr, err.message);
      if (err.code === "NONEXISTENT") throw new DeliveryError("NOUSER", addr, err.message);
    }
    throw err;
  }
  return done;
}
