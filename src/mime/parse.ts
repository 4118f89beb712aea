/**
 * parseMessage: one pass over the raw message building the MIME part index with byte offsets.
 *
 * Invariants: never throws; every offset lies in [0, raw.length] and for each part
 * headerStart <= bodyStart <= bodyEnd; children lie inside their parent's body, in order.
 * Work is linear in the message size per nesting level, and nesting is capped at MAX_DEPTH.
 */
import { parseAddressList } from "./address.ts";
import { asBuffer, countLines, LF } from "./bytes.ts";
import {
  fieldString,
  fieldValue,
  findField,
  type HeaderField,
  param,
  parseHeaderBlock,
  parseStructured,
} from "./header.ts";
import { computePreview } from "./preview.ts";
import type { ContentType, Envelope, MimePart, ParsedMessage } from "./types.ts";

/** Bump when the JSON shape or its computation changes, so cached indexes are rebuilt. */
// 2: ENVELOPE addresses keep an obsolete source route (Address.adl)
// 3: RFC 8970 preview text (ParsedMessage.preview)
export const PARSED_VERSION = 3;

/** Multipart/message nesting beyond this depth is treated as opaque text/plain. */
export const MAX_DEPTH = 64;

/** Cap on the number of parts per message (a hostile message cannot blow up the index). */
export const MAX_PARTS = 10000;

const DEFAULT_TEXT: ContentType = { type: "text", subtype: "plain", params: [["charset", "us-ascii"]] };
const DEFAULT_MESSAGE: ContentType = { type: "message", subtype: "rfc822", params: [] };

interface Ctx {
  buf: Buffer;
  parts: number;
}

export function parseMessage(raw: Uint8Array): ParsedMessage {
  const buf = asBuffer(raw);
  try {
    const ctx: Ctx = { buf, parts: 0 };
    const { part, fields } = parseEntity(ctx, 0, buf.length, 0, false);
    return {
      version: PARSED_VERSION,
      root: part,
      envelope: buildEnvelope(buf, fields),
      preview: computePreview(buf, part),
    };
  } catch {
    // Defensive: the parser is written not to throw; if it ever does, still index the message.
    return {
      version: PARSED_VERSION,
      root: opaquePart(buf, 0, buf.length),
      envelope: emptyEnvelope(),
      preview: "",
    };
  }
}

function opaquePart(buf: Buffer, start: number, end: number): MimePart {
  return {
    headerStart: start,
    bodyStart: start,
    bodyEnd: end,
    contentType: cloneCt(DEFAULT_TEXT),
    defaultType: true,
    disposition: null,
    encoding: "7bit",
    id: null,
    description: null,
    md5: null,
    language: null,
    location: null,
    size: end - start,
    lines: countLines(buf, start, end),
  };
}

function cloneCt(ct: ContentType): ContentType {
  return { type: ct.type, subtype: ct.subtype, params: ct.params.map(([k, v]) => [k, v]) };
}

export function emptyEnvelope(): Envelope {
  return {
    date: null,
    subject: null,
    from: null,
    sender: null,
    replyTo: null,
    to: null,
    cc: null,
    bcc: null,
    inReplyTo: null,
    messageId: null,
  };
}

/** RFC 9051 §7.5.2 ENVELOPE fields from a header block (raw values; see envelopeImap for defaults). */
export function buildEnvelope(buf: Buffer, fields: HeaderField[]): Envelope {
  const get = (name: string): string | null => {
    const v = fieldString(buf, fields, name);
    return v === null || v === "" ? null : v;
  };
  return {
    date: get("date"),
    subject: get("subject"),
    from: parseAddressList(get("from")),
    sender: parseAddressList(get("sender")),
    replyTo: parseAddressList(get("reply-to")),
    to: parseAddressList(get("to")),
    cc: parseAddressList(get("cc")),
    bcc: parseAddressList(get("bcc")),
    inReplyTo: get("in-reply-to"),
    messageId: get("message-id"),
  };
}

