/**
 * FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2), BINARY (RFC 3516), CHANGEDSINCE/VANISHED and
 * MODSEQ (RFC 7162 §3.1.4, §3.2.6), EMAILID/THREADID (RFC 8474), SAVEDATE (RFC 8514), PREVIEW (RFC 8970).
 *
 * Responses are written message by message with backpressure; message content comes from
 * store.readMessage() as bytes and is sent as literals, never decoded.
 */
import { binaryForm, binarySize, getBinary, getSection } from "../../../mime/index.ts";
import type { ParsedMessage, SectionSpec } from "../../../mime/types.ts";
import { type MessageMeta, type MessageStates, StoreError } from "../../../store/types.ts";
import { bodyStructureOf, envelopeOf } from "../../protocol/body-structure.ts";
import type { FetchAtt, FetchCommand, PartialRange } from "../../protocol/commands.ts";
import { formatDateTime } from "../../protocol/datetime.ts";
import { partialSlice } from "../../protocol/parse/partial.ts";
import { applyPartial, fetchAttResponseName, ResponseBytes, stringText } from "../../protocol/response.ts";
import type { OkResult } from "../dispatch.ts";
import { bad, no } from "../errors.ts";
import { objectId } from "../format.ts";
import { uidSetString } from "../selected-mailbox.ts";
import type { SelectedState, Session } from "../session.ts";
import { resolveSet } from "../sets.ts";
import { uidRangesOf } from "./mailbox.ts";

/** messages per metadata query: small when content is read, larger for metadata-only FETCH */
const CHUNK_CONTENT = 100;
const CHUNK_META = 1000;

/** a literal's bytes read from the store while they are written (large whole messages) */
interface StreamedBytes {
  chunks: AsyncIterable<Uint8Array>;
  length: number;
}

type Part = string | Uint8Array | StreamedBytes;

/** whole messages at least this large are streamed from the store, never held in memory */
const STREAM_LITERAL_MIN = 1024 * 1024;

/** the only content wanted is the whole message once (BODY[] without partial, or RFC822) */
function streamsWhole(atts: FetchAtt[]): boolean {
  const content = atts.filter(needsContent);
  if (content.length !== 1) return false;
  const a = content[0]!;
  if (a.type === "RFC822") return true;
  return a.type === "BODY[]" && a.section.part.length === 0 && a.section.kind === "" && a.partial === null;
}

/**
 * Opens the message for streaming; its first chunk is read here, so a message expunged and
 * collected meanwhile fails now (and is left out) rather than in the middle of its literal.
 */
async function openWhole(s: Session, mailboxId: number, uid: number): Promise<StreamedBytes> {
  const m = await s.store.openMessage(mailboxId, uid);
  const it = m.blob()[Symbol.asyncIterator]();
  const first = await it.next();
  return {
    length: m.size,
    chunks: (async function* () {
      try {
        if (m.prefix.byteLength > 0) yield m.prefix;
        // one iteration per chunk of the blob
        for (let r = first; !r.done; r = await it.next()) yield r.value;
      } finally {
        await it.return?.();
      }
    })(),
  };
}

function needsContent(a: FetchAtt): boolean {
  return (
    a.type === "BODY[]" ||
    a.type === "BINARY[]" ||
    a.type === "BINARY.SIZE[]" ||
    a.type === "RFC822" ||
    a.type === "RFC822.HEADER" ||
    a.type === "RFC822.TEXT"
  );
}

function needsParsed(a: FetchAtt): boolean {
  if (a.type === "ENVELOPE" || a.type === "BODY" || a.type === "BODYSTRUCTURE" || a.type === "PREVIEW")
    return true;
  if (a.type === "BODY[]") return !(a.section.part.length === 0 && a.section.kind === "");
  return (
    a.type === "BINARY[]" ||
    a.type === "BINARY.SIZE[]" ||
    a.type === "RFC822.HEADER" ||
    a.type === "RFC822.TEXT"
  );
}

