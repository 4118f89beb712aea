/**
 * SEARCH and UID SEARCH (RFC 9051 §6.4.4), ESEARCH (RFC 4731), SEARCHRES (RFC 5182), MODSEQ
 * (RFC 7162 §3.1.5), WITHIN (RFC 5032), OBJECTID (RFC 8474 §6), SAVEDATE (RFC 8514), PARTIAL
 * (RFC 9394, SEARCH side only).
 *
 * Text keys (TEXT, BODY, FROM/TO/CC/BCC/SUBJECT, HEADER) are answered by the store's text index
 * (store.searchText), one query per key; a program whose other keys are only flags and modseqs
 * (UNSEEN, FLAGGED, DELETED, KEYWORD, MODSEQ …) is evaluated over the mailbox's message states
 * (store.listMessageStates: the store's per-process cache, no per-message rows); dates, sizes and
 * ids from message metadata, in chunks.
 */
import { parseDate } from "../../../mime/index.ts";
import type { MessageMeta } from "../../../store/types.ts";
import type { ImapDate, SearchCommand, SearchKey } from "../../protocol/commands.ts";
import { numberListBytes } from "../../protocol/response.ts";
import type { OkResult } from "../dispatch.ts";
import { no } from "../errors.ts";
import { objectId } from "../format.ts";
import type { SelectedState, Session } from "../session.ts";
import { resolveSet } from "../sets.ts";
import { checkUpdateTag, openContext } from "./context.ts";
import { esearchHead, esearchItems, onlyMinMax, returnOptions, returnsData, savedResult } from "./esearch.ts";

const CHUNK = 2000;
const DAY = 86_400_000;

interface Prepared {
  sets: Map<SearchKey, Set<number>>;
  needMeta: boolean;
  /** a key needs more than flags and modseq (dates, sizes, ids) */
  needFull: boolean;
  needSent: boolean;
  usesModseq: boolean;
  /** \Recent in this session (RFC 3501 §2.3.2); IMAP4rev2 sessions have none */
  recent: (uid: number) => boolean;
}

function dayOf(d: ImapDate): number {
  return Date.UTC(d.year, d.month - 1, d.day) / DAY;
}

function decodeValue(v: Buffer): string {
  return v.toString("utf8");
}

async function prepare(s: Session, key: SearchKey, p: Prepared, depth = 0): Promise<void> {
  if (depth > 100) return;
  const v = s.selected.view;
  switch (key.type) {
    case "and":
      for (const k of key.keys) await prepare(s, k, p, depth + 1);
      return;
    case "or":
      await prepare(s, key.left, p, depth + 1);
      await prepare(s, key.right, p, depth + 1);
      return;
    case "not":
      await prepare(s, key.key, p, depth + 1);
      return;
    case "seq":
      p.sets.set(key, new Set(resolveSet(v, key.set, false)));
      return;
    case "uid":
      p.sets.set(key, new Set(resolveSet(v, key.set, true)));
      return;
    case "header":
      p.sets.set(
        key,
        new Set(
          await s.store.searchText(v.mailboxId, {
            field: "header",
            header: key.field.toLowerCase(),
            value: decodeValue(key.value),
            ...(key.address ? { address: true } : {}),
          }),
        ),
      );
      return;
    case "body":
    case "text":
      p.sets.set(
        key,
        new Set(await s.store.searchText(v.mailboxId, { field: key.type, value: decodeValue(key.value) })),
      );
      return;
    case "date":
      p.needMeta = true;
      p.needFull = true;
      if (key.field === "sent") p.needSent = true;
      return;
    case "modseq":
      p.usesModseq = true;
      p.needMeta = true;
      return;
    case "all":
    case "savedatesupported":
      return;
    case "flag":
      if (key.flag === "\\Recent") return; // answered by the view, no metadata
      p.needMeta = true;
      return;
    default:
      p.needMeta = true;
      p.needFull = true;
  }
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * RFC 9051 §6.4.4 SENTBEFORE/SENTON/SENTSINCE compare the Date: header's date "disregarding time
 * and timezone": the calendar day as written in the header (RFC 5322 §3.3 date = day month year),
 * not the UTC day of the instant. Returns that day's UTC midnight, or the parsed instant as a
 * fallback for unusual formats.
 */
export function sentDayMs(date: string | null | undefined): number | null {
  if (!date) return null;
  const m = /(?:^|[\s,])(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})\b/.exec(date);
  if (m) {
    const mon = MONTHS.indexOf(m[2]!.toLowerCase());
    let year = Number(m[3]);
    // RFC 5322 §4.3 obs-year: two digits → 19xx/20xx
    if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
    else if (m[3]!.length === 3) year += 1900;
    if (mon >= 0) return Date.UTC(year, mon, Number(m[1]));
  }
  return parseDate(date);
}

