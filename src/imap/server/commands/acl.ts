/**
 * ACL commands (RFC 4314 §3): SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS. Identifiers are
 * account addresses and "anyone"; the owner of a mailbox always has every right and cannot be
 * changed; negative rights ("-identifier", §2) are not supported. Rights are shown with the
 * obsolete "c"/"d" added for RFC 2086 clients (RIGHTS=texk, §2.1.1).
 */
import {
  ALL_RIGHTS,
  ANYONE,
  canonicalRights,
  type Mailbox,
  rightsForDisplay,
  StoreError,
} from "../../../store/types.ts";
import type { Command } from "../../protocol/commands.ts";
import { stringText } from "../../protocol/response.ts";
import type { OkResult } from "../dispatch.ts";
import { bad, no } from "../errors.ts";
import { mailboxOut } from "../names.ts";
import type { Session } from "../session.ts";
import type { Access } from "../shared.ts";
import { requireAccess } from "./mailbox.ts";

type AclCommand<N extends string> = Extract<Command, { name: N }>;

/** the rights letters of a command argument, canonical; BAD for an unknown right (RFC 4314 §3.1) */
function rightsArg(text: string): string {
  const r = canonicalRights(text);
  if (r === null) throw bad("Unknown right in rights string");
  return r;
}

/** RFC 4314 §2: "-identifier" names negative rights, which this server does not keep */
function identifierArg(id: string): string {
  if (id.startsWith("-")) throw no("CANNOT", "Negative rights are not supported");
  return id.toLowerCase() === ANYONE ? ANYONE : id.toLowerCase();
}

/** the mailbox's owner address (the session's own for a personal mailbox) */
function ownerOf(s: Session, a: Access): string {
  return a.owner ?? s.authenticated.account.address;
}

/** RFC 4314 §4: SETACL/DELETEACL/GETACL/LISTRIGHTS need "a" on the mailbox */
async function adminAccess(s: Session, raw: string): Promise<Access> {
  return requireAccess(s, raw, false, "a");
}

/** StoreError NOTFOUND (no such account) as the client sees it */
async function setRights(s: Session, mb: Mailbox, grantee: string, rights: string): Promise<void> {
  try {
    await s.store.setAcl(mb.id, grantee, rights);
  } catch (e) {
    if (e instanceof StoreError && e.code === "NOTFOUND") throw no("NONEXISTENT", "No such identifier");
    throw e;
  }
}

export async function setacl(s: Session, _tag: string, cmd: AclCommand<"SETACL">): Promise<OkResult> {
  const rights = rightsArg(cmd.rights);
  const id = identifierArg(cmd.identifier);
  const a = await adminAccess(s, cmd.mailbox);
  if (id === ownerOf(s, a)) throw no("CANNOT", "The owner always has every right");
  let next = rights;
  if (cmd.op !== "set") {
    const cur = (await s.store.getAcl(a.mailbox.id)).find((e) => e.grantee === id)?.rights ?? "";
    let out = "";
    for (const r of ALL_RIGHTS) {
      const had = cur.includes(r);
      const changed = rights.includes(r);
      if (cmd.op === "add" ? had || changed : had && !changed) out += r;
    }
    next = out;
  }
  await setRights(s, a.mailbox, id, next);
  return { code: null, text: "SETACL completed" };
}

export async function deleteacl(
  s: Session,
  _tag: string,
  cmd: AclCommand<"DELETEACL" | "LISTRIGHTS">,
): Promise<OkResult> {
  const id = identifierArg(cmd.identifier);
  const a = await adminAccess(s, cmd.mailbox);
  if (id === ownerOf(s, a)) throw no("CANNOT", "The owner always has every right");
  await setRights(s, a.mailbox, id, "");
  return { code: null, text: "DELETEACL completed" };
}

export async function getacl(
  s: Session,
  _tag: string,
  cmd: AclCommand<"GETACL" | "MYRIGHTS">,
): Promise<OkResult> {
  const a = await adminAccess(s, cmd.mailbox);
  // RFC 4314 §3.6: one ACL response; the owner's implicit entry first
  const entries = [{ grantee: ownerOf(s, a), rights: ALL_RIGHTS }, ...(await s.store.getAcl(a.mailbox.id))];
  let line = `* ACL ${mailboxOut(s, a.mailbox.name)}`;
  for (const e of entries) line += ` ${stringText(e.grantee, s.utf8)} ${rightsForDisplay(e.rights)}`;
  await s.write(`${line}\r\n`);
  return { code: null, text: "GETACL completed" };
}

export async function listrights(
  s: Session,
  _tag: string,
  cmd: AclCommand<"DELETEACL" | "LISTRIGHTS">,
): Promise<OkResult> {
  const id = identifierArg(cmd.identifier);
  const a = await adminAccess(s, cmd.mailbox);
  // RFC 4314 §3.7: the owner's rights are fixed (all required); anyone else may get each right
  // on its own ("c"/"d" as the groups they stand for)
  const parts = id === ownerOf(s, a) ? [rightsForDisplay(ALL_RIGHTS)] : ['""', ...ALL_RIGHTS, "c", "d"];
  await s.write(
    `* LISTRIGHTS ${mailboxOut(s, a.mailbox.name)} ${stringText(id, s.utf8)} ${parts.join(" ")}\r\n`,
  );
  return { code: null, text: "LISTRIGHTS completed" };
}

export async function myrights(
  s: Session,
  _tag: string,
  cmd: AclCommand<"GETACL" | "MYRIGHTS">,
): Promise<OkResult> {
  // RFC 4314 §4 MYRIGHTS: any right on the mailbox is enough (a mailbox without "l" is not visible)
  const a = await requireAccess(s, cmd.mailbox);
  await s.write(`* MYRIGHTS ${mailboxOut(s, a.mailbox.name)} ${rightsForDisplay(a.rights)}\r\n`);
  return { code: null, text: "MYRIGHTS completed" };
}