/** RFC 9051 §6.4.5: these set \Seen implicitly (not the .PEEK forms) */
function setsSeen(a: FetchAtt): boolean {
  return (
    ((a.type === "BODY[]" || a.type === "BINARY[]") && !a.peek) ||
    a.type === "RFC822" ||
    a.type === "RFC822.TEXT"
  );
}

function literalOf(data: Uint8Array, binary: boolean): Part[] {
  const nul = data.indexOf(0) !== -1;
  // RFC 3516 §4.3: literal8 when the decoded data contains NUL
  if (binary) return [`${nul ? "~" : ""}{${data.length}}\r\n`, data];
  // RFC 9051 §4.3 / §9: a literal is CHAR8, never NUL. Stored messages have their NUL-bearing
  // parts base64-encoded (mime encodeNulParts); a NUL that could not be encoded away (in a header
  // that came by SMTP or import) goes out as a space, one octet for one so every size the client
  // was told (RFC822.SIZE, BODYSTRUCTURE) still holds
  if (nul) return [`{${data.length}}\r\n`, Buffer.from(data).map((b) => (b === 0 ? 0x20 : b))];
  return [`{${data.length}}\r\n`, data];
}

/** BINARY[] of the whole message: the delivery-header prefix, then the blob's binary form. */
function wholeBinary(
  raw: Uint8Array,
  prefixLen: number,
  blob: Uint8Array,
  parsed: ParsedMessage,
): Uint8Array {
  return withPrefix(raw, prefixLen, binaryForm(blob, parsed));
}

/**
 * RFC 9394 §3.3: the UID FETCH PARTIAL modifier keeps the messages at the given positions among
 * those named (1 = lowest UID, -1 = highest). With CHANGEDSINCE the positions count among the
 * messages changed since that mod-sequence (§3.4: the two combine), so a client can page through
 * the changes; VANISHED (EARLIER) still reports over the whole set.
 */
async function partialUids(
  s: Session,
  uids: number[],
  range: PartialRange,
  changedSince: bigint | null,
): Promise<number[]> {
  if (changedSince === null) return partialSlice(uids, range);
  const changed: number[] = [];
  const v = s.selected.view;
  for (let i = 0; i < uids.length; i += CHUNK_META) {
    for (const m of await s.store.getMessages(v.mailboxId, uids.slice(i, i + CHUNK_META))) {
      if (m.modseq > changedSince) changed.push(m.uid);
    }
  }
  changed.sort((a, b) => a - b);
  return partialSlice(changed, range);
}

