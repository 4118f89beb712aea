/**
 * The parsed forms of an Email (RFC 8621 §4.1.2 header forms, §4.1.4 body parts), from the MIME
 * part index of src/mime over the whole message as stored (delivery-header prefix + blob).
 * partIds are the IMAP section numbers (RFC 9051 §6.4.5: "1", "1.2", …), so BODY[1.2] and the
 * JMAP part name the same octets. A message/rfc822 part is a leaf here (RFC 8621 §4.1.4).
 */
import { parseAddressList } from "../../mime/address.ts";
import { decodeCharset, decodeWords, headerText } from "../../mime/bytes.ts";
import { type HeaderField, parseHeaderBlock } from "../../mime/header.ts";
import { getBinary } from "../../mime/section.ts";
import { parseDate } from "../../mime/text.ts";
import type { MimePart, ParsedMessage } from "../../mime/types.ts";
import type { Json, JsonObject } from "../core/types.ts";

/** the raw value of a field: the octets after the colon up to the line end, CRLF removed at the end */
function rawValue(buf: Buffer, f: HeaderField): string {
  return headerText(buf, f.valueStart, f.end).replace(/\r?\n$/, "");
}

export function headerFields(buf: Buffer, part: MimePart): HeaderField[] {
  return parseHeaderBlock(buf, part.headerStart, part.bodyStart).fields;
}

/** RFC 8621 §4.1.2.3 asText: unfolded, RFC 2047 decoded, whitespace trimmed */
function asText(raw: string): string {
  return decodeWords(raw.replace(/\r?\n(?=[ \t])/g, "").replace(/[\r\n]+/g, "")).trim();
}

function addresses(raw: string): Json {
  const list = parseAddressList(asText(raw).length === 0 ? null : raw.replace(/\r?\n/g, ""));
  if (!list) return [];
  const out: JsonObject[] = [];
  for (const a of list) {
    if (a.host === null) continue; // group markers: flattened (asGroupedAddresses keeps them)
    out.push({ name: a.name ? decodeWords(a.name) : null, email: `${a.mailbox ?? ""}@${a.host}` });
  }
  return out;
}

function groupedAddresses(raw: string): Json {
  const list = parseAddressList(raw.replace(/\r?\n/g, "")) ?? [];
  const groups: JsonObject[] = [];
  let cur: { name: string | null; addresses: JsonObject[] } = { name: null, addresses: [] };
  for (const a of list) {
    if (a.host === null && a.mailbox !== null) {
      if (cur.addresses.length > 0 || cur.name !== null) groups.push(cur as unknown as JsonObject);
      cur = { name: decodeWords(a.mailbox), addresses: [] };
    } else if (a.host === null) {
      groups.push(cur as unknown as JsonObject);
      cur = { name: null, addresses: [] };
    } else
      cur.addresses.push({
        name: a.name ? decodeWords(a.name) : null,
        email: `${a.mailbox ?? ""}@${a.host}`,
      });
  }
  if (cur.addresses.length > 0 || cur.name !== null) groups.push(cur as unknown as JsonObject);
  return groups;
}

/** RFC 8621 §4.1.2.5 asMessageIds: msg-ids without angle brackets; null when none parse */
function messageIds(raw: string): Json {
  const out: string[] = [];
  let i = 0;
  const s = raw;
  while (i < s.length) {
    const lt = s.indexOf("<", i);
    if (lt < 0) break;
    const gt = s.indexOf(">", lt);
    if (gt < 0) break;
    const id = s.slice(lt + 1, gt).replace(/\s+/g, "");
    if (id.includes("@")) out.push(id);
    i = gt + 1;
  }
  return out.length ? out : null;
}

function date(raw: string): Json {
  const t = parseDate(asText(raw));
  return t === null ? null : new Date(t).toISOString().replace(/\.000Z$/, "Z");
}

function urls(raw: string): Json {
  const out: string[] = [];
  for (const m of raw.matchAll(/<([^<>]*)>/g)) out.push(m[1]!.replace(/\s+/g, ""));
  return out.length ? out : null;
}

