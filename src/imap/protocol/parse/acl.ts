/**
 * ACL commands (RFC 4314 §3, §7 formal syntax):
 *   setacl     = "SETACL" SP mailbox SP identifier SP mod-rights
 *   deleteacl  = "DELETEACL" SP mailbox SP identifier
 *   getacl     = "GETACL" SP mailbox
 *   listrights = "LISTRIGHTS" SP mailbox SP identifier
 *   myrights   = "MYRIGHTS" SP mailbox
 *   identifier = astring;  mod-rights = astring  ; +rights to add, -rights to remove, else replace
 * The rights letters are checked by the command handler (it knows which it implements).
 */
import type { Command } from "../commands.ts";
import { astringText, type Cursor, parseMailbox, sp } from "./primitives.ts";

type AclName = "SETACL" | "DELETEACL" | "GETACL" | "LISTRIGHTS" | "MYRIGHTS";

export function parseAcl(c: Cursor, name: AclName): Command {
  sp(c);
  const mailbox = parseMailbox(c);
  if (name === "GETACL" || name === "MYRIGHTS") return { name, mailbox };
  sp(c);
  const identifier = astringText(c, "Identifier");
  if (name === "DELETEACL" || name === "LISTRIGHTS") return { name, mailbox, identifier };
  sp(c);
  const mod = astringText(c, "Rights");
  const op = mod.startsWith("+") ? "add" : mod.startsWith("-") ? "remove" : "set";
  return { name, mailbox, identifier, op, rights: op === "set" ? mod : mod.slice(1) };
}
