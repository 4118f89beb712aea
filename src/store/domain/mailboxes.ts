/**
 * Mailbox logic over the db port. Phase A holds only what account creation needs (inserting a
 * mailbox); the rest still lives in sql/store.ts (docs/architecture.md "Store layers").
 */
import type { Id, SpecialUse } from "../types.ts";
import { StoreError } from "../types.ts";
import { noAccount, type TxContext } from "./context.ts";

/** INBOX and the special-use folders every new account gets (RFC 6154). */
export const DEFAULT_FOLDERS: ReadonlyArray<readonly [string, SpecialUse | null]> = [
  ["INBOX", null],
  ["Drafts", "\\Drafts"],
  ["Sent", "\\Sent"],
  ["Trash", "\\Trash"],
  ["Junk", "\\Junk"],
  ["Archive", "\\Archive"],
];

/**
 * Inserts a mailbox stamped with the transaction's modseq and a fresh UIDVALIDITY: seconds-based
 * and strictly increasing per account, so a re-created name never reuses one (RFC 9051 §2.3.1.1).
 */
export async function insertMailbox(
  t: TxContext,
  accountId: Id,
  name: string,
  specialUse: SpecialUse | null,
): Promise<Id> {
  const modseq = await t.modseq(accountId);
  const uidValidity = await noAccount(() =>
    t.tx.accounts.takeUidValidity(accountId, Math.floor(Date.now() / 1000)),
  );
  if (uidValidity > 0xffffffff) throw new StoreError("LIMIT", "UIDVALIDITY space exhausted");
  const id = await t.tx.mailboxes.insert({
    accountId,
    name,
    uidValidity,
    specialUse,
    highestModseq: modseq,
    createdAt: Date.now(),
  });
  t.beacon(accountId, null, modseq);
  return id;
}