export async function fetch(
  s: Session,
  _tag: string,
  cmd: FetchCommand,
  st: SelectedState,
): Promise<OkResult> {
  const v = st.view;
  // RFC 7162 §3.2.6: VANISHED only with UID FETCH, CHANGEDSINCE and QRESYNC enabled
  if (cmd.vanished && (!s.qresync || cmd.changedSince === null || !cmd.uid)) {
    throw bad("VANISHED requires UID FETCH with CHANGEDSINCE after ENABLE QRESYNC");
  }
  // RFC 7162 §3.1: CHANGEDSINCE and the MODSEQ data item are CONDSTORE-enabling
  if (cmd.changedSince !== null || cmd.atts.some((a) => a.type === "MODSEQ")) await s.enableCondstore();
  let uids = resolveSet(v, cmd.set, cmd.uid);
  if (cmd.partial) uids = await partialUids(s, uids, cmd.partial, cmd.changedSince);

  if (cmd.vanished && cmd.changedSince !== null && cmd.set.type === "ranges") {
    const ch = await s.store.changesSince(v.mailboxId, cmd.changedSince);
    const ranges = uidRangesOf(cmd.set, Math.max(v.maxUid(), v.uidNext - 1));
    const gone = ch.expunged.filter((u) => ranges.some(([a, b]) => u >= a && u <= b));
    if (gone.length > 0) await s.write(`* VANISHED (EARLIER) ${uidSetString(gone)}\r\n`);
  }

  const atts = cmd.atts;
  const wantContent = atts.some(needsContent);
  const wantParsed = atts.some(needsParsed);
  // RFC 4314 §4 FETCH: \Seen is set implicitly only with the "s" right
  const markSeen = !v.readOnly && v.rights.includes("s") && atts.some(setsSeen);
  const flagsRequested = atts.some((a) => a.type === "FLAGS");
  const uidRequested = atts.some((a) => a.type === "UID");
  const modseqRequested = atts.some((a) => a.type === "MODSEQ");
  let missing = 0;

  const out = new ResponseBatch(s);
  if (!markSeen && atts.every((a) => a.type === "UID" || a.type === "FLAGS" || a.type === "MODSEQ")) {
    // the sync query of every client (`UID FETCH 1:* (UID FLAGS)`, CONDSTORE resync): no content,
    // no per-message awaits; one metadata query per mailbox or per chunk, one write per 64 KiB
    missing = await fetchFlagsOnly(s, uids, atts, cmd.uid || s.qresync, cmd.changedSince, out);
    return fetched(missing, cmd.uid);
  }
  const plain: FetchOpts = {
    uid: (cmd.uid || s.qresync) && !uidRequested,
    flags: false,
    modseq: s.condstore && !modseqRequested,
  };
  const withFlags: FetchOpts = { ...plain, flags: true };
  if (!markSeen && cmd.changedSince === null && atts.every(isStructureOnly)) {
    // ENVELOPE / BODY / BODYSTRUCTURE (and UID): each message's uid, content and modseq, its
    // cached parsed structure, and lines made without a wait or a row object per message
    missing += await fetchStructures(s, uids, atts, plain, out);
    await out.flush();
    return fetched(missing, cmd.uid);
  }
  const step = wantContent ? CHUNK_CONTENT : CHUNK_META;
  for (let i = 0; i < uids.length; i += step) {
    const chunk = uids.slice(i, i + step);
    let metas = await s.store.getMessages(v.mailboxId, chunk);
    missing += chunk.length - metas.length;
    if (cmd.changedSince !== null) {
      const cs = cmd.changedSince;
      metas = metas.filter((m) => m.modseq > cs);
    }
    const flagsChanged = new Set<number>();
    if (markSeen) {
      const unseen = metas.filter((m) => !m.flags.includes("\\Seen")).map((m) => m.uid);
      if (unseen.length > 0) {
        const res = await s.store.storeFlags(v.mailboxId, unseen, "add", ["\\Seen"]);
        v.noteSelfReported(res.updated);
        const byUid = new Map(res.updated.map((r) => [r.uid, r]));
        for (const m of metas) {
          const r = byUid.get(m.uid);
          if (r) {
            m.flags = r.flags;
            m.modseq = r.modseq;
            flagsChanged.add(m.uid);
          }
        }
      }
    }
    const kw =
      flagsRequested || flagsChanged.size > 0 ? s.keywordAnnouncement(metas.map((m) => m.flags)) : "";
    if (kw) await out.raw(kw);
    // without content every read is a parsed structure: one store call for the chunk (served from
    // the store's cache when warm), then the lines are made without a wait per message
    const parsedAll =
      !wantContent && wantParsed ? await s.store.getParsedMany(metas.map((m) => m.blobId)) : null;
    for (let k = 0; k < metas.length; k++) {
      const m = metas[k]!;
      const seq = v.seqOf(m.uid);
      if (seq === 0) continue;
      let read: MessageData | null = NO_DATA;
      if (wantContent) read = await readOne(s, m, atts, wantParsed);
      else if (parsedAll) read = parsedAll[k] ? { raw: null, whole: null, parsed: parsedAll[k]! } : null;
      if (read === null) {
        missing++;
        continue;
      }
      const o = flagsChanged.has(m.uid) && !flagsRequested ? withFlags : plain;
      const full = out.add(`* ${seq} FETCH (`, formatOne(s, m, atts, o, read));
      if (full) await full;
    }
    await out.flush();
  }
  return fetched(missing, cmd.uid);
}

