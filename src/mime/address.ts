/**
 * RFC 5322 §3.4 address-list parser (with obsolete forms of §4.4) producing IMAP ENVELOPE
 * addresses (RFC 9051 §7.5.2): groups become a start marker (mailbox = group name, host NIL) and
 * an end marker (all NIL). Display names are kept as written (quoted strings unquoted, RFC 2047
 * encoded words NOT decoded — IMAP servers send them raw and clients decode).
 */
import type { Address } from "./types.ts";

interface Tok {
  /** "a" atom/dot-atom text, "q" quoted-string, "d" domain-literal, "s" special char */
  t: "a" | "q" | "d" | "s";
  /** atom text; quoted-string content (unescaped); special char; domain literal raw */
  v: string;
  /** raw source text (quoted strings with quotes) */
  raw: string;
  /** whitespace or a comment precedes this token */
  sp: boolean;
  /** comment text following this token, if any (for "addr (Name)" fallback) */
  comment?: string;
}

const SPECIALS = new Set(["<", ">", "@", ",", ";", ":", "."]);

/** RFC 5322 §3.2: lexical tokens; comments dropped (remembered on the previous token). */
function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  const n = s.length;
  let i = 0;
  let sp = false;
  while (i < n) {
    const ch = s[i]!;
    if (ch === " " || ch === "\t" || ch === "\r" || ch === "\n") {
      sp = true;
      i++;
      continue;
    }
    if (ch === "(") {
      // comment, nested (RFC 5322 §3.2.2)
      let depth = 0;
      let text = "";
      while (i < n) {
        const c = s[i]!;
        if (c === "\\" && i + 1 < n) {
          text += s[i + 1];
          i += 2;
          continue;
        }
        if (c === "(") {
          if (depth > 0) text += c;
          depth++;
        } else if (c === ")") {
          depth--;
          if (depth === 0) {
            i++;
            break;
          }
          text += c;
        } else text += c;
        i++;
      }
      const last = toks[toks.length - 1];
      if (last && last.comment === undefined && text.trim() !== "") last.comment = text.trim();
      sp = true;
      continue;
    }
    if (ch === '"') {
      const start = i;
      let v = "";
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < n) i++;
        v += s[i];
        i++;
      }
      i = Math.min(n, i + 1);
      toks.push({ t: "q", v, raw: s.slice(start, i), sp });
      sp = false;
      continue;
    }
    if (ch === "[") {
      const end = s.indexOf("]", i);
      const e = end === -1 ? n : end + 1;
      const raw = s.slice(i, e);
      toks.push({ t: "d", v: raw, raw, sp });
      i = e;
      sp = false;
      continue;
    }
    if (SPECIALS.has(ch)) {
      toks.push({ t: "s", v: ch, raw: ch, sp });
      i++;
      sp = false;
      continue;
    }
    let j = i;
    while (j < n) {
      const c = s[j]!;
      if (c === " " || c === "\t" || c === "\r" || c === "\n" || c === "(" || c === '"' || c === "[") break;
      if (SPECIALS.has(c)) break;
      j++;
    }
    const v = s.slice(i, j);
    toks.push({ t: "a", v, raw: v, sp });
    i = j;
    sp = false;
  }
  return toks;
}

/** Display-name text: words joined with one space where the source had whitespace. */
function phraseText(toks: Tok[]): string | null {
  let out = "";
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k]!;
    if (k > 0 && t.sp) out += " ";
    out += t.v;
  }
  out = out.trim();
  return out === "" ? null : out;
}

function rawJoin(toks: Tok[]): string {
  let out = "";
  for (const t of toks) out += t.raw;
  return out;
}

/**
 * addr-spec = local-part "@" domain (RFC 5322 §3.4.1). An obs-route "@a,@b:" before it (RFC 5322
 * §4.4 obs-angle-addr) is kept as the ENVELOPE's at-domain-list (addr-adl, RFC 3501 §7.4.2 /
 * RFC 9051 §7.5.2: "@a,@b"), without the colon.
 */
function addrSpec(toks: Tok[], name: string | null): Address | null {
  // obs-route (RFC 5322 §4.4): leading "@domain,...:" inside angle brackets
  let start = 0;
  let adl: string | null = null;
  if (toks[0]?.t === "s" && toks[0].v === "@") {
    const colon = toks.findIndex((t) => t.t === "s" && t.v === ":");
    if (colon !== -1) {
      start = colon + 1;
      // obs-domain-list may hold empty elements ("@a,,@b"): keep the "@domain" entries only
      const route = rawJoin(toks.slice(0, colon))
        .split(",")
        .filter((d) => d.length > 1 && d.startsWith("@"))
        .join(",");
      if (route !== "") adl = route;
    }
  }
  const rest = toks.slice(start);
  let at = -1;
  for (let k = rest.length - 1; k >= 0; k--) {
    const t = rest[k]!;
    if (t.t === "s" && t.v === "@") {
      at = k;
      break;
    }
  }
  let commentName: string | null = null;
  for (const t of toks) if (t.comment !== undefined) commentName = t.comment;
  const nm = name ?? commentName;
  if (at === -1) {
    const local = rawJoin(rest);
    if (local === "" && nm === null) return null;
    // no domain: host "" (not NIL, which would mark a group)
    return withAdl({ name: nm, mailbox: local, host: "" }, adl);
  }
  return withAdl({ name: nm, mailbox: rawJoin(rest.slice(0, at)), host: rawJoin(rest.slice(at + 1)) }, adl);
}

function withAdl(a: Address, adl: string | null): Address {
  if (adl !== null) a.adl = adl;
  return a;
}

/**
 * Parse an address-list header value. Returns null for an empty/absent list (NIL in ENVELOPE).
 */
export function parseAddressList(value: string | null): Address[] | null {
  if (value === null) return null;
  const toks = tokenize(value);
  const out: Address[] = [];
  let i = 0;
  let inGroup = false;
  const n = toks.length;
  let guard = 0;
  while (i < n && guard++ < 100000 && out.length < 10000) {
    const phrase: Tok[] = [];
    while (i < n) {
      const t = toks[i]!;
      if (t.t === "s" && (t.v === "," || t.v === ";" || t.v === "<" || (t.v === ":" && !inGroup))) break;
      phrase.push(t);
      i++;
    }
    const t = toks[i];
    if (t && t.v === ":" && t.t === "s") {
      // group = display-name ":" [group-list] ";" (RFC 5322 §3.4)
      out.push({ name: null, mailbox: phraseText(phrase) ?? "", host: null });
      inGroup = true;
      i++;
      continue;
    }
    if (t && t.v === "<" && t.t === "s") {
      i++;
      const inner: Tok[] = [];
      while (i < n && !(toks[i]!.t === "s" && toks[i]!.v === ">")) inner.push(toks[i++]!);
      i++; // ">"
      // comments after ">" belong to this address; skip junk to the next separator
      while (i < n && !(toks[i]!.t === "s" && (toks[i]!.v === "," || toks[i]!.v === ";"))) i++;
      const a = addrSpec(inner, phraseText(phrase));
      if (a) out.push(a);
    } else if (phrase.length > 0) {
      const a = addrSpec(phrase, null);
      if (a) out.push(a);
    }
    const sep = toks[i];
    if (sep && sep.t === "s" && sep.v === ";") {
      if (inGroup) {
        out.push({ name: null, mailbox: null, host: null });
        inGroup = false;
      }
      i++;
    } else if (sep && sep.t === "s" && sep.v === ",") {
      i++;
    }
  }
  if (inGroup) out.push({ name: null, mailbox: null, host: null }); // unterminated group
  return out.length === 0 ? null : out;
}
