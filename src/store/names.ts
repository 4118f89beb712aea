/**
 * Mailbox-name and address rules shared by the store backends.
 * Names use "/" as the hierarchy delimiter and are UTF-8 (the IMAP layer converts modified
 * UTF-7). "INBOX" is case-insensitive, also as the first component (RFC 9051 §5.1).
 */
import { StoreError } from "./types.ts";

export const DELIM = "/";
const MAX_NAME_BYTES = 1000;
const MAX_DEPTH = 32;

export function normalizeMailboxName(name: string): string {
  // RFC 9051 §6.3.4: a trailing delimiter only declares the intent to create children
  let n = name;
  let guard = 0;
  while (n.endsWith(DELIM) && guard++ < 1000) n = n.slice(0, -1);
  if (n.length === 0) throw new StoreError("INVALID", "empty mailbox name");
  if (/[\u0000-\u001f\u007f*%]/.test(n))
    throw new StoreError("INVALID", "mailbox name contains invalid characters");
  if (Buffer.byteLength(n) > MAX_NAME_BYTES) throw new StoreError("LIMIT", "mailbox name too long");
  const parts = n.split(DELIM);
  if (parts.length > MAX_DEPTH) throw new StoreError("LIMIT", "mailbox hierarchy too deep");
  if (parts.some((p) => p.length === 0))
    throw new StoreError("INVALID", "empty hierarchy level in mailbox name");
  if (parts[0]!.toUpperCase() === "INBOX") parts[0] = "INBOX";
  return parts.join(DELIM);
}

/** "a/b/c" → ["a", "a/b"] */
export function parentNames(name: string): string[] {
  const parts = name.split(DELIM);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join(DELIM));
  return out;
}

export function normalizeDomain(name: string): string {
  const d = name.trim().toLowerCase().replace(/\.$/, "");
  if (
    d.length === 0 ||
    d.length > 253 ||
    !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(d)
  ) {
    throw new StoreError("INVALID", `invalid domain name ${JSON.stringify(name)}`);
  }
  return d;
}

export function normalizeAddress(address: string): { address: string; local: string; domain: string } {
  const a = address.trim().toLowerCase();
  const at = a.lastIndexOf("@");
  if (at <= 0 || at === a.length - 1)
    throw new StoreError("INVALID", `invalid address ${JSON.stringify(address)}`);
  const local = a.slice(0, at);
  if (local.length > 64 || /[\s<>@,;:"()[\]\\]/.test(local) || local.startsWith(".") || local.endsWith(".")) {
    throw new StoreError("INVALID", `invalid address ${JSON.stringify(address)}`);
  }
  const domain = normalizeDomain(a.slice(at + 1));
  return { address: `${local}@${domain}`, local, domain };
}
