/**
 * BODY[section] (RFC 9051 §6.4.5) and BINARY[section] (RFC 3516 / RFC 9051 §6.4.5) content,
 * sliced byte-exact from the raw message using the part index.
 */
import { asBuffer, base64DecodedSize, decodeBase64, decodeQuotedPrintable } from "./bytes.ts";
import { parseHeaderBlock } from "./header.ts";
import type { MimePart, ParsedMessage, SectionSpec } from "./types.ts";

const CRLF = Buffer.from("\r\n");

/**
 * RFC 9051 §6.4.5 part numbering: the parts of a multipart are numbered from 1; a non-multipart
 * message (or encapsulated message) has only part 1, its body; a message/rfc822 part's numbers
 * address the parts of the encapsulated message.
 */
export function resolvePart(p: ParsedMessage, path: number[]): MimePart | null {
  let cur: MimePart | null = null;
  for (const n of path) {
    if (!Number.isInteger(n) || n < 1) return null;
    let list: MimePart[];
    if (cur === null) list = p.root.children ?? [p.root];
    else if (cur.children) list = cur.children;
    else if (cur.message) list = cur.message.root.children ?? [cur.message.root];
    else return null;
    const next = list[n - 1];
    if (!next) return null;
    cur = next;
  }
  return cur;
}

function slice(buf: Buffer, s: number, e: number): Uint8Array {
  const len = buf.length;
  const a = Math.max(0, Math.min(s, len));
  const b = Math.max(a, Math.min(e, len));
  return buf.subarray(a, b);
}

/**
 * HEADER.FIELDS / HEADER.FIELDS.NOT: the matching field lines byte-exact (folding kept), in
 * message order, followed by the blank line that ends a header (RFC 9051 §6.4.5).
 */
function headerFields(buf: Buffer, m: MimePart, names: string[], not: boolean): Uint8Array {
  const want = new Set(names.map((n) => n.toLowerCase()));
  const hb = parseHeaderBlock(buf, m.headerStart, m.bodyStart);
  const chunks: Uint8Array[] = [];
  for (const f of hb.fields) {
    if (want.has(f.name) !== not) {
      const chunk = buf.subarray(f.start, f.end);
      chunks.push(chunk);
      // a field that ends the block without a line break still needs one before the blank line
      const last = chunk[chunk.length - 1];
      if (last !== 10) chunks.push(CRLF);
    }
  }
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}

export function getSection(raw: Uint8Array, p: ParsedMessage, spec: SectionSpec): Uint8Array | null {
  const buf = asBuffer(raw);
  if (spec.part.length === 0) {
    const m = p.root;
    switch (spec.kind) {
      case "":
        return buf;
      case "HEADER":
        return slice(buf, m.headerStart, m.bodyStart);
      case "TEXT":
        return slice(buf, m.bodyStart, m.bodyEnd);
      case "HEADER.FIELDS":
      case "HEADER.FIELDS.NOT":
        return headerFields(buf, m, spec.fields ?? [], spec.kind === "HEADER.FIELDS.NOT");
      default:
        return null; // MIME needs a part number
    }
  }
  const part = resolvePart(p, spec.part);
  if (!part) return null;
  switch (spec.kind) {
    case "":
      return slice(buf, part.bodyStart, part.bodyEnd);
    case "MIME":
      return slice(buf, part.headerStart, part.bodyStart);
    default: {
      // HEADER/TEXT/HEADER.FIELDS only on a message/rfc822 (or message/global) part
      if (!part.message) return null;
      const m = part.message.root;
      if (spec.kind === "HEADER") return slice(buf, m.headerStart, m.bodyStart);
      if (spec.kind === "TEXT") return slice(buf, m.bodyStart, m.bodyEnd);
      return headerFields(buf, m, spec.fields ?? [], spec.kind === "HEADER.FIELDS.NOT");
    }
  }
}

function binaryPart(p: ParsedMessage, part: number[]): MimePart | null | "whole" {
  if (part.length === 0) return "whole";
  return resolvePart(p, part);
}

const IDENTITY = new Set(["7bit", "8bit", "binary", ""]);

/** BINARY[part]: the part body with its Content-Transfer-Encoding removed (RFC 3516 §4.2). */
export function getBinary(
  raw: Uint8Array,
  p: ParsedMessage,
  part: number[],
): Uint8Array | null | "unknown-cte" {
  const buf = asBuffer(raw);
  const m = binaryPart(p, part);
  if (m === null) return null;
  if (m === "whole") return buf;
  const body = slice(buf, m.bodyStart, m.bodyEnd);
  if (m.children || m.message) return body; // composite: no transfer decoding of its own
  const enc = m.encoding.toLowerCase();
  if (IDENTITY.has(enc)) return body;
  if (enc === "base64") return decodeBase64(body);
  if (enc === "quoted-printable") return decodeQuotedPrintable(body);
  return "unknown-cte"; // RFC 3516 §4.3 / RFC 9051 §7.1: [UNKNOWN-CTE]
}

export function binarySize(raw: Uint8Array, p: ParsedMessage, part: number[]): number | null | "unknown-cte" {
  const m = binaryPart(p, part);
  if (m === null) return null;
  if (m === "whole") return raw.length;
  if (!m.children && !m.message && m.encoding.toLowerCase() === "base64") {
    return base64DecodedSize(slice(asBuffer(raw), m.bodyStart, m.bodyEnd));
  }
  const b = getBinary(raw, p, part);
  if (b === null || b === "unknown-cte") return b;
  return b.length;
}
