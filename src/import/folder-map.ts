/**
 * Source folders → this account's folders: by special use (RFC 6154) first, then by the common
 * names other servers and clients give them (`Sent Items` → Sent, `Deleted Items` → Trash, …).
 */
import type { Mailbox, SpecialUse } from "../store/types.ts";

/** lower-cased last name component → the special use it stands for */
const COMMON_NAMES = new Map<string, SpecialUse>([
  ["sent", "\\Sent"],
  ["sent items", "\\Sent"],
  ["sent messages", "\\Sent"],
  ["sent mail", "\\Sent"],
  ["gesendet", "\\Sent"],
  ["gesendete objekte", "\\Sent"],
  ["gesendete elemente", "\\Sent"],
  ["drafts", "\\Drafts"],
  ["draft", "\\Drafts"],
  ["entwürfe", "\\Drafts"],
  ["trash", "\\Trash"],
  ["deleted items", "\\Trash"],
  ["deleted messages", "\\Trash"],
  ["bin", "\\Trash"],
  ["papierkorb", "\\Trash"],
  ["gelöschte elemente", "\\Trash"],
  ["junk", "\\Junk"],
  ["junk e-mail", "\\Junk"],
  ["junk email", "\\Junk"],
  ["spam", "\\Junk"],
  ["bulk mail", "\\Junk"],
  ["archive", "\\Archive"],
  ["archives", "\\Archive"],
  ["archiv", "\\Archive"],
]);

/** The special use a folder name stands for: only top-level names and Gmail's `[Gmail]/…` count. */
export function specialUseOfName(name: string): SpecialUse | null {
  const parts = name.split("/");
  const top = parts.length === 1 || (parts.length === 2 && /^\[(gmail|google mail)\]$/i.test(parts[0]!));
  if (!top) return null;
  return COMMON_NAMES.get(parts[parts.length - 1]!.toLowerCase()) ?? null;
}

export interface TargetFolder {
  name: string;
  /** to give the folder when it has to be created */
  specialUse: SpecialUse | null;
}

/**
 * The folder of this account a source folder's messages go to: INBOX (any case) → INBOX; a
 * folder with a special use (declared or by name) → the account's folder with that use, or one
 * created under the source's name with it; anything else keeps its name.
 */
export function targetFolder(
  source: { name: string; specialUse: SpecialUse | null },
  existing: readonly Mailbox[],
): TargetFolder {
  if (source.name.toUpperCase() === "INBOX") return { name: "INBOX", specialUse: null };
  const use = source.specialUse ?? specialUseOfName(source.name);
  if (use) {
    const have = existing.find((m) => m.specialUse === use);
    if (have) return { name: have.name, specialUse: use };
    const last = source.name.split("/").pop()!;
    // "[Gmail]/Sent Mail" → "Sent Mail": the Gmail prefix is not a folder of its own here
    return { name: source.name.startsWith("[") ? last : source.name, specialUse: use };
  }
  return { name: source.name, specialUse: null };
}
