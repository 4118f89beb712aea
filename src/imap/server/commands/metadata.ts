/**
 * GETMETADATA / SETMETADATA (RFC 5464, METADATA and METADATA-SERVER): entries of a mailbox, or
 * of the server when the mailbox is "". /private entries are the user's own, /shared entries the
 * mailbox owner's (on another user's mailbox, shared by ACL, everyone with access sees the same
 * ones), so NOPRIVATE never applies. On a shared mailbox both need "l" and any one of "r", "s",
 * "w", "i", "p" (RFC 5464 §3.3 with RFC 4314), else NO [NOPERM]. Limits:
 * imap.limits.max_metadata_size and max_metadata_entries.
 */

import { StoreError } from "../../../store/types.ts";
import type { Command } from "../../protocol/commands.ts";
import { astring, literal8, nstring } from "../../protocol/response.ts";
import type { OkResult } from "../dispatch.ts";
import { no } from "../errors.ts";
import { mailboxOut } from "../names.ts";
import type { Session } from "../session.ts";
import { requireAccess } from "./mailbox.ts";

export const DEFAULT_MAX_METADATA_SIZE = 65536;
export const DEFAULT_MAX_METADATA_ENTRIES = 100;

/** "" = the server (RFC 5464 §4.2: METADATA-SERVER); otherwise the mailbox's id or NO [NONEXISTENT] */
async function target(s: Session, raw: string): Promise<{ id: number; name: string } | null> {
  if (raw === "") return null;
  const acc = await requireAccess(s, raw);
  // RFC 5464 §3.3: with ACL, "l" (resolve checked it) and any one of "r", "s", "w", "i", "p"
  if (acc.owner !== null && ![..."rswip"].some((r) => acc.rights.includes(r)))
    throw no("NOPERM", "Permission denied: metadata of this mailbox");
  return acc.mailbox;
}

function limits(s: Session): { maxSize: number; maxEntries: number } {
  const l = s.ctx.opts.limits;
  return {
    maxSize: l.maxMetadataSize ?? DEFAULT_MAX_METADATA_SIZE,
    maxEntries: l.maxMetadataEntries ?? DEFAULT_MAX_METADATA_ENTRIES,
  };
}

/** value = nstring / literal8: literal8 only for octets an IMAP literal cannot carry (NUL) */
function valueOut(v: Uint8Array | null, utf8: boolean): Buffer {
  if (v === null) return nstring(null, utf8);
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return b.includes(0) ? literal8(b) : nstring(b, utf8);
}

export async function getmetadata(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "GETMETADATA" }>,
): Promise<OkResult> {
  const mb = await target(s, cmd.mailbox);
  const mailboxId = mb?.id ?? null;
  const entries = await s.store.getMetadata(s.authenticated.account.id, mailboxId, cmd.entries, cmd.depth);
  // RFC 5464 §4.2.1 MAXSIZE: longer values are left out; LONGENTRIES names the largest left out
  let longest = 0;
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (cmd.maxSize !== null && e.value !== null && e.value.byteLength > cmd.maxSize) {
      longest = Math.max(longest, e.value.byteLength);
      continue;
    }
    if (parts.length > 0) parts.push(Buffer.from(" "));
    parts.push(astring(e.name, s.utf8), Buffer.from(" "), valueOut(e.value, s.utf8));
  }
  if (parts.length > 0) {
    const name = mb === null ? '""' : mailboxOut(s, mb.name);
    // RFC 5464 §4.4.1: * METADATA mailbox (entry value ...)
    await s.write(
      Buffer.concat([Buffer.from(`* METADATA ${name} (`, "utf8"), ...parts, Buffer.from(")\r\n")]),
    );
  }
  if (longest > 0) return { code: `METADATA LONGENTRIES ${longest}`, text: "GETMETADATA completed" };
  return { code: null, text: "GETMETADATA completed" };
}

export async function setmetadata(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "SETMETADATA" }>,
): Promise<OkResult> {
  const mailboxId = (await target(s, cmd.mailbox))?.id ?? null;
  const l = limits(s);
  // RFC 5464 §4.3: NO [METADATA MAXSIZE n] names the largest value the server accepts
  if (cmd.entries.some((e) => e.value !== null && e.value.length > l.maxSize))
    throw no(`METADATA MAXSIZE ${l.maxSize}`, "Metadata value too large");
  try {
    await s.store.setMetadata(s.authenticated.account.id, mailboxId, cmd.entries, l);
  } catch (e) {
    // RFC 5464 §4.3: NO [METADATA TOOMANY] when no more entries can be added
    if (e instanceof StoreError && e.code === "LIMIT")
      throw no("METADATA TOOMANY", "Too many metadata entries");
    if (e instanceof StoreError && e.code === "TOOBIG")
      throw no(`METADATA MAXSIZE ${l.maxSize}`, "Metadata value too large");
    // rights withdrawn since the check above
    if (e instanceof StoreError && e.code === "CANNOT") throw no("NOPERM", "Permission denied");
    throw e;
  }
  return { code: null, text: "SETMETADATA completed" };
}