function hasFlag(m: MessageMeta, flag: string): boolean {
  const f = flag.toLowerCase();
  return m.flags.some((x) => x.toLowerCase() === f);
}

function evaluate(
  key: SearchKey,
  uid: number,
  m: MessageMeta | undefined,
  sent: number | null,
  p: Prepared,
  now: number,
): boolean {
  switch (key.type) {
    case "and":
      return key.keys.every((k) => evaluate(k, uid, m, sent, p, now));
    case "or":
      return evaluate(key.left, uid, m, sent, p, now) || evaluate(key.right, uid, m, sent, p, now);
    case "not":
      return !evaluate(key.key, uid, m, sent, p, now);
    case "all":
    case "savedatesupported":
      return true;
    case "seq":
    case "uid":
    case "header":
    case "body":
    case "text":
      return p.sets.get(key)?.has(uid) ?? false;
    case "flag":
      // RFC 3501 §6.4.4 RECENT / NEW / OLD
      if (key.flag === "\\Recent") return p.recent(uid);
      break;
    default:
      break;
  }
  if (!m) return false;
  switch (key.type) {
    case "flag":
      return hasFlag(m, key.flag);
    case "date": {
      // RFC 9051 §6.4.4: dates disregard time and timezone
      const ms =
        key.field === "internal"
          ? m.internalDate.getTime()
          : key.field === "saved"
            ? m.saveDate.getTime()
            : sent;
      if (ms === null) return false;
      const day = Math.floor(ms / DAY);
      const kd = dayOf(key.date);
      return key.op === "before" ? day < kd : key.op === "on" ? day === kd : day >= kd;
    }
    case "size":
      return key.op === "larger" ? m.size > key.size : m.size < key.size;
    case "age": {
      // RFC 5032 §3: OLDER n = internal date more than n seconds ago; YOUNGER n = within n seconds
      const age = (now - m.internalDate.getTime()) / 1000;
      return key.op === "older" ? age > key.seconds : age <= key.seconds;
    }
    case "modseq":
      return m.modseq >= key.modseq;
    case "emailid":
      return objectId(m.emailId) === key.id;
    case "threadid":
      return objectId(m.threadId) === key.id;
  }
  return false;
}

export interface SearchOutcome {
  /** matching uids, ascending */
  matched: number[];
  /** highest modseq among the matches (RFC 7162 §3.1.5), when a MODSEQ key was used */
  modseq: bigint | null;
  /** modseq of each match (uid → modseq), when a MODSEQ key was used (ESEARCH MIN/MAX) */
  modseqs: Map<number, bigint> | null;
  /** sequence numbers of the matches, when the evaluation walked the view in order */
  seqs?: number[];
}

