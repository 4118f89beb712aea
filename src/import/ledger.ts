/**
 * The import ledger's keys. The store keeps one row per imported message, keyed by (account,
 * source id, item key) and written in the transaction of the append (Store.importMessages), so a
 * re-run or a resumed import stores nothing twice. The item key is the target folder and the
 * SHA-256 of the octets stored: the same message in two folders (Gmail labels) is imported into
 * each, the same octets twice into one folder once.
 */
import { createHash } from "node:crypto";

export function ledgerKey(targetFolder: string, raw: Uint8Array): string {
  return `${targetFolder}\n${createHash("sha256").update(raw).digest("hex")}`;
}
