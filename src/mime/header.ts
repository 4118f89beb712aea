/**
 * Header block scanning (RFC 5322 §2.2), unfolding (§2.2.3) and structured MIME header values:
 * Content-Type / Content-Disposition parameters (RFC 2045 §5.1, RFC 2183) with RFC 2231
 * continuations and charset'language'value encoding.
 */
import { CR, decodeCharset, HT, headerText, LF, SP } from "./bytes.ts";

export interface HeaderField {
  /** field name, lower-case, trailing whitespace removed (obs-optional "Subject :") */
  name: string;
  /** offset of the first byte of the field (its name) */
  start: number;
  /** offset just after the colon */
  valueStart: number;
  /** offset just past the field's last line terminator (or the block end) */
  end: number;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** offset of the first body byte: after the blank line, or `end` when there is none */
  bodyStart: number;
}

/**
 * Scan the header block starting at `start`, bounded by `end`. The header ends at the first empty
 * line (CRLF or bare LF); without one, everything up to `end` is header and the body is empty.
 * Lines without a colon (not a field) are skipped for lookup but stay inside the block.
 */
export function parseHeaderBlock(buf: Buffer, start: number, end: number): HeaderBlock {
  const fields: HeaderField[] = [];
  let pos = start;
  let cur: HeaderField | null = null;
  while (pos < end) {
    const c = buf[pos]!;
    // empty line → end of header (RFC 5322 §2.1)
    if (c === LF) return { fields, bodyStart: pos + 1 };
    if (c === CR && pos + 1 < end && buf[pos + 1] === LF) return { fields, bodyStart: pos + 2 };
    const lf = buf.indexOf(LF, pos);
    const lineEnd = lf === -1 || lf >= end ? end : lf + 1;
    if (c === SP || c === HT) {
      // continuation line (folding, RFC 5322 §2.2.3)
      if (cur) cur.end = lineEnd;
    } else {
      // field-name = 1*ftext (printable except ':'); find the colon on this line
      let colon = -1;
      for (let i = pos; i < lineEnd; i++) {
        const b = buf[i]!;
        if (b === 58) {
          colon = i;
          break;
        }
        if (b === LF || b === CR) break;
      }
      if (colon > pos) {
        let ne = colon;
        while (ne > pos && (buf[ne - 1] === SP || buf[ne - 1] === HT)) ne--;
        cur = {
          name: buf.toString("latin1", pos, ne).toLowerCase(),
          start: pos,
          valueStart: colon + 1,
          end: lineEnd,
        };
        fields.push(cur);
      } else {
        cur = null; // not a header field; ignored for lookup
      }
    }
    pos = lineEnd;
  }
  return { fields, bodyStart: end };
}

/** Unfolded, trimmed field value as a string (raw: encoded words not decoded). */
export function fieldValue(buf: Buffer, f: HeaderField): string {
  return unfold(headerText(buf, f.valueStart, f.end));
}

/** RFC 5322 §2.2.3: remove CRLF (or bare LF/CR) that precedes WSP; trim the ends. */
export function unfold(s: string): string {
  return s
    .replace(/\r?\n(?=[ \t])/g, "")
    .replace(/[\r\n]+/g, "")
    .trim();
}

export function findField(fields: HeaderField[], name: string): HeaderField | undefined {
  for (const f of fields) if (f.name === name) return f;
  return undefined;
}

export function fieldString(buf: Buffer, fields: HeaderField[], name: string): string | null {
  const f = findField(fields, name);
  return f ? fieldValue(buf, f) : null;
}

// ---------------------------------------------------------------------------------------------
// Structured values: value *(";" parameter)  (RFC 2045 §5.1, RFC 2183 §2)

export interface StructuredValue {
  value: string;
  params: Array<[string, string]>;
}

/** Remove RFC 5322 comments "( ... )" outside quoted strings (bounded nesting). */
function stripComments(s: string): string {
  if (!s.includes("(")) return s;
  let out = "";
  let depth = 0;
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (inQuote) {
      out += ch;
      if (ch === "\\" && i + 1 < s.length) out += s[++i];
      else if (ch === '"') inQuote = false;
      continue;
    }
    if (depth > 0) {
      if (ch === "\\") i++;
      else if (ch === "(") depth++;
      else if (ch === ")") depth--;
      continue;
    }
    if (ch === '"') {
      inQuote = true;
      out += ch;
    } else if (ch === "(") depth++;
    else out += ch;
  }
  return out;
}

/**
 * Split "value; a=b; c="d;e"" into its main value and raw parameters; then join RFC 2231
 * continuations (name*0, name*1*, ...) and decode name*=charset'lang'%XX values.
 * Parameter names lower-case, in first-appearance order; duplicates: first wins.
 */