export type HeaderForm = "Raw" | "Text" | "Addresses" | "GroupedAddresses" | "MessageIds" | "Date" | "URLs";
const FORMS = new Set(["Raw", "Text", "Addresses", "GroupedAddresses", "MessageIds", "Date", "URLs"]);

/** "header:Name[:asForm][:all]" → its parts; null = malformed */
export function parseHeaderProperty(p: string): { name: string; form: HeaderForm; all: boolean } | null {
  const parts = p.split(":");
  if (parts[0] !== "header" || parts.length < 2 || parts.length > 4 || parts[1] === "") return null;
  let form: HeaderForm = "Raw";
  let all = false;
  for (const x of parts.slice(2)) {
    if (x === "all" && !all) all = true;
    else if (x.startsWith("as") && FORMS.has(x.slice(2)) && form === "Raw" && !all)
      form = x.slice(2) as HeaderForm;
    else return null;
  }
  return { name: parts[1]!, form, all };
}

export function formValue(raw: string, form: HeaderForm): Json {
  switch (form) {
    case "Raw":
      return raw;
    case "Text":
      return asText(raw);
    case "Addresses":
      return addresses(raw);
    case "GroupedAddresses":
      return groupedAddresses(raw);
    case "MessageIds":
      return messageIds(raw);
    case "Date":
      return date(raw);
    case "URLs":
      return urls(raw);
  }
}

/** header:Name:asForm[:all] of a part (last instance unless all; null / [] when absent) */
export function headerProperty(
  buf: Buffer,
  part: MimePart,
  spec: { name: string; form: HeaderForm; all: boolean },
): Json {
  const want = spec.name.toLowerCase();
  const vals = headerFields(buf, part)
    .filter((f) => f.name === want)
    .map((f) => formValue(rawValue(buf, f), spec.form));
  if (spec.all) return vals;
  return vals.length ? vals[vals.length - 1]! : null;
}

export function allHeaders(buf: Buffer, part: MimePart): JsonObject[] {
  return headerFields(buf, part).map((f) => ({
    name: headerText(buf, f.start, f.valueStart - 1).trimEnd(),
    value: rawValue(buf, f),
  }));
}

// --- body parts (RFC 8621 §4.1.4) ----------------------------------------------------------

export interface PartRef {
  part: MimePart;
  partId: string | null;
  path: number[];
}

export function partParam(part: MimePart, name: string): string | null {
  for (const [k, v] of part.contentType.params) if (k === name) return v;
  return null;
}

function dispositionName(part: MimePart): string | null {
  for (const [k, v] of part.disposition?.params ?? []) if (k === "filename") return v;
  return partParam(part, "name");
}

/** an EmailBodyPart (RFC 8621 §4.1.4) with the asked properties; size is the decoded size */
export function bodyPart(
  buf: Buffer,
  parsed: ParsedMessage,
  ref: PartRef,
  blobIdOf: (path: number[]) => string,
  props: readonly string[],
): JsonObject {
  const p = ref.part;
  const type = `${p.contentType.type}/${p.contentType.subtype}`;
  const multipart = !!p.children;
  const all: Record<string, Json> = {
    partId: multipart ? null : ref.partId,
    blobId: multipart ? null : blobIdOf(ref.path),
    size: multipart ? 0 : decodedSize(buf, parsed, ref),
    headers: allHeaders(buf, p),
    name: dispositionName(p),
    type,
    charset:
      p.contentType.type === "text" ? (partParam(p, "charset") ?? "us-ascii") : partParam(p, "charset"),
    disposition: p.disposition?.type ?? null,
    cid: p.id ? p.id.replace(/^<|>$/g, "") : null,
    language: p.language,
    location: p.location,
  };
  const out: JsonObject = {};
  for (const k of props) {
    if (k === "subParts") continue;
    const spec = k.startsWith("header:") ? parseHeaderProperty(k) : null;
    // RFC 8621 §4.1.4: header:… body properties are the part's own header fields
    out[k] = spec ? headerProperty(buf, p, spec) : (all[k] ?? null);
  }
  if (multipart && props.includes("subParts")) {
    out.subParts = p.children!.map((c, i) => bodyPart(buf, parsed, childRef(ref, c, i), blobIdOf, props));
  }
  return out;
}

