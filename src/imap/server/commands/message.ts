/**
 * Selected-state commands (RFC 9051 §6.4): CHECK, CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID
 * EXPUNGE (RFC 4315), STORE (+UNCHANGEDSINCE, RFC 7162 §3.1.3), COPY (+COPYUID) and MOVE
 * (RFC 6851).
 */

import type { MessageFlagsRow } from "../../../store/types.ts";
import type { Command, StoreCommand } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import { no } from "../errors.ts";
import { clientFlags } from "../format.ts";
import { uidSetString } from "../selected-mailbox.ts";
import type { SelectedState, Session } from "../session.ts";
import { resolveSet } from "../sets.ts";
import { requireRights, storeRights } from "../shared.ts";
import { requireMailbox } from "./mailbox.ts";

const CHUNK = 2000;

export async function check(s: Session): Promise<OkResult> {
  await s.flushUpdates(true, true);
  return { code: null, text: "CHECK completed" };
}

export async function unselect(s: Session): Promise<OkResult> {
  s.closeView();
  return { code: null, text: "UNSELECT completed" };
}

/** uids of \Deleted messages among the given uids */
async function deletedAmong(s: Session, uids: number[]): Promise<number[]> {
  const v = s.selected.view;
  const out: number[] = [];
  for (let i = 0; i < uids.length; i += CHUNK) {
    const metas = await s.store.getMessages(v.mailboxId, uids.slice(i, i + CHUNK));
    for (const m of metas) if (m.flags.includes("\\Deleted")) out.push(m.uid);
  }
  return out;
}

/** RFC 9051 §6.4.1: CLOSE expunges silently (read-write only) and leaves selected state */
export async function close(s: Session, _tag: string, _cmd: Command, st: SelectedState): Promise<OkResult> {
  const v = st.view;
  // RFC 4314 §4 CLOSE: expunges only with "e" (silently nothing otherwise)
  if (!v.readOnly && v.rights.includes("e")) {
    const del = await deletedAmong(s, v.allUids());
    if (del.length > 0) await s.store.expunge(v.mailboxId, del);
  }
  s.closeView();
  return { code: null, text: "CLOSE completed" };
}

export async function announceRemoved(s: Session, removed: number[]): Promise<void> {
  const v = s.selected.view;
  // RFC 5267 §4.3.4: REMOVEFROM before the expunge notification, while its numbers hold
  const rm = v.contexts?.removed(v, removed);
  if (rm) await s.write(rm);
  const known = removed.filter((u) => v.seqOf(u) > 0);
  const seqs = v.removeUids(removed);
  if (s.qresync) {
    // RFC 7162 §3.2.10: VANISHED instead of EXPUNGE
    if (known.length > 0) await s.write(`* VANISHED ${uidSetString(known)}\r\n`);
  } else if (seqs.length > 0) {
    await s.write(seqs.map((q) => `* ${q} EXPUNGE\r\n`).join(""));
  }
}

export async function expunge(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "EXPUNGE" }>,
  st: SelectedState,
): Promise<OkResult> {
  const v = st.view;
  if (v.readOnly) throw no("READ-ONLY", "Mailbox is read-only");
  requireRights(v.rights, "e", "expunge"); // RFC 4314 §4 EXPUNGE
  const candidates = cmd.uidSet ? resolveSet(v, cmd.uidSet, true) : v.allUids();
  const del = await deletedAmong(s, candidates);
  const removed = del.length > 0 ? await s.store.expunge(v.mailboxId, del) : [];
  await announceRemoved(s, removed);
  if (s.condstore) {
    // RFC 7162 §3.1.11 (§3.2.x with QRESYNC): tagged OK carries HIGHESTMODSEQ after expunge
    await s.flushUpdates(true, true);
    return { code: `HIGHESTMODSEQ ${s.view?.knownModseq ?? 0n}`, text: "EXPUNGE completed" };
  }
  return { code: null, text: "EXPUNGE completed" };
}