/** the tagged OK of a FETCH that found `missing` of its messages gone */
function fetched(missing: number, uid: boolean): OkResult {
  // RFC 9051 §7.1 EXPUNGEISSUED: some messages were expunged by another session (the UID form
  // just leaves them out)
  if (missing > 0 && !uid) return { code: "EXPUNGEISSUED", text: "Some messages were expunged meanwhile" };
  return { code: null, text: "FETCH completed" };
}

/** the items fetchStructures answers: the parsed structure's, and UID */
function isStructureOnly(a: FetchAtt): boolean {
  return a.type === "UID" || a.type === "ENVELOPE" || a.type === "BODY" || a.type === "BODYSTRUCTURE";
}

/** fetch() for items that are all isStructureOnly; returns the number of messages gone meanwhile */
async function fetchStructures(
  s: Session,
  uids: number[],
  atts: FetchAtt[],
  o: FetchOpts,
  out: ResponseBatch,
): Promise<number> {
  const v = s.selected.view;
  let missing = 0;
  for (let i = 0; i < uids.length; i += CHUNK_META) {
    const chunk = uids.slice(i, i + CHUNK_META);
    const refs = await s.store.getMessageBlobs(v.mailboxId, chunk);
    missing += chunk.length - refs.length;
    const parsedAll = await s.store.getParsedMany(refs.map((m) => m.blobId));
    for (let k = 0; k < refs.length; k++) {
      const m = refs[k]!;
      const parsed = parsedAll[k];
      const seq = v.seqOf(m.uid);
      if (seq === 0) continue;
      if (!parsed) {
        missing++;
        continue;
      }
      const parts: Part[] = [];
      if (o.uid) parts.push(`UID ${m.uid}`);
      for (const a of atts) {
        sep(parts);
        if (a.type === "UID") parts.push(`UID ${m.uid}`);
        else parts.push(...structureItem(a.type as StructureItem, parsed, s.utf8));
      }
      if (o.modseq) {
        sep(parts);
        parts.push(`MODSEQ (${m.modseq})`);
      }
      const full = out.add(`* ${seq} FETCH (`, parts);
      if (full) await full;
    }
  }
  return missing;
}

type StructureItem = "ENVELOPE" | "BODY" | "BODYSTRUCTURE";

/** an ENVELOPE, BODY or BODYSTRUCTURE item: its name and the cached serialisation */
function structureItem(type: StructureItem, parsed: ParsedMessage, utf8: boolean): [string, Buffer] {
  if (type === "ENVELOPE") return ["ENVELOPE ", envelopeOf(parsed, utf8)];
  return [`${type} `, bodyStructureOf(parsed, type === "BODYSTRUCTURE", utf8)];
}

