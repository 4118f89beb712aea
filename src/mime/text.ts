/**
 * Decoded text for search and sorting: searchText (full-text index input), headerValues
 * (SEARCH HEADER/SUBJECT/FROM...), sortKeys (RFC 5256 SORT, RFC 5957 DISPLAYFROM/DISPLAYTO).
 */

import { parseAddressList } from "./address.ts";
import {
  asBuffer,
  decodeBase64,
  decodeCharset,
  decodeQuotedPrintable,
  decodeWords,
  headerText,
} from "./bytes.ts";
import { type HeaderField, param, parseHeaderBlock, unfold } from "./header.ts";
import type { Address, MimePart, ParsedMessage, SortKeys } from "./types.ts";

/** Default cap on the decoded body text per message fed to the full-text index (characters). */
export const DEFAULT_SEARCH_BODY_MAX = 1024 * 1024;
/** Cap on the decoded header text per message (characters). */
export const DEFAULT_SEARCH_HEADER_MAX = 256 * 1024;

export interface SearchTextOptions {
  /** maximum characters of body text (default DEFAULT_SEARCH_BODY_MAX) */
  maxBodyChars?: number;
  /** maximum characters of header text (default DEFAULT_SEARCH_HEADER_MAX) */
  maxHeaderChars?: number;
}

function decodedField(buf: Buffer, f: HeaderField): string {
  return decodeWords(unfold(headerText(buf, f.valueStart, f.end))).replace(/[\r\n\t]+/g, " ");
}

/** The header fields SEARCH FROM/TO/CC/BCC look at (RFC 9051 §6.4.4: the envelope's fields). */
const ADDRESS_FIELDS = new Set(["from", "to", "cc", "bcc"]);

/**
 * An address list as SEARCH FROM/TO/CC/BCC match it: the parsed addresses (as ENVELOPE has them)
 * written back plainly — `Display Name <mailbox@host>` or `mailbox@host`, groups as
 * `Group: a, b;` — with RFC 2047 words decoded and comments, quoting and obsolete routes gone
 * (Dovecot matches these keys against the same address-parsed form).
 */
export function addressSearchText(value: string): string {
  const list = parseAddressList(value);
  if (!list) return "";
  const out: string[] = [];
  let group: string[] | null = null;
  let groupName = "";
  for (const a of list) {
    if (a.host === null) {
      if (a.mailbox !== null) {
        group = [];
        groupName = decodeWords(a.mailbox);
      } else if (group) {
        out.push(`${groupName}: ${group.join(", ")};`);
        group = null;
      }
      continue;
    }
    const spec = a.host === "" ? (a.mailbox ?? "") : `${a.mailbox ?? ""}@${a.host}`;
    const name = a.name ? decodeWords(a.name).trim() : "";
    const text = name === "" ? spec : `${name} <${spec}>`;
    if (group) group.push(text);
    else out.push(text);
  }
  if (group) out.push(`${groupName}: ${group.join(", ")};`);
  return out.join(", ").replace(/[\r\n\t]+/g, " ");
}

/**
 * The header text of the search index: one `Name: value` line per field (RFC 2047 decoded,
 * unfolded), then — after an empty line, which no field line can be — one `name: addresses` line
 * per From/To/Cc/Bcc field in address-parsed form (addressSearchText) for SEARCH FROM/TO/CC/BCC.
 */
function headerLines(buf: Buffer, fields: HeaderField[], max: number): string {
  let out = headerFieldLines(buf, fields, max);
  let addr = "";
  for (const f of fields) {
    if (!ADDRESS_FIELDS.has(f.name)) continue;
    addr += f.name + ": " + addressSearchText(unfold(headerText(buf, f.valueStart, f.end))) + "\n";
  }
  if (addr !== "" && out.length + addr.length + 1 <= max) out += "\n" + addr;
  return out;
}

function headerFieldLines(buf: Buffer, fields: HeaderField[], max: number): string {
  let out = "";
  for (const f of fields) {
    if (out.length >= max) break;
    const name = buf.toString("latin1", f.start, f.valueStart - 1).trim();
    out += name + ": " + decodedField(buf, f) + "\n";
  }
  return out.length > max ? out.slice(0, max) : out;
}

