/**
 * REPLACE and UID REPLACE (RFC 8508): append a new message to a mailbox and expunge the old one
 * from the selected mailbox, atomically — one store transaction (store.replace), so a failing
 * append (OVERQUOTA, TOOBIG, target gone) leaves the old message in place.
 */

import type { Command } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import { no } from "../errors.ts";
import { clientFlags } from "../format.ts";
import type { SelectedState, Session } from "../session.ts";
import { requireRights } from "../shared.ts";
import { withCatenated } from "./catenate.ts";
import { requireMailbox, storableForm } from "./mailbox.ts";
import { announceRemoved } from "./message.ts";

export async function replace(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "REPLACE" }>,
  st: SelectedState,
): Promise<OkResult> {
  const v = st.view;
  // RFC 8508 §3.4: REPLACE expunges from the selected mailbox, so it needs read-write access
  if (v.readOnly) throw no("READ-ONLY", "Mailbox is read-only");
  let uid: number;
  if (cmd.uid) {
    // RFC 8508 §3.3: the UID names the message; one that does not exist cannot be replaced
    uid = cmd.seq === "*" ? v.maxUid() : cmd.seq;
    if (uid === 0 || v.seqOf(uid) === 0) throw no("NONEXISTENT", "No such message");
  } else {
    // RFC 8508 §3.2 Result: "NO - replace error; can't remove specified message" — a number
    // beyond the mailbox size names no message, like an unknown UID (§3.3)
    uid = cmd.seq === "*" ? v.maxUid() : v.uidAt(cmd.seq);
    if (uid === 0) throw no("NONEXISTENT", "No such message");
  }
  // RFC 8508 §3.4 / RFC 9051 §6.3.12: a missing target mailbox gets TRYCREATE
  // RFC 4314 §4 (REPLACE = APPEND + STORE \Deleted + EXPUNGE): "i" on the target, "t" "e" here
  requireRights(v.rights, "te", "replace messages in this mailbox");
  const dst = await requireMailbox(s, cmd.mailbox, true, "i");
  const m = (await withCatenated(s, [cmd.message]))[0]!; // RFC 4469 CATENATE
  if (m.data.length > s.ctx.opts.limits.maxLiteralSize) throw no("TOOBIG", "Message too large"); // RFC 7889
  if (m.data.length === 0) throw no("CANNOT", "Empty message");
  const input = {
    raw: storableForm(m.data),
    flags: clientFlags(m.flags),
    ...(m.date ? { internalDate: m.date } : {}),
  };
  const res = await s.store.replace(v.ownerId, v.mailboxId, uid, dst.id, input);
  if (dst.id === v.mailboxId) v.dirty = true;
  // RFC 8508 §4.3 (UIDPLUS): APPENDUID in an untagged OK, before the expunge of the old message
  await s.write(`* OK [APPENDUID ${res.uidValidity} ${res.uid}] Replacement message appended\r\n`);
  await announceRemoved(s, [uid]);
  if (s.condstore) {
    // RFC 8508 §4.5: the old message is removed as if by UID EXPUNGE, whose tagged OK carries
    // HIGHESTMODSEQ once CONDSTORE is enabled (RFC 7162 §3.1.11, as EXPUNGE in message.ts)
    await s.flushUpdates(true, true);
    return { code: `HIGHESTMODSEQ ${s.view?.knownModseq ?? 0n}`, text: "REPLACE completed" };
  }
  return { code: null, text: "REPLACE completed" };
}