async function fetchFlagsOnly(
  s: Session,
  uids: number[],
  atts: FetchAtt[],
  addUid: boolean,
  changedSince: bigint | null,
  out: ResponseBatch,
): Promise<number> {
  const v = s.selected.view;
  if (uids.length === 0) return 0;
  const uidRequested = atts.some((a) => a.type === "UID");
  const modseqRequested = atts.some((a) => a.type === "MODSEQ");
  const addModseq = s.condstore && !modseqRequested;
  let rows: MessageStates;
  const snap = v.takeSnapshot();
  if (uids.length * 4 >= v.exists) {
    // most of the mailbox: the rows SELECT just read when nothing changed since (every change
    // raises HIGHESTMODSEQ), else one sequential scan into parallel arrays (no row objects,
    // flags kept as the stored text) — both beat point lookups
    const now = snap ? (await s.store.getMailboxById(v.mailboxId))?.highestModseq : undefined;
    rows = snap && now === snap.highestModseq ? snap : await s.store.listMessageStates(v.mailboxId);
  } else {
    const us: number[] = [];
    const fs: string[] = [];
    const ms: bigint[] = [];
    for (let i = 0; i < uids.length; i += CHUNK_META) {
      for (const m of await s.store.getMessages(v.mailboxId, uids.slice(i, i + CHUNK_META))) {
        us.push(m.uid);
        fs.push(m.flags.join(" "));
        ms.push(m.modseq);
      }
    }
    rows = { uids: Uint32Array.from(us), flags: fs, modseqs: BigUint64Array.from(ms), highestModseq: 0n };
  }
  // Walk the requested uids (ascending, a subset of the view), the rows (ascending) and the
  // view's sequence in step: linear, no per-row binary search. at[j] = row index of uids[j] or -1.
  const n = rows.uids.length;
  const at = new Int32Array(uids.length);
  const seqs = new Uint32Array(uids.length);
  let i = 0;
  let seq = 1;
  let found = 0;
  const texts = new Set<string>();
  for (let j = 0; j < uids.length; j++) {
    const u = uids[j]!;
    while (i < n && rows.uids[i]! < u) i++;
    while (seq <= v.exists && v.uidAt(seq) < u) seq++;
    if (i < n && rows.uids[i] === u && v.uidAt(seq) === u) {
      at[j] = i;
      seqs[j] = seq;
      found++;
      if (changedSince === null || rows.modseqs[i]! > changedSince) texts.add(rows.flags[i]!);
    } else at[j] = -1;
  }
  // RFC 9051 §7.3.5: announce keywords before the FETCH lines that show them
  if (atts.some((a) => a.type === "FLAGS")) {
    const kw = s.keywordAnnouncement([...texts].map((t) => (t === "" ? [] : t.split(" "))));
    if (kw) await out.raw(kw);
  }
  // RFC 3501 §2.3.2: \Recent for IMAP4rev1 sessions (recent uids sit at the end of the mailbox)
  const firstRecent = s.rev2 ? Number.POSITIVE_INFINITY : v.firstRecentUid;
  const leadUid = addUid && !uidRequested;
  const needModseq = changedSince !== null || modseqRequested || addModseq;
  // lines written as bytes (docs/architecture.md "IMAP": bulk flag FETCH): each distinct flag
  // text encoded once, numbers digit by digit — no string per line
  const flagItems = [new Map<string, Buffer>(), new Map<string, Buffer>()];
  const flagItem = (t: string, recent: boolean): Buffer => {
    const items = flagItems[recent ? 1 : 0]!;
    let b = items.get(t);
    if (!b) {
      const list = recent ? (t === "" ? "\\Recent" : `${t} \\Recent`) : t;
      b = Buffer.from(`FLAGS (${list})`, "utf8");
      items.set(t, b);
    }
    return b;
  };
  const w = new ResponseBytes();
  for (let j = 0; j < uids.length; j++) {
    const r = at[j]!;
    if (r < 0) continue;
    // a modseq is read (a bigint made) only when shown or compared: `UID FETCH 1:* (UID FLAGS)`
    // without CONDSTORE reads none
    const modseq = needModseq ? rows.modseqs[r]! : 0n;
    if (changedSince !== null && modseq <= changedSince) continue;
    const uid = rows.uids[r]!;
    w.bytes(STAR).uint(seqs[j]!).bytes(FETCH_OPEN);
    let first = true;
    if (leadUid) {
      w.bytes(UID_SP).uint(uid);
      first = false;
    }
    for (let k = 0; k < atts.length; k++) {
      const a = atts[k]!;
      if (!first) w.bytes(SP);
      first = false;
      if (a.type === "UID") w.bytes(UID_SP).uint(uid);
      else if (a.type === "FLAGS") w.bytes(flagItem(rows.flags[r]!, uid >= firstRecent && v.isRecent(uid)));
      else w.text(`MODSEQ (${modseq})`);
    }
    if (addModseq) w.text(`${first ? "" : " "}MODSEQ (${modseq})`);
    w.bytes(LINE_END);
    if (w.length >= 65536) await out.raw(w.take());
  }
  if (w.length > 0) await out.raw(w.take());
  return uids.length - found;
}

