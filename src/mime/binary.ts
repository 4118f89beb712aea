/**
 * Content-transfer-encoding rewrites of whole messages (RFC 3516, IMAP BINARY).
 *
 * - encodeNulParts(raw): the form a message is STORED in when it holds NUL octets (an APPEND with
 *   a literal8 `~{n}`, RFC 3516 §4.4; or NULs that came by SMTP or import). IMAP literals are
 *   CHAR8 — never NUL (RFC 9051 §4.3, §9) — so BODY[]/RFC822 could not carry such a body; every
 *   leaf part whose body holds a NUL is re-encoded base64 and its Content-Transfer-Encoding field
 *   says so. RFC 3516 §4.4 lets the server change the CTE of appended data as long as nothing is
 *   lost: BINARY[part] decodes the base64 and returns the original octets. Storing this form
 *   (rather than converting on every FETCH) keeps BODY[], BODYSTRUCTURE (encoding, size, lines),
 *   RFC822.SIZE, SEARCH LARGER/SMALLER, POP3 and JMAP all describing the same bytes.
 * - binaryForm(raw, parsed): BINARY[] of the whole message: every base64/quoted-printable leaf
 *   part decoded and labelled `Content-Transfer-Encoding: binary` (RFC 3516 §4.2: the section
 *   "after performing CTE-related decoding"); parts in other encodings are left as they are.
 *
 * Both walk the part index in order and splice rewritten leaves between untouched byte ranges.
 */
import { asBuffer, decodeBase64, decodeQuotedPrintable } from "./bytes.ts";
import { parseHeaderBlock } from "./header.ts";
import { parseMessage } from "./parse.ts";
import type { MimePart, ParsedMessage } from "./types.ts";

const LF = 10;
const CR = 13;
/** encodings whose body is the data itself (RFC 2045 §6.2) */
const IDENTITY = new Set(["7bit", "8bit", "binary", ""]);
/** RFC 2045 §6.8: encoded lines are at most 76 characters */
const B64_LINE = 76;

type Rewrite = (part: MimePart) => { header: Uint8Array; body: Uint8Array } | null;

/** Rebuilds the message with some leaf parts replaced; null when `fn` changed none. */
function rewriteLeaves(buf: Buffer, root: MimePart, fn: Rewrite): Buffer | null {
  const chunks: Uint8Array[] = [];
  let pos = 0;
  let changed = false;
  // explicit stack, parts in document order (nesting is bounded by the parser, stay iterative)
  const stack: MimePart[] = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (p.children) {
      for (let i = p.children.length - 1; i >= 0; i--) stack.push(p.children[i]!);
      continue;
    }
    if (p.message) {
      stack.push(p.message.root);
      continue;
    }
    if (p.headerStart < pos) continue; // defensive: parts never overlap
    // a part without a header block of its own (the parser's opaque fallback, e.g. a multipart
    // without delimiters) cannot take a Content-Transfer-Encoding field
    if (p.headerStart === p.bodyStart) continue;
    const r = fn(p);
    if (!r) continue;
    chunks.push(buf.subarray(pos, p.headerStart), r.header, r.body);
    pos = p.bodyEnd;
    changed = true;
  }
  if (!changed) return null;
  chunks.push(buf.subarray(pos));
  return Buffer.concat(chunks);
}

/** The line break a part's header uses (the one that ends the header), CRLF by default. */
function eolOf(buf: Buffer, p: MimePart): string {
  const e = p.bodyStart;
  if (e > p.headerStart && buf[e - 1] === LF)
    return e - 2 >= p.headerStart && buf[e - 2] === CR ? "\r\n" : "\n";
  return "\r\n";
}

/**
 * The part's header with every Content-Transfer-Encoding field replaced by one saying `cte`,
 * placed before the empty line that ends the header (one is added when the part had none).
 */
function withCte(buf: Buffer, p: MimePart, cte: string): Buffer {
  const eol = eolOf(buf, p);
  const field = Buffer.from(`Content-Transfer-Encoding: ${cte}${eol}`, "latin1");
  const hs = p.headerStart;
  const bs = p.bodyStart;
  // the empty line: [blank, bs) when the header block ends with one
  let blank = -1;
  if (bs > hs && buf[bs - 1] === LF) {
    const b = bs - 2 >= hs && buf[bs - 2] === CR ? bs - 2 : bs - 1;
    if (b === hs || buf[b - 1] === LF) blank = b;
  }
  const end = blank === -1 ? bs : blank;
  const chunks: Uint8Array[] = [];
  let pos = hs;
  for (const f of parseHeaderBlock(buf, hs, end).fields) {
    if (f.name !== "content-transfer-encoding") continue;
    chunks.push(buf.subarray(pos, f.start));
    pos = f.end;
  }
  chunks.push(buf.subarray(pos, end));
  // a last line without its line break (header that ran to the end of the part) gets one
  if (end > hs && buf[end - 1] !== LF) chunks.push(Buffer.from(eol, "latin1"));
  chunks.push(field);
  chunks.push(blank === -1 ? Buffer.from(eol, "latin1") : buf.subarray(blank, bs));
  return Buffer.concat(chunks);
}

/** base64 in lines of 76 characters (RFC 2045 §6.8); a final line break when `trailing`. */
function base64Lines(data: Uint8Array, eol: string, trailing: boolean): Buffer {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += B64_LINE) lines.push(b64.slice(i, i + B64_LINE));
  return Buffer.from(lines.join(eol) + (trailing && lines.length > 0 ? eol : ""), "latin1");
}

/**
 * The stored form of a message with NUL octets (see the file comment): each leaf part whose body
 * holds a NUL re-encoded base64. null when the message has no NUL in any part body it can
 * re-encode. A part in an unknown encoding is left alone (re-encoding it would lose its CTE), as
 * are NULs outside part bodies (headers, multipart preamble): callers check `includes(0)` on the
 * result and refuse what still has one where they can.
 */
export function encodeNulParts(raw: Uint8Array): Buffer | null {
  const buf = asBuffer(raw);
  if (buf.indexOf(0) === -1) return null;
  const parsed = parseMessage(buf);
  return rewriteLeaves(buf, parsed.root, (p) => {
    const body = buf.subarray(p.bodyStart, p.bodyEnd);
    if (body.indexOf(0) === -1) return null;
    const enc = p.encoding.toLowerCase();
    let data: Uint8Array;
    if (IDENTITY.has(enc)) data = body;
    // a NUL inside base64 text is not data (decoding skips it); QP keeps it as a data octet
    else if (enc === "base64") data = decodeBase64(body);
    else if (enc === "quoted-printable") data = decodeQuotedPrintable(body);
    else return null;
    const eol = eolOf(buf, p);
    return { header: withCte(buf, p, "base64"), body: base64Lines(data, eol, body[body.length - 1] === LF) };
  });
}

/**
 * BINARY[] of the whole message (RFC 3516 §4.2): base64 and quoted-printable leaf parts decoded,
 * their Content-Transfer-Encoding set to binary. The message itself when nothing is encoded.
 */
export function binaryForm(raw: Uint8Array, parsed: ParsedMessage): Buffer {
  const buf = asBuffer(raw);
  const out = rewriteLeaves(buf, parsed.root, (p) => {
    const enc = p.encoding.toLowerCase();
    if (enc !== "base64" && enc !== "quoted-printable") return null;
    const body = buf.subarray(p.bodyStart, p.bodyEnd);
    const data = enc === "base64" ? decodeBase64(body) : decodeQuotedPrintable(body);
    return { header: withCte(buf, p, "binary"), body: data };
  });
  return out ?? buf;
}
