/**
 * Message preview text (RFC 8970 §3): at most 256 characters of the message's first text part —
 * the first text/plain leaf that is not an attachment, else the first such text/html leaf with
 * its tags stripped — transfer- and charset-decoded, control characters dropped, whitespace runs
 * collapsed to one space, trimmed. "" when the message has no such part (RFC 8970 §3.2: an empty
 * preview is valid). Computed once in parseMessage and cached in the ParsedMessage JSON, so FETCH
 * PREVIEW never reparses. Encapsulated messages (message/rfc822) are not looked into.
 */
import { asBuffer, decodeBase64, decodeCharset, decodeQuotedPrintable } from "./bytes.ts";
import { param } from "./header.ts";
import { htmlToText } from "./text.ts";
import type { MimePart } from "./types.ts";

/** RFC 8970 §3.1: the preview is at most 256 characters */
export const PREVIEW_MAX_CHARS = 256;

/** body octets decoded at most (an HTML part may open with a long head before any text) */
const MAX_DECODE = 64 * 1024;

function isAttachment(p: MimePart): boolean {
  return p.disposition?.type === "attachment";
}

/** first non-attachment text/<subtype> leaf in depth-first order, not inside message/rfc822 */
function firstText(root: MimePart, subtype: string): MimePart | null {
  const stack: MimePart[] = [root];
  let steps = 0;
  while (stack.length > 0 && steps++ < 100_000) {
    const p = stack.pop()!;
    if (p.children) {
      for (let i = p.children.length - 1; i >= 0; i--) stack.push(p.children[i]!);
      continue;
    }
    if (p.contentType.type === "text" && p.contentType.subtype === subtype && !isAttachment(p)) return p;
  }
  return null;
}

/** whitespace and control characters collapsed, at most PREVIEW_MAX_CHARS code points */
export function previewOf(text: string): string {
  let out = "";
  let count = 0;
  let space = false;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const ws = c <= 0x20 || c === 0x7f || (c >= 0x80 && c <= 0xa0) || /\s/u.test(ch);
    if (ws) {
      space = out.length > 0;
      continue;
    }
    if (c === 0xfeff || c === 0xfffd) continue; // BOM, undecodable octets
    if (space) {
      if (count + 2 > PREVIEW_MAX_CHARS) break;
      out += " ";
      count++;
      space = false;
    }
    if (count + 1 > PREVIEW_MAX_CHARS) break;
    out += ch;
    count++;
  }
  return out;
}

export function computePreview(raw: Uint8Array, root: MimePart): string {
  try {
    const part = firstText(root, "plain") ?? firstText(root, "html");
    if (!part) return "";
    const buf = asBuffer(raw);
    const body = buf.subarray(part.bodyStart, Math.min(part.bodyEnd, part.bodyStart + MAX_DECODE));
    const enc = part.encoding.toLowerCase();
    const decoded =
      enc === "base64" ? decodeBase64(body) : enc === "quoted-printable" ? decodeQuotedPrintable(body) : body;
    let text = decodeCharset(decoded, param(part.contentType.params, "charset"));
    if (part.contentType.subtype === "html") text = htmlToText(text);
    return previewOf(text);
  } catch {
    return ""; // parseMessage never throws
  }
}