const STAR = Buffer.from("* ", "latin1");
const FETCH_OPEN = Buffer.from(" FETCH (", "latin1");
const UID_SP = Buffer.from("UID ", "latin1");
const SP = Buffer.from(" ", "latin1");
const LINE_END = Buffer.from(")\r\n", "latin1");

/**
 * Collects FETCH responses and writes them in batches of about 64 KiB: one socket write per
 * message made `UID FETCH 1:* (UID FLAGS)` on a large mailbox syscall-bound. Large literals
 * are written on their own, each write honouring backpressure (Session.write awaits drain).
 */
class ResponseBatch {
  private pieces: Array<string | Uint8Array> = [];
  private size = 0;
  private readonly s: Session;
  constructor(s: Session) {
    this.s = s;
  }
  /**
   * One response line. Lines of strings and small byte pieces are only batched: no promise unless
   * the batch is full (null then), so a 1,000-message FETCH makes no wait per message.
   */
  add(head: string, parts: Part[]): Promise<void> | null {
    for (const p of parts) {
      if (typeof p !== "string" && (!(p instanceof Uint8Array) || p.length >= 65536))
        return this.addLarge(head, parts);
    }
    this.push(head);
    for (const p of parts) this.push(p as string | Uint8Array);
    this.push(")\r\n");
    return this.size >= 65536 ? this.flush() : null;
  }
  private async addLarge(head: string, parts: Part[]): Promise<void> {
    this.push(head);
    for (const p of parts) {
      if (typeof p !== "string" && !(p instanceof Uint8Array)) {
        await this.flush();
        let n = 0;
        for await (const c of p.chunks) {
          n += c.byteLength;
          await this.s.write(c);
        }
        // the literal announced p.length octets: anything else breaks the connection's framing
        if (n !== p.length) throw new Error(`message content is ${n} octets, ${p.length} expected`);
        continue;
      }
      if (typeof p !== "string" && p.length >= 65536) {
        await this.flush();
        await this.s.write(p);
        continue;
      }
      this.push(p);
    }
    this.push(")\r\n");
    if (this.size >= 65536) await this.flush();
  }
  /** complete response text, written after anything batched before it */
  async raw(text: string | Uint8Array): Promise<void> {
    await this.flush();
    await this.s.write(text);
  }
  private push(p: string | Uint8Array): void {
    this.pieces.push(p);
    this.size += p.length;
  }
  async flush(): Promise<void> {
    if (this.pieces.length === 0) return;
    const pieces = this.pieces;
    this.pieces = [];
    this.size = 0;
    // one buffer, each piece encoded into place: no Buffer per string piece (garbage that the
    // workers' small young generation collects several times per 1,000-message FETCH)
    let bytes = 0;
    for (const p of pieces) bytes += typeof p === "string" ? Buffer.byteLength(p, "utf8") : p.byteLength;
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const p of pieces) {
      if (typeof p === "string") at += buf.write(p, at, "utf8");
      else {
        buf.set(p, at);
        at += p.byteLength;
      }
    }
    await this.s.write(buf);
  }
}

interface FetchOpts {
  /** add UID (UID FETCH / QRESYNC) */
  uid: boolean;
  /** add FLAGS (implicitly changed \Seen) */
  flags: boolean;
  /** add MODSEQ (CONDSTORE enabled, RFC 7162 §3.1.4.1) */
  modseq: boolean;
}

/** what a message's FETCH items are made from besides its metadata */
interface MessageData {
  raw: Uint8Array | null;
  whole: StreamedBytes | null;
  parsed: ParsedMessage | null;
}
const NO_DATA: MessageData = { raw: null, whole: null, parsed: null };

