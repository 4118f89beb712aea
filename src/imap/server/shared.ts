/**
 * Shared mailboxes (RFC 4314 ACL, RFC 2342 other users' namespace): the one place that turns a
 * mailbox name into (mailbox, owner, the session's rights) and checks rights for the commands.
 *
 * - The personal namespace is "" with delimiter "/"; other users' mailboxes are in the namespace
 *   "Shared/": `Shared/<owner address>/<owner's mailbox name>` (the name "Shared" itself, and
 *   mailboxes below it, therefore cannot be personal mailboxes).
 * - A mailbox the session has no "l" right on is answered like a mailbox that does not exist
 *   (RFC 4314 §4: do not reveal it); a missing other right is NO [NOPERM] (RFC 5530 §3).
 * - The owner always has every right.
 */
import { ALL_RIGHTS, type Mailbox } from "../../store/types.ts";
import { no } from "./errors.ts";
import { canonicalMailbox, DELIM } from "./names.ts";
import type { Session } from "./session.ts";

/** the other users' namespace prefix (without its trailing delimiter) */
export const SHARED_ROOT = "Shared";

export interface Access {
  /** the mailbox as the session names it: its `name` is `Shared/<owner>/<name>` when shared */
  mailbox: Mailbox;
  /** the name in the owner's account */
  ownerName: string;
  /** the owner's address when shared, else null */
  owner: string | null;
  rights: string;
}

/** a name inside the shared namespace: [owner address, owner's mailbox name ("" = the owner root)] */
export function splitShared(name: string): [string, string] | null {
  if (!name.startsWith(SHARED_ROOT + DELIM)) return null;
  const rest = name.slice(SHARED_ROOT.length + 1);
  const i = rest.indexOf(DELIM);
  if (i < 0) return [rest.toLowerCase(), ""];
  return [rest.slice(0, i).toLowerCase(), canonicalMailbox(rest.slice(i + 1))];
}

export function sharedName(owner: string, name: string): string {
  return `${SHARED_ROOT}${DELIM}${owner}${DELIM}${name}`;
}

/** the session's account id for an owner address (null = unknown, or the session itself) */
async function ownerId(s: Session, owner: string): Promise<number | null> {
  if (owner === "") return null;
  const acc = await s.store.getAccount(owner);
  if (!acc || acc.id === s.authenticated.account.id) return null;
  return acc.id;
}

/**
 * Resolves a store-form name (names.ts mailboxIn) to the mailbox and the session's rights; null
 * when it does not exist or is not visible (no "l").
 */
export async function resolveMailbox(s: Session, name: string): Promise<Access | null> {
  const self = s.authenticated.account.id;
  const sh = splitShared(name);
  if (!sh) {
    const mb = await s.store.getMailbox(self, name);
    return mb ? { mailbox: mb, ownerName: mb.name, owner: null, rights: ALL_RIGHTS } : null;
  }
  const [owner, ownerName] = sh;
  const id = ownerName === "" ? null : await ownerId(s, owner);
  const mb = id === null ? null : await s.store.getMailbox(id, ownerName);
  const rights = mb ? await s.store.rightsOf(self, mb) : "";
  // RFC 4314 §4: no "l" = as if it did not exist
  if (mb && rights.includes("l"))
    return { mailbox: { ...mb, name: sharedName(owner, mb.name) }, ownerName: mb.name, owner, rights };
  // a personal mailbox created below "Shared/" before sharing existed stays reachable
  const own = await s.store.getMailbox(self, name);
  return own ? { mailbox: own, ownerName: own.name, owner: null, rights: ALL_RIGHTS } : null;
}

/** NO [NOPERM] unless rights hold every right in need */
export function requireRights(rights: string, need: string, what: string): void {
  for (const r of need) if (!rights.includes(r)) throw no("NOPERM", `Permission denied: ${what}`);
}

/**
 * The parent a new mailbox goes below: the owner's account and, for a shared name, the session's
 * rights on the parent mailbox ("k" is needed to create below it, RFC 4314 §4 CREATE).
 * Personal names: null (no check). Shared names: [owner id, owner's name].
 */
export async function sharedCreateTarget(s: Session, name: string): Promise<[number, string] | null> {
  const sh = splitShared(name);
  if (!sh && name !== SHARED_ROOT) return null;
  if (!sh || sh[1] === "") throw no("NOPERM", "Cannot create mailboxes at the root of the shared namespace");
  const [owner, ownerName] = sh;
  const id = await ownerId(s, owner);
  if (id === null) throw no("NOPERM", "No such user to create a mailbox for");
  const i = ownerName.lastIndexOf(DELIM);
  if (i < 0) throw no("NOPERM", "Cannot create mailboxes at another user's root");
  const parent = await resolveMailbox(s, sharedName(owner, ownerName.slice(0, i)));
  if (!parent) throw no("NONEXISTENT", "Parent mailbox does not exist");
  requireRights(parent.rights, "k", "create below this mailbox");
  return [id, ownerName];
}

/**
 * RFC 4314 §4 STORE: "s" for \Seen, "t" for \Deleted, "w" for every other flag. Replacing the
 * flags (FLAGS) may change any of them, so it needs all three.
 */
export function storeRights(op: "add" | "remove" | "set", flags: string[]): string {
  if (op === "set") return "stw";
  let need = "";
  for (const f of flags) {
    const l = f.toLowerCase();
    const r = l === "\\seen" ? "s" : l === "\\deleted" ? "t" : "w";
    if (!need.includes(r)) need += r;
  }
  return need;
}

/** PERMANENTFLAGS the rights allow (RFC 4314 §4 SELECT: only flags the user may change) */
export function permittedFlags(rights: string, flags: string[]): string[] {
  return flags.filter((f) => {
    const l = f.toLowerCase();
    return l === "\\seen"
      ? rights.includes("s")
      : l === "\\deleted"
        ? rights.includes("t")
        : rights.includes("w");
  });
}

/**
 * Before each selected-state command on a shared mailbox: the rights are read again, so a change
 * by the owner applies from the grantee's next command. Without "l" or "r" only CLOSE and
 * UNSELECT remain (NO [NOPERM] otherwise; RFC 4314 §4 requires "r" for the selected mailbox).
 */
export async function refreshRights(s: Session, command: string): Promise<void> {
  const v = s.view;
  if (!v || v.ownerId === 0 || v.ownerId === s.authenticated.account.id) return;
  v.rights = await s.store.rightsOf(s.authenticated.account.id, { id: v.mailboxId, accountId: v.ownerId });
  if (command === "CLOSE" || command === "UNSELECT") return;
  if (!v.rights.includes("l") || !v.rights.includes("r"))
    throw no("NOPERM", "Access to the selected mailbox was withdrawn");
}