const TAG_NAME = /<\/?([a-zA-Z][a-zA-Z0-9]*)/y;
const BLOCK_TAGS = new Set(["br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "table"]);
const SKIP_TAGS = new Set(["script", "style", "head"]);

/**
 * Rough HTML → text in one linear pass: drop comments, script/style/head content and tags,
 * block tags become line breaks, then decode common entities.
 */
export function htmlToText(html: string): string {
  const n = html.length;
  const lower = html.toLowerCase();
  let out = "";
  let i = 0;
  while (i < n) {
    const lt = html.indexOf("<", i);
    if (lt === -1) {
      out += html.slice(i);
      break;
    }
    out += html.slice(i, lt);
    if (html.startsWith("<!--", lt)) {
      const e = html.indexOf("-->", lt + 4);
      i = e === -1 ? n : e + 3;
      out += " ";
      continue;
    }
    TAG_NAME.lastIndex = lt;
    const m = TAG_NAME.exec(html);
    if (!m && html[lt + 1] !== "!" && html[lt + 1] !== "?") {
      out += "<"; // a lone "<" in text
      i = lt + 1;
      continue;
    }
    const gt = html.indexOf(">", lt);
    if (gt === -1) break; // unterminated tag: drop the rest
    const tag = m ? m[1]!.toLowerCase() : "";
    i = gt + 1;
    if (m && SKIP_TAGS.has(tag) && html[lt + 1] !== "/") {
      const close = lower.indexOf("</" + tag, i);
      const closeEnd = close === -1 ? -1 : html.indexOf(">", close);
      i = closeEnd === -1 ? n : closeEnd + 1;
      out += " ";
      continue;
    }
    out += BLOCK_TAGS.has(tag) ? "\n" : " ";
  }
  return out
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (ent, e: string) => {
      const l = e.toLowerCase();
      if (l.startsWith("#x")) return safeCodePoint(Number.parseInt(l.slice(2), 16), ent);
      if (l.startsWith("#")) return safeCodePoint(Number.parseInt(l.slice(1), 10), ent);
      return ENTITIES[e] ?? ENTITIES[l] ?? ent;
    })
    .replace(/[ \t\u00a0]+/g, " ");
}

function safeCodePoint(cp: number, fallback: string): string {
  if (!Number.isFinite(cp) || cp < 0 || cp > 0x10ffff) return fallback;
  return String.fromCodePoint(cp);
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  shy: "",
  euro: "€",
  copy: "©",
  reg: "®",
  auml: "ä",
  ouml: "ö",
  uuml: "ü",
  Auml: "Ä",
  szlig: "ß",
  eacute: "é",
  egrave: "è",
  agrave: "à",
  ccedil: "ç",
  hellip: "…",
  mdash: "—",
  ndash: "–",
};

/** Transfer-decode the body bytes of a leaf part (unknown encodings pass through). */
function transferDecode(body: Uint8Array, encoding: string): Uint8Array {
  const enc = encoding.toLowerCase();
  if (enc === "base64") return decodeBase64(body);
  if (enc === "quoted-printable") return decodeQuotedPrintable(body);
  return body;
}

function fileName(p: MimePart): string | null {
  const n =
    (p.disposition && (param(p.disposition.params, "filename") ?? null)) ??
    param(p.contentType.params, "name") ??
    null;
  return n === null || n === "" ? null : decodeWords(n);
}

export function searchText(
  raw: Uint8Array,
  p: ParsedMessage,
  options?: SearchTextOptions,
): { headers: string; body: string } {
  const maxBody = options?.maxBodyChars ?? DEFAULT_SEARCH_BODY_MAX;
  const maxHeader = options?.maxHeaderChars ?? DEFAULT_SEARCH_HEADER_MAX;
  const buf = asBuffer(raw);
  let headers = "";
  const chunks: string[] = [];
  let bodyLen = 0;
  try {
    const top = parseHeaderBlock(buf, p.root.headerStart, p.root.bodyStart);
    headers = headerLines(buf, top.fields, maxHeader);

    const add = (s: string) => {
      if (bodyLen >= maxBody || s === "") return;
      const room = maxBody - bodyLen;
      const t = s.length > room ? s.slice(0, room) : s;
      chunks.push(t);
      bodyLen += t.length + 1;
    };
    // explicit stack instead of recursion: nesting is bounded by the parser, but stay iterative
    const stack: MimePart[] = [p.root];
    let steps = 0;
    while (stack.length > 0 && bodyLen < maxBody && steps++ < 100_000) {
      const part = stack.pop()!;
      if (part.children) {
        for (let i = part.children.length - 1; i >= 0; i--) stack.push(part.children[i]!);
        continue;
      }
      const fn = fileName(part);
      if (fn) add(fn);
      if (part.message) {
        // headers of an encapsulated message are body text of the outer one
        const inner = part.message.root;
        const hb = parseHeaderBlock(buf, inner.headerStart, inner.bodyStart);
        add(headerFieldLines(buf, hb.fields, maxBody - bodyLen));
        stack.push(inner);
        continue;
      }
      if (part.contentType.type !== "text") continue;
      // bound the bytes decoded: a character needs at least 1 byte after decoding, ≤ 4/3 before
      const limit = Math.min(part.bodyEnd, part.bodyStart + (maxBody - bodyLen) * 2 + 4096);
      const decoded = transferDecode(buf.subarray(part.bodyStart, limit), part.encoding);
      let text = decodeCharset(decoded, param(part.contentType.params, "charset"));
      if (part.contentType.subtype === "html") text = htmlToText(text);
      add(text);
    }
  } catch {
    // searchText must not fail a delivery: return what was gathered
  }
  return { headers, body: chunks.join("\n") };
}

/** Decoded (RFC 2047, unfolded) values of every top-level header field named `name`. */
export function headerValues(raw: Uint8Array, p: ParsedMessage, name: string): string[] {
  const buf = asBuffer(raw);
  const want = name.toLowerCase();
  const hb = parseHeaderBlock(buf, p.root.headerStart, p.root.bodyStart);
  const out: string[] = [];
  for (const f of hb.fields) if (f.name === want) out.push(decodedField(buf, f));
  return out;
}

// ---------------------------------------------------------------------------------------------
// RFC 5256 §2.1 base subject

// sticky: matched at an index, so the loop below is linear in the subject length
const LEADER = /(?:\[[^[\]]*\][ \t]*)*(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:/iy;
const BLOB = /\[[^[\]]*\][ \t]*/y;
/** Subjects longer than this are cut before extraction (sorting never needs more). */
const MAX_SUBJECT = 64 * 1024;

/** RFC 5256 §2.1 base subject, lower-cased (for display and tests; SORT uses sortKeys). */
export function baseSubject(subject: string): string {
  return extractBaseSubject(subject).toLowerCase();
}

/**
 * RFC 5256 §2.1 base subject in i;ascii-casemap form (as sortKeys gives it), and whether it is a
 * reply or forward: text was removed by step (2), (3) or (5) (THREAD=REFERENCES step 5).
 */
export function threadSubject(subject: string): { subject: string; reply: boolean } {
  const r = { reply: false };
  return { subject: asciiCasemap(extractBaseSubject(decodeWords(subject), r)), reply: r.reply };
}

function extractBaseSubject(subject: string, flag: { reply: boolean } = { reply: false }): string {
  // (1) decoded by the caller; runs of whitespace → one space
  let s = subject.slice(0, MAX_SUBJECT).replace(/[ \t\r\n]+/g, " ");
  for (let outer = 0; outer < 100; outer++) {
    // (2) remove trailing subj-trailer "(fwd)" and whitespace
    let end = s.length;
    for (;;) {
      while (end > 0 && s[end - 1] === " ") end--;
      if (end >= 5 && s.slice(end - 5, end).toLowerCase() === "(fwd)") {
        end -= 5;
        flag.reply = true;
      } else break;
    }
    s = s.slice(0, end);
    // (3) remove subj-leader; (4) remove a leading subj-blob when text follows; repeat
    let start = 0;
    for (;;) {
      while (start < s.length && s[start] === " ") start++;
      LEADER.lastIndex = start;
      if (LEADER.test(s)) {
        start = LEADER.lastIndex;
        flag.reply = true;
        continue;
      }
      // (3) failed: whatever follows the run of blobs is not re/fwd, so (4) strips the blobs one by
      // one while non-blank text follows — i.e. all of them, or all but the last
      let p = start;
      let lastBlob = -1;
      BLOB.lastIndex = p;
      while (BLOB.test(s)) {
        lastBlob = p;
        p = BLOB.lastIndex;
      }
      if (lastBlob === -1) break;
      const next = /\S/.test(s.slice(p)) ? p : lastBlob;
      if (next === start) break;
      start = next;
    }
    s = s.slice(start);
    // (5) subj-fwd-hdr subj-base subj-fwd-trl: "[fwd:" ... "]", then again from (2)
    const f = /^\[fwd:([\s\S]*)\]$/i.exec(s);
    if (!f) break;
    flag.reply = true;
    s = f[1]!;
  }
  return s.trim();
}

/**
 * RFC 4790 §9.2 i;ascii-casemap, the comparator of SORT (RFC 5256 §3): a–z map to A–Z, every other
 * character is left alone (no Unicode case folding); the mapped strings then compare octet by
 * octet (see compareOctets), so "[" and "_" sort after the letters.
 */
export function asciiCasemap(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/**
 * Octet order of the UTF-8 forms of two strings, i.e. code point order (JS `<` compares UTF-16
 * units, which puts U+10000.. before U+E000..U+FFFF).
 */
export function compareOctets(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // a surrogate (0xD800–0xDFFF) stands for a code point above 0xFFFF
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------
// RFC 5322 §3.3 date-time, with the obsolete forms of §4.3

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

export function parseDate(value: string | null): number | null {
  if (value === null) return null;
  const s = value
    .replace(/\([^()]*\)/g, " ")
    .replace(/,/g, " ")
    .trim()
    .toLowerCase();
  if (s === "" || s.length > 200) return null;
  let day = -1;
  let month = -1;
  let year = -1;
  let hh = 0;
  let mi = 0;
  let ss = 0;
  let haveTime = false;
  let zone = 0;
  for (const tok of s.split(/\s+/)) {
    let m: RegExpExecArray | null;
    if ((m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(tok)) && !haveTime) {
      hh = Number(m[1]);
      mi = Number(m[2]);
      ss = m[3] === undefined ? 0 : Number(m[3]);
      haveTime = true;
    } else if ((m = /^([+-])(\d{2})(\d{2})$/.exec(tok))) {
      zone = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    } else if (/^\d+$/.test(tok)) {
      const v = Number(tok);
      if (day === -1 && tok.length <= 2 && v >= 1 && v <= 31 && (month === -1 || year === -1)) day = v;
      else if (year === -1) year = v;
    } else if (/^[a-z]+\.?$/.test(tok)) {
      const w = tok.replace(/\.$/, "");
      const mIdx = MONTHS.indexOf(w.slice(0, 3));
      if (month === -1 && mIdx !== -1 && (w.length === 3 || MONTH_FULL[mIdx] === w)) month = mIdx;
      else if (ZONES[w] !== undefined) zone = ZONES[w]!;
      // day names, military zones (RFC 5322 §4.3: treat as -0000) and noise are ignored
    } else if ((m = /^(\d{1,2})-([a-z]{3})-(\d{2,4})$/.exec(tok))) {
      day = Number(m[1]);
      month = MONTHS.indexOf(m[2]!);
      year = Number(m[3]);
    }
  }
  if (day < 1 || month < 0 || year < 0) return null;
  // RFC 5322 §4.3: two-digit years < 50 are 20xx, otherwise 19xx; three-digit years + 1900
  if (year < 50 && year >= 0 && String(year).length <= 2) year += 2000;
  else if (year < 1000) year += 1900;
  if (hh > 23 || mi > 59 || ss > 60) return null;
  if (ss === 60) ss = 59;
  const t = Date.UTC(year, month, day, hh, mi, ss);
  const check = new Date(Date.UTC(year, month, day));
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month) return null;
  const ms = t - zone * 60_000;
  return Number.isFinite(ms) ? ms : null;
}

const MONTH_FULL = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

// ---------------------------------------------------------------------------------------------

/**
 * The first address of an ENVELOPE list. A group comes first as its start marker (RFC 9051
 * §7.5.2: addr-mailbox = the group name, addr-host NIL), so a list that opens with a group sorts
 * by the group name (RFC 5256 §3 "addr-mailbox of the first address"; RFC 5957 §3).
 */
function firstAddress(list: Address[] | null): Address | null {
  if (!list) return null;
  for (const a of list) if (a.mailbox !== null) return a;
  return null;
}

/**
 * RFC 5957 §3: the display-name of the first address (RFC 2047 decoded), else its addr-spec; a
 * group: the group's display-name.
 */
function displayOf(a: Address | null): string {
  if (!a) return "";
  if (a.host === null) return decodeWords(a.mailbox ?? "").trim();
  const name = a.name ? decodeWords(a.name).trim() : "";
  if (name !== "") return name;
  return a.host ? `${a.mailbox ?? ""}@${a.host}` : (a.mailbox ?? "");
}

/** Sort keys in i;ascii-casemap form (asciiCasemap); compare them with compareOctets. */
export function sortKeys(raw: Uint8Array, p: ParsedMessage): SortKeys {
  void raw; // everything needed is in the parsed envelope
  const env = p.envelope;
  const from = firstAddress(env.from);
  const to = firstAddress(env.to);
  const cc = firstAddress(env.cc);
  return {
    subject: asciiCasemap(extractBaseSubject(decodeWords(env.subject ?? ""))),
    // RFC 5256 §3: addr-mailbox of the first address (a group's name for a group)
    from: asciiCasemap(from?.mailbox ?? ""),
    to: asciiCasemap(to?.mailbox ?? ""),
    cc: asciiCasemap(cc?.mailbox ?? ""),
    date: parseDate(env.date),
    displayFrom: asciiCasemap(displayOf(from)),
    displayTo: asciiCasemap(displayOf(to)),
  };
}