/** null when the message was expunged by another session after its metadata was read */
async function readOne(
  s: Session,
  m: MessageMeta,
  atts: FetchAtt[],
  wantParsed: boolean,
): Promise<MessageData | null> {
  const v = s.selected.view;
  let raw: Uint8Array | null = null;
  let whole: StreamedBytes | null = null;
  let parsed: ParsedMessage | null = null;
  try {
    if (!wantParsed && m.size >= STREAM_LITERAL_MIN && streamsWhole(atts))
      whole = await openWhole(s, v.mailboxId, m.uid);
    else raw = await s.store.readMessage(v.mailboxId, m.uid);
    if (wantParsed) parsed = await s.store.getParsed(m.blobId);
  } catch (e) {
    // RFC 9051 §7.5.1 / RFC 2180 §4.1: a message expunged by another session after its metadata
    // was read (its row, or its last blob reference, is gone) is left out; the client learns of
    // the expunge at the next command that allows EXPUNGE, and the non-UID form's tagged OK says
    // EXPUNGEISSUED
    if (e instanceof StoreError && (e.code === "NOTFOUND" || e.code === "NONEXISTENT")) return null;
    throw e;
  }
  return { raw, whole, parsed };
}

function sep(out: Part[]): void {
  if (out.length > 0) out.push(" ");
}

/** the items of one FETCH response line (after `* n FETCH (`) */
function formatOne(s: Session, m: MessageMeta, atts: FetchAtt[], o: FetchOpts, d: MessageData): Part[] {
  const { raw, whole, parsed } = d;
  // offsets in ParsedMessage are relative to the blob; readMessage prefixes delivery headers
  const prefixLen = raw && parsed ? Math.max(0, raw.length - parsed.root.bodyEnd) : 0;
  const blob = raw ? raw.subarray(prefixLen) : null;

  const out: Part[] = [];
  if (o.uid) {
    sep(out);
    out.push(`UID ${m.uid}`);
  }
  for (const a of atts) {
    sep(out);
    switch (a.type) {
      case "UID":
        out.push(`UID ${m.uid}`);
        break;
      case "FLAGS":
        out.push(`FLAGS ${s.flagsOut(m.uid, m.flags)}`);
        break;
      case "INTERNALDATE":
        out.push(`INTERNALDATE ${formatDateTime(m.internalDate)}`);
        break;
      case "RFC822.SIZE":
        out.push(`RFC822.SIZE ${m.size}`);
        break;
      case "MODSEQ":
        out.push(`MODSEQ (${m.modseq})`);
        break;
      case "EMAILID":
        out.push(`EMAILID (${objectId(m.emailId)})`);
        break;
      case "THREADID":
        out.push(`THREADID (${objectId(m.threadId)})`);
        break;
      case "SAVEDATE":
        out.push(`SAVEDATE ${formatDateTime(m.saveDate)}`);
        break;
      case "PREVIEW":
        // RFC 8970 §3: computed at parse time and cached (src/mime/preview.ts); never NIL here
        out.push(`PREVIEW ${stringText(parsed!.preview ?? "", s.utf8)}`);
        break;
      case "ENVELOPE":
      case "BODY":
      case "BODYSTRUCTURE":
        out.push(...structureItem(a.type, parsed!, s.utf8));
        break;
      case "RFC822":
        out.push("RFC822 ", ...(whole ? [`{${whole.length}}\r\n`, whole] : literalOf(raw!, false)));
        break;
      case "RFC822.HEADER": {
        const h = getSection(blob!, parsed!, { part: [], kind: "HEADER" }) ?? new Uint8Array(0);
        out.push("RFC822.HEADER ", ...literalOf(withPrefix(raw!, prefixLen, h), false));
        break;
      }
      case "RFC822.TEXT": {
        const t = getSection(blob!, parsed!, { part: [], kind: "TEXT" }) ?? new Uint8Array(0);
        out.push("RFC822.TEXT ", ...literalOf(t, false));
        break;
      }
      case "BODY[]": {
        const sec = a.section;
        let data: Uint8Array | null;
        if (whole) {
          out.push(fetchAttResponseName(a) + " ", `{${whole.length}}\r\n`, whole);
          break;
        }
        if (sec.part.length === 0 && sec.kind === "") data = raw!;
        else data = bodySection(raw!, parsed!, sec);
        out.push(fetchAttResponseName(a) + " ");
        // RFC 9051 §6.4.5: a section that does not exist is returned as NIL
        if (data === null) out.push("NIL");
        else out.push(...literalOf(applyPartial(data, a.partial), false));
        break;
      }
      case "BINARY[]": {
        // RFC 3516 §4.2: BINARY[] of the whole message decodes its encoded parts (binaryForm)
        const data =
          a.part.length === 0
            ? wholeBinary(raw!, prefixLen, blob!, parsed!)
            : getBinary(blob!, parsed!, a.part);
        // RFC 3516 §4.3: UNKNOWN-CTE when the encoding cannot be decoded
        if (data === "unknown-cte") throw no("UNKNOWN-CTE", "Cannot decode this part's transfer encoding");
        out.push(fetchAttResponseName(a) + " ");
        if (data === null) out.push("NIL");
        else out.push(...literalOf(applyPartial(data, a.partial), true));
        break;
      }
      case "BINARY.SIZE[]": {
        const n =
          a.part.length === 0
            ? wholeBinary(raw!, prefixLen, blob!, parsed!).length
            : binarySize(blob!, parsed!, a.part);
        if (n === "unknown-cte") throw no("UNKNOWN-CTE", "Cannot decode this part's transfer encoding");
        out.push(`${fetchAttResponseName(a)} ${n ?? "NIL"}`);
        break;
      }
    }
  }
  if (o.flags) {
    sep(out);
    out.push(`FLAGS ${s.flagsOut(m.uid, m.flags)}`);
  }
  if (o.modseq) {
    sep(out);
    out.push(`MODSEQ (${m.modseq})`);
  }
  return out;
}