export function parseStructured(input: string): StructuredValue {
  const s = stripComments(input);
  let i = 0;
  const n = s.length;
  const semi = s.indexOf(";");
  const value = (semi === -1 ? s : s.slice(0, semi)).trim();
  i = semi === -1 ? n : semi + 1;
  const rawParams: Array<[string, string]> = [];
  let guard = 0;
  while (i < n && guard++ < 10000) {
    while (i < n && (s[i] === " " || s[i] === "\t" || s[i] === ";")) i++;
    if (i >= n) break;
    // attribute
    const eq = s.indexOf("=", i);
    const nextSemi = s.indexOf(";", i);
    if (eq === -1 || (nextSemi !== -1 && nextSemi < eq)) {
      // parameter without "=": skip it
      i = nextSemi === -1 ? n : nextSemi + 1;
      continue;
    }
    const name = s.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < n && (s[i] === " " || s[i] === "\t")) i++;
    let val = "";
    if (s[i] === '"') {
      // quoted-string (RFC 5322 §3.2.4)
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < n) i++;
        val += s[i];
        i++;
      }
      i++; // closing quote (or end)
      // anything after the closing quote up to ';' is junk
      const sc = s.indexOf(";", i);
      i = sc === -1 ? n : sc + 1;
    } else {
      // token; lenient: up to ';' (some senders put spaces in unquoted values)
      const sc = s.indexOf(";", i);
      val = (sc === -1 ? s.slice(i) : s.slice(i, sc)).trim();
      i = sc === -1 ? n : sc + 1;
    }
    if (name !== "") rawParams.push([name, val]);
  }
  return { value, params: joinRfc2231(rawParams) };
}

function percentDecode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && i + 2 < s.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else for (const b of Buffer.from(s[i]!, "utf8")) out.push(b);
  }
  return Uint8Array.from(out);
}

/** RFC 2231 §3 (continuations) and §4 (charset'language'value). */
function joinRfc2231(raw: Array<[string, string]>): Array<[string, string]> {
  if (!raw.some(([k]) => k.includes("*"))) return dedupe(raw);
  interface Seg {
    idx: number;
    enc: boolean;
    val: string;
  }
  const order: string[] = [];
  const plain = new Map<string, string>();
  const segs = new Map<string, Seg[]>();
  for (const [k, v] of raw) {
    const m = /^([^*]+)\*(?:(\d+)\*?|)$/.exec(k);
    if (!m) {
      if (!plain.has(k) && !segs.has(k)) order.push(k);
      if (!plain.has(k)) plain.set(k, v);
      continue;
    }
    const name = m[1]!;
    const idx = m[2] === undefined ? 0 : Number(m[2]);
    const enc = k.endsWith("*");
    let list = segs.get(name);
    if (!list) {
      list = [];
      segs.set(name, list);
      if (!plain.has(name)) order.push(name);
    }
    if (list.length < 1000) list.push({ idx, enc, val: v });
  }
  const out: Array<[string, string]> = [];
  for (const name of order) {
    const list = segs.get(name);
    if (!list) {
      out.push([name, plain.get(name)!]);
      continue;
    }
    // the extended form wins over a plain fallback of the same name (RFC 2231 §4)
    list.sort((a, b) => a.idx - b.idx);
    let charset: string | null = null;
    const parts: Uint8Array[] = [];
    let textParts = "";
    const flush = () => {
      if (textParts) {
        parts.push(Buffer.from(textParts, "utf8"));
        textParts = "";
      }
    };
    for (let i = 0; i < list.length; i++) {
      const seg = list[i]!;
      let v = seg.val;
      if (seg.enc) {
        if (i === 0) {
          const q1 = v.indexOf("'");
          const q2 = q1 === -1 ? -1 : v.indexOf("'", q1 + 1);
          if (q2 !== -1) {
            charset = v.slice(0, q1) || null;
            v = v.slice(q2 + 1);
          }
        }
        flush();
        parts.push(percentDecode(v));
      } else {
        textParts += v;
      }
    }
    flush();
    const bytes = Buffer.concat(parts);
    out.push([name, decodeCharset(bytes, charset ?? "utf-8")]);
  }
  return out;
}

function dedupe(raw: Array<[string, string]>): Array<[string, string]> {
  if (raw.length < 2) return raw;
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  for (const p of raw) {
    if (seen.has(p[0])) continue;
    seen.add(p[0]);
    out.push(p);
  }
  return out;
}

export function param(params: Array<[string, string]>, name: string): string | undefined {
  for (const [k, v] of params) if (k === name) return v;
  return undefined;
}