export async function store(
  s: Session,
  _tag: string,
  cmd: StoreCommand,
  st: SelectedState,
): Promise<OkResult> {
  const v = st.view;
  if (v.readOnly) throw no("READ-ONLY", "Mailbox is read-only");
  if (cmd.unchangedSince !== null) await s.enableCondstore(); // RFC 7162 §3.1: CONDSTORE-enabling command
  const uids = resolveSet(v, cmd.set, cmd.uid);
  const op = cmd.op === "replace" ? "set" : cmd.op;
  const flags = clientFlags(cmd.flags);
  requireRights(v.rights, storeRights(op, flags), "change these flags"); // RFC 4314 §4 STORE
  let updated: MessageFlagsRow[] = [];
  let modified: number[] = [];
  if (uids.length > 0) {
    const res = await s.store.storeFlags(
      v.mailboxId,
      uids,
      op,
      flags,
      cmd.unchangedSince !== null ? { unchangedSince: cmd.unchangedSince } : undefined,
    );
    updated = res.updated;
    modified = res.modified;
  }
  v.noteSelfReported(updated);
  const withUid = cmd.uid || s.qresync;
  const line = (r: { uid: number; flags: string[]; modseq: bigint }, silent: boolean): string => {
    const seq = v.seqOf(r.uid);
    if (seq === 0) return "";
    const items: string[] = [];
    if (withUid) items.push(`UID ${r.uid}`);
    if (!silent) items.push(`FLAGS ${s.flagsOut(r.uid, r.flags)}`);
    if (s.condstore) items.push(`MODSEQ (${r.modseq})`);
    return `* ${seq} FETCH (${items.join(" ")})\r\n`;
  };
  let out = "";
  if (!cmd.silent) {
    // RFC 9051 §6.4.6: the updated flags come back as untagged FETCH; messages whose flags were
    // already as requested are reported too (without UNCHANGEDSINCE), as clients expect.
    const reported = new Map<number, MessageFlagsRow>();
    for (const r of updated) reported.set(r.uid, r);
    if (cmd.unchangedSince === null) {
      const modSet = new Set(modified);
      const rest = uids.filter((u) => !reported.has(u) && !modSet.has(u));
      for (let i = 0; i < rest.length; i += CHUNK) {
        for (const m of await s.store.getMessages(v.mailboxId, rest.slice(i, i + CHUNK)))
          reported.set(m.uid, m);
      }
    }
    out += s.keywordAnnouncement([...reported.values()].map((r) => r.flags));
    for (const u of uids) {
      const r = reported.get(u);
      if (r) out += line(r, false);
      if (out.length > 65536) {
        await s.write(out);
        out = "";
      }
    }
  } else if (s.condstore) {
    // RFC 7162 §3.1.3: with .SILENT the server still reports the new MODSEQ of changed messages
    for (const r of updated) out += line(r, true);
  }
  if (out) await s.write(out);
  if (modified.length > 0) {
    const set = cmd.uid ? modified : modified.map((u) => v.seqOf(u)).filter((q) => q > 0);
    set.sort((a, b) => a - b);
    return { code: `MODIFIED ${uidSetString(set)}`, text: "Conditional STORE failed for some messages" };
  }
  return { code: null, text: "STORE completed" };
}

export async function copyMove(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "COPY" | "MOVE" }>,
  st: SelectedState,
): Promise<OkResult> {
  const v = st.view;
  const isMove = cmd.name === "MOVE";
  if (isMove && v.readOnly) throw no("READ-ONLY", "Mailbox is read-only");
  // RFC 4314 §4: COPY needs "i" on the target; MOVE also "t" and "e" on the source (RFC 6851 §3.3)
  if (isMove) requireRights(v.rights, "te", "move messages out of this mailbox");
  const uids = resolveSet(v, cmd.set, cmd.uid);
  const dst = await requireMailbox(s, cmd.mailbox, true, "i");
  if (uids.length === 0) return { code: null, text: `${cmd.name} completed (no messages)` };
  const res = isMove
    ? await s.store.move(v.mailboxId, uids, dst.id)
    : await s.store.copy(v.mailboxId, uids, dst.id);
  if (dst.id === v.mailboxId) v.dirty = true;
  const src = res.mapping.map((m) => m[0]);
  const dstUids = res.mapping.map((m) => m[1]);
  const ascending = dstUids.every((u, i) => i === 0 || u > dstUids[i - 1]!);
  // RFC 4315 §3 COPYUID: source and destination sets correspond in order
  const code =
    res.mapping.length > 0
      ? `COPYUID ${res.uidValidity} ${ascending ? uidSetString(src) : src.join(",")} ${ascending ? uidSetString(dstUids) : dstUids.join(",")}`
      : null;
  if (!isMove) return { code, text: "COPY completed" };
  // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges
  if (code) await s.write(`* OK [${code}] Moved\r\n`);
  await announceRemoved(s, src);
  return { code: null, text: "MOVE completed" };
}