/**
 * BODY[section] content (RFC 9051 §6.4.5) of a stored message as readMessage returns it (with
 * the delivery-header prefix); null when the part does not exist. Also used by CATENATE URLs.
 */
export function bodySection(raw: Uint8Array, parsed: ParsedMessage, sec: SectionSpec): Uint8Array | null {
  if (sec.part.length === 0 && sec.kind === "") return raw;
  // offsets in ParsedMessage are relative to the blob; readMessage prefixes delivery headers
  const prefixLen = Math.max(0, raw.length - parsed.root.bodyEnd);
  if (sec.part.length === 0 && prefixLen > 0 && sec.kind.startsWith("HEADER.FIELDS")) {
    // the delivery-header prefix (Received, Delivered-To, …) is part of the top-level
    // header: select fields from prefix + header so BODY[HEADER.FIELDS] agrees with BODY[HEADER]
    const r = parsed.root;
    const whole = {
      ...r,
      headerStart: 0,
      bodyStart: r.bodyStart + prefixLen,
      bodyEnd: r.bodyEnd + prefixLen,
    };
    return getSection(raw, { ...parsed, root: whole }, sec);
  }
  const data = getSection(raw.subarray(prefixLen), parsed, sec);
  // the delivery-header prefix is part of the top-level header
  if (data && sec.part.length === 0 && sec.kind === "HEADER") return withPrefix(raw, prefixLen, data);
  return data;
}

function withPrefix(raw: Uint8Array, prefixLen: number, rest: Uint8Array): Uint8Array {
  if (prefixLen === 0) return rest;
  return Buffer.concat([raw.subarray(0, prefixLen), rest]);
}