function childRef(parent: PartRef, c: MimePart, i: number): PartRef {
  const path = [...parent.path, i + 1];
  return { part: c, partId: path.join("."), path };
}

/** the whole message's tree: a non-multipart root is IMAP part "1" */
export function rootRef(parsed: ParsedMessage): PartRef {
  return parsed.root.children
    ? { part: parsed.root, partId: null, path: [] }
    : { part: parsed.root, partId: "1", path: [1] };
}

export function childrenOf(ref: PartRef): PartRef[] {
  return (ref.part.children ?? []).map((c, i) => childRef(ref, c, i));
}

function decodedSize(buf: Buffer, parsed: ParsedMessage, ref: PartRef): number {
  if (ref.path.length === 0) return ref.part.size;
  const b = getBinary(buf, parsed, ref.path);
  return b === null || b === "unknown-cte" ? ref.part.size : b.length;
}

/** decoded text of a part (transfer encoding and charset) */
export function partText(
  buf: Buffer,
  parsed: ParsedMessage,
  ref: PartRef,
): { text: string; problem: boolean } {
  const b = getBinary(buf, parsed, ref.path);
  if (b === null) return { text: "", problem: true };
  if (b === "unknown-cte") return { text: "", problem: true };
  return { text: decodeCharset(b, partParam(ref.part, "charset")), problem: false };
}

/** RFC 8621 §4.1.4 parseStructure (the RFC's algorithm): textBody, htmlBody, attachments */
export function flattenBody(root: PartRef): { text: PartRef[]; html: PartRef[]; att: PartRef[] } {
  const text: PartRef[] = [];
  const html: PartRef[] = [];
  const att: PartRef[] = [];
  const inlineMedia = (t: string) => t === "image" || t === "audio" || t === "video";
  const walk = (
    parts: PartRef[],
    multipartType: string,
    inAlternative: boolean,
    htmlIn: PartRef[] | null,
    textIn: PartRef[] | null,
  ) => {
    let htmlBody = htmlIn;
    let textBody = textIn;
    const textLength = textBody ? textBody.length : -1;
    const htmlLength = htmlBody ? htmlBody.length : -1;
    for (let i = 0; i < parts.length; i++) {
      const ref = parts[i]!;
      const p = ref.part;
      const type = `${p.contentType.type}/${p.contentType.subtype}`;
      const media = inlineMedia(p.contentType.type);
      if (p.children) {
        const sub = p.contentType.subtype;
        walk(childrenOf(ref), sub, inAlternative || sub === "alternative", htmlBody, textBody);
        continue;
      }
      const isInline =
        p.disposition?.type !== "attachment" &&
        (type === "text/plain" || type === "text/html" || media) &&
        (i === 0 || (multipartType !== "related" && (media || dispositionName(p) === null)));
      if (!isInline) {
        att.push(ref);
        continue;
      }
      if (multipartType === "alternative") {
        if (type === "text/plain") textBody?.push(ref);
        else if (type === "text/html") htmlBody?.push(ref);
        else att.push(ref);
        continue;
      }
      if (inAlternative) {
        if (type === "text/plain") htmlBody = null;
        if (type === "text/html") textBody = null;
      }
      textBody?.push(ref);
      htmlBody?.push(ref);
      if ((!textBody || !htmlBody) && media) att.push(ref);
    }
    if (multipartType === "alternative" && textBody && htmlBody) {
      if (textLength === textBody.length && htmlLength !== htmlBody.length)
        textBody.push(...htmlBody.slice(htmlLength));
      if (htmlLength === htmlBody.length && textLength !== textBody.length)
        htmlBody.push(...textBody.slice(textLength));
    }
  };
  walk([root], "mixed", false, html, text);
  return { text, html, att };
}