/** RFC 2045 §5.1 Content-Type; absent or invalid → default (RFC 2045 §5.2, RFC 2046 §5.1.5). */
function contentTypeOf(
  buf: Buffer,
  fields: HeaderField[],
  digestChild: boolean,
): { ct: ContentType; dflt: boolean } {
  const dfltCt = digestChild ? DEFAULT_MESSAGE : DEFAULT_TEXT;
  const f = findField(fields, "content-type");
  if (!f) return { ct: cloneCt(dfltCt), dflt: true };
  const sv = parseStructured(fieldValue(buf, f));
  const m = /^([^\s/]+)\s*\/\s*([^\s/;]+)$/.exec(sv.value);
  if (!m) {
    // syntactically invalid: default, but keep a charset the sender gave
    const ct = cloneCt(dfltCt);
    const cs = param(sv.params, "charset");
    if (cs !== undefined && ct.type === "text") ct.params = [["charset", cs]];
    return { ct, dflt: true };
  }
  return { ct: { type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), params: sv.params }, dflt: false };
}

function parseEntity(
  ctx: Ctx,
  start: number,
  end: number,
  depth: number,
  digestChild: boolean,
): { part: MimePart; fields: HeaderField[] } {
  const { buf } = ctx;
  ctx.parts++;
  const hb = parseHeaderBlock(buf, start, end);
  const fields = hb.fields;
  const bodyStart = hb.bodyStart;
  let { ct, dflt } = contentTypeOf(buf, fields, digestChild);

  const enc = (fieldString(buf, fields, "content-transfer-encoding") ?? "").toLowerCase();
  const encoding = enc === "" ? "7bit" : (enc.split(/[\s;(]/)[0] ?? enc);

  let disposition: MimePart["disposition"] = null;
  const dispRaw = fieldString(buf, fields, "content-disposition");
  if (dispRaw !== null && dispRaw !== "") {
    const sv = parseStructured(dispRaw);
    if (sv.value !== "" || sv.params.length > 0)
      disposition = { type: sv.value.toLowerCase(), params: sv.params };
  }
  const langRaw = fieldString(buf, fields, "content-language");
  const language =
    langRaw === null
      ? null
      : withoutComments(langRaw)
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "");
  const loc = fieldString(buf, fields, "content-location");

  const isMultipart = ct.type === "multipart";
  const isMessage = ct.type === "message" && (ct.subtype === "rfc822" || ct.subtype === "global");
  if ((isMultipart || isMessage) && (depth >= MAX_DEPTH || ctx.parts >= MAX_PARTS)) {
    // too deep / too many parts: opaque text (keeps the index bounded)
    ct = { type: "text", subtype: "plain", params: ct.params.filter(([k]) => k === "charset") };
    dflt = false;
  }

  const part: MimePart = {
    headerStart: start,
    bodyStart,
    bodyEnd: end,
    contentType: ct,
    defaultType: dflt,
    disposition,
    encoding,
    id: emptyToNull(fieldString(buf, fields, "content-id")),
    description: emptyToNull(fieldString(buf, fields, "content-description")),
    md5: emptyToNull(fieldString(buf, fields, "content-md5")),
    language: language && language.length > 0 ? language : null,
    location: emptyToNull(loc === null ? null : loc.replace(/\s+/g, "")),
    size: end - bodyStart,
    lines: 0,
  };

  if (ct.type === "multipart") {
    part.children = parseMultipart(ctx, part, depth, ct.subtype === "digest");
  } else if (ct.type === "message" && (ct.subtype === "rfc822" || ct.subtype === "global")) {
    // RFC 2046 §5.2.1: the body is a complete message
    const inner = parseEntity(ctx, bodyStart, end, depth + 1, false);
    part.message = { envelope: buildEnvelope(buf, inner.fields), root: inner.part };
    part.lines = countLines(buf, bodyStart, end);
  } else if (ct.type === "text") {
    part.lines = countLines(buf, bodyStart, end);
  }
  return { part, fields };
}