/** Evaluates a search program against the selected mailbox (shared by SEARCH and SORT). */
export async function runSearch(
  s: Session,
  criteria: SearchKey,
  charset: string | null,
): Promise<SearchOutcome> {
  const v = s.selected.view;
  // RFC 9051 §6.4.4: UTF-8 (and US-ASCII) only; otherwise BADCHARSET with the supported list
  if (charset !== null && charset !== "UTF-8" && charset !== "US-ASCII") {
    throw no("BADCHARSET (UTF-8)", "Unsupported charset");
  }
  const p: Prepared = {
    sets: new Map(),
    needMeta: false,
    needFull: false,
    needSent: false,
    usesModseq: false,
    recent: s.rev2 ? () => false : (uid) => v.isRecent(uid),
  };
  await prepare(s, criteria, p);
  if (p.usesModseq) await s.enableCondstore(); // RFC 7162 §3.1: SEARCH MODSEQ is CONDSTORE-enabling

  if (p.needMeta && !p.needFull) return searchStates(s, criteria, p);
  const all = v.allUids();
  const matched: number[] = [];
  let maxModseq = 0n;
  const modseqs = p.usesModseq ? new Map<number, bigint>() : null;
  const now = Date.now();
  for (let i = 0; i < all.length; i += CHUNK) {
    const chunk = all.slice(i, i + CHUNK);
    let metas: Map<number, MessageMeta> | null = null;
    if (p.needMeta || p.usesModseq) {
      metas = new Map();
      for (const m of await s.store.getMessages(v.mailboxId, chunk)) metas.set(m.uid, m);
    }
    for (const uid of chunk) {
      // expunged by another session but not yet announced: it no longer matches anything
      if (v.isPendingExpunge(uid)) continue;
      const m = metas?.get(uid);
      if (metas && !m) continue; // expunged meanwhile
      let sent: number | null = null;
      if (p.needSent && m) {
        const parsed = await s.store.getParsed(m.blobId);
        sent = sentDayMs(parsed.envelope.date) ?? m.internalDate.getTime();
      }
      if (evaluate(criteria, uid, m, sent, p, now)) {
        matched.push(uid);
        if (m && m.modseq > maxModseq) maxModseq = m.modseq;
        if (m && modseqs) modseqs.set(uid, m.modseq);
      }
    }
  }
  return { matched, modseq: p.usesModseq && matched.length > 0 ? maxModseq : null, modseqs };
}

/** true when the key's result depends on a message's flags only (one answer per flag text) */
function flagsOnly(key: SearchKey, depth = 0): boolean {
  if (depth > 100) return false;
  switch (key.type) {
    case "and":
      return key.keys.every((k) => flagsOnly(k, depth + 1));
    case "or":
      return flagsOnly(key.left, depth + 1) && flagsOnly(key.right, depth + 1);
    case "not":
      return flagsOnly(key.key, depth + 1);
    case "all":
    case "savedatesupported":
      return true;
    case "flag":
      return key.flag !== "\\Recent";
    default:
      return false;
  }
}

/**
 * A program of flag, modseq, set and text keys over the mailbox's message states: the view's uids
 * and the states' (both ascending) walked in step, each distinct flag text split once.
 */
async function searchStates(s: Session, criteria: SearchKey, p: Prepared): Promise<SearchOutcome> {
  const v = s.selected.view;
  const rows = await s.store.listMessageStates(v.mailboxId);
  // no await below: the view cannot change while its uids are walked
  const all = v.uidsInOrder();
  const matched: number[] = [];
  const seqs: number[] = [];
  let maxModseq = 0n;
  const modseqs = p.usesModseq ? new Map<number, bigint>() : null;
  const lists = new Map<string, string[]>();
  // UNSEEN, FLAGGED, KEYWORD x …: evaluated once per distinct flag text, not per message
  const byText = flagsOnly(criteria) ? new Map<string, boolean>() : null;
  // only flags and modseq are read by evaluate() when no key needs more (p.needFull false)
  const cur = { flags: [] as string[], modseq: 0n };
  const m = cur as unknown as MessageMeta;
  const now = Date.now();
  const n = rows.uids.length;
  let i = 0;
  for (let k = 0; k < all.length; k++) {
    const uid = all[k]!;
    while (i < n && rows.uids[i]! < uid) i++;
    // expunged meanwhile (not in the states), or by another session but not yet announced
    if (i >= n || rows.uids[i] !== uid || v.isPendingExpunge(uid)) continue;
    const t = rows.flags[i]!;
    const known = byText?.get(t);
    if (known !== undefined) {
      if (known) {
        matched.push(uid);
        seqs.push(k + 1);
      }
      continue;
    }
    let list = lists.get(t);
    if (!list) {
      list = t === "" ? [] : t.split(" ");
      lists.set(t, list);
    }
    cur.flags = list;
    cur.modseq = p.usesModseq ? rows.modseqs[i]! : 0n;
    const hit = evaluate(criteria, uid, m, null, p, now);
    byText?.set(t, hit);
    if (hit) {
      matched.push(uid);
      seqs.push(k + 1);
      if (cur.modseq > maxModseq) maxModseq = cur.modseq;
      modseqs?.set(uid, cur.modseq);
    }
  }
  return { matched, modseq: p.usesModseq && matched.length > 0 ? maxModseq : null, modseqs, seqs };
}