/**
 * Removes "(...)" comments (up to the first ")"), as `replace(/\([^)]*\)/g, "")` would — but in
 * linear time: that RegExp rescans to the end from every "(" when no ")" follows (issue 9).
 */
export function withoutComments(s: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const open = s.indexOf("(", i);
    const close = open < 0 ? -1 : s.indexOf(")", open + 1);
    if (close < 0) return out + s.slice(i);
    out += s.slice(i, open);
    i = close + 1;
  }
}

/** trailing spaces and tabs removed; `/[ \t]+$/` is quadratic on a long inner run of blanks */
export function trimEndBlanks(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return s.slice(0, end);
}

function emptyToNull(s: string | null): string | null {
  return s === null || s === "" ? null : s;
}

/**
 * RFC 2046 §5.1.1: split a multipart body at its delimiter lines. The CRLF before a delimiter
 * belongs to the delimiter; preamble and epilogue are skipped. Tolerated: missing close delimiter
 * (last part runs to the end), bare LF line ends, transport padding (trailing whitespace) after
 * the boundary. No delimiter at all (or no boundary parameter): one header-less part holding the
 * whole body, so the content stays reachable as BODY[1].
 */
function parseMultipart(ctx: Ctx, part: MimePart, depth: number, digest: boolean): MimePart[] {
  const { buf } = ctx;
  const bs = part.bodyStart;
  const be = part.bodyEnd;
  const boundary = trimEndBlanks(param(part.contentType.params, "boundary") ?? "");
  const ranges: Array<[number, number]> = [];
  if (boundary !== "") {
    const needle = Buffer.from("--" + boundary, "utf8");
    const view = buf.subarray(bs, be);
    let from = 0;
    let curStart = -1; // body start of the part being collected
    let guard = 0;
    while (from <= view.length && guard++ < 1_000_000) {
      const hit = view.indexOf(needle, from);
      if (hit === -1) break;
      from = hit + 1;
      // must be at the start of a line
      if (hit > 0 && view[hit - 1] !== LF) continue;
      let p = hit + needle.length;
      let closing = false;
      if (view[p] === 45 && view[p + 1] === 45) {
        closing = true;
        p += 2;
      }
      // transport-padding then line end (RFC 2046 §5.1.1); a closing delimiter may carry junk
      let q = p;
      while (q < view.length && (view[q] === 32 || view[q] === 9)) q++;
      let lineEnd: number;
      if (q >= view.length) lineEnd = view.length;
      else if (view[q] === LF) lineEnd = q + 1;
      else if (view[q] === 13 && view[q + 1] === LF) lineEnd = q + 2;
      else if (view[q] === 13 && q + 1 >= view.length) lineEnd = view.length;
      else if (closing) {
        const lf = view.indexOf(LF, q);
        lineEnd = lf === -1 ? view.length : lf + 1;
      } else continue; // "--boundaryXYZ": a different (longer) boundary, not ours
      // the line break before the delimiter belongs to it
      let delimStart = hit;
      if (hit > 0) {
        delimStart = hit - 1;
        if (delimStart > 0 && view[delimStart - 1] === 13) delimStart--;
      }
      if (curStart !== -1) ranges.push([curStart, Math.max(curStart, delimStart)]);
      if (closing) {
        curStart = -1;
        break;
      }
      curStart = lineEnd;
      from = Math.max(from, lineEnd);
      if (ranges.length >= MAX_PARTS) break;
    }
    if (curStart !== -1) ranges.push([curStart, view.length]); // missing close delimiter
  }
  if (ranges.length === 0) {
    // no usable delimiter: the whole body as one header-less part (RFC 9051 needs >= 1 part)
    ctx.parts++;
    return [opaquePart(buf, bs, be)];
  }
  const children: MimePart[] = [];
  for (const [s, e] of ranges) {
    if (ctx.parts >= MAX_PARTS) break;
    children.push(parseEntity(ctx, bs + s, bs + e, depth + 1, digest).part);
  }
  return children;
}