export async function search(
  s: Session,
  tag: string,
  cmd: SearchCommand,
  st: SelectedState,
): Promise<OkResult> {
  const v = st.view;
  checkUpdateTag(s, tag, cmd.returnOpts); // RFC 5267 §4.3
  const save = cmd.returnOpts?.includes("SAVE") ?? false;
  if (save) v.savedSearch = []; // RFC 5182 §2.1: a failed SEARCH leaves $ empty
  const { matched, modseq: modseqAll, modseqs, seqs } = await runSearch(s, cmd.criteria, cmd.charset);
  // RFC 5267 §4.3 CONTEXT=SEARCH: RETURN (UPDATE) keeps the search live
  await openContext(s, tag, cmd.returnOpts, { uid: cmd.uid, sort: false }, matched, async () => {
    return (await runSearch(s, cmd.criteria, cmd.charset)).matched;
  });
  let modseqTail = modseqAll;
  const nums = cmd.uid ? matched : (seqs ?? matched.map((u) => v.seqOf(u)));
  if (cmd.returnOpts === null && !s.rev2) {
    // RFC 3501 §7.2.5 SEARCH; RFC 7162 §3.1.5 "(MODSEQ n)"; written as bytes, no string of the
    // whole list on the heap (numberListBytes)
    await s.write(
      numberListBytes("* SEARCH", nums, `${modseqTail !== null ? ` (MODSEQ ${modseqTail})` : ""}\r\n`),
    );
    return { code: null, text: "SEARCH completed" };
  }
  // RFC 4731 §3.1 / RFC 9051 §7.3.4: ESEARCH; RETURN () or no RETURN (IMAP4rev2) means ALL
  const opts = returnOptions(cmd.returnOpts ?? undefined, cmd.partial);
  if (save) {
    // RFC 5182 §2.1 / RFC 9394 §3.1: SAVE keeps what is returned (MIN/MAX only, or the page)
    v.savedSearch = savedResult(opts, cmd.partial, matched, true);
    if (!returnsData(opts, cmd.partial)) return { code: null, text: "SEARCH completed (saved)" };
  }
  // mailbox order (RFC 9394 §3.1 for PARTIAL)
  const line = esearchHead(tag, cmd.uid) + esearchItems(opts, cmd.partial, nums);
  if (modseqTail !== null && modseqs && onlyMinMax(opts)) {
    // RFC 7162 §3.1.5: with MIN and/or MAX only, MODSEQ is that of the returned message(s) —
    // the highest of the two for MIN and MAX — not the highest of every match
    let ms = 0n;
    for (const [want, u] of [
      ["MIN", matched[0]!],
      ["MAX", matched[matched.length - 1]!],
    ] as const) {
      const m = opts.includes(want) ? modseqs.get(u) : undefined;
      if (m !== undefined && m > ms) ms = m;
    }
    if (ms > 0n) modseqTail = ms;
  }
  await s.write(`${line}${modseqTail !== null ? ` MODSEQ ${modseqTail}` : ""}\r\n`);
  return { code: null, text: "SEARCH completed" };
}
