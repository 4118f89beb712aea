/**
 * IMAP serialisation of ENVELOPE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) and BODY / BODYSTRUCTURE
 * (RFC 9051 §7.5.2 body ABNF in §9). Output is bytes, ready to splice into a FETCH response.
 */
import type { Address, Envelope, MimePart, ParsedMessage } from "../../mime/types.ts";
import { quotable, quoteText } from "./response.ts";

class Out {
  private chunks: Buffer[] = [];
  private pending = "";
  ascii(s: string): void {
    this.pending += s;
  }
  bytes(b: Buffer): void {
    if (this.pending) {
      this.chunks.push(Buffer.from(this.pending, "latin1"));
      this.pending = "";
    }
    this.chunks.push(b);
  }
  done(): Buffer {
    if (this.pending) this.chunks.push(Buffer.from(this.pending, "latin1"));
    this.pending = "";
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}

/**
 * string = quoted / literal (RFC 9051 §4.3). Quoted unless the text holds CR or LF, or — when
 * the session has not enabled UTF-8 (RFC 9051 §6.3.1 / RFC 6855) — any 8-bit character.
 */
function writeString(out: Out, str: string, utf8: boolean): void {
  // RFC 9051 §9: neither a quoted string nor a literal may hold NUL (a header that came with one
  // by SMTP or import): left out
  const s = str.includes("\0") ? str.replaceAll("\0", "") : str;
  if (!quotable(s, utf8)) {
    const b = Buffer.from(s, "utf8");
    out.ascii(`{${b.length}}\r\n`);
    out.bytes(b);
    return;
  }
  const q = quoteText(s);
  if (isAscii(q)) out.ascii(q);
  else out.bytes(Buffer.from(q, "utf8"));
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

function writeNString(out: Out, s: string | null | undefined, utf8: boolean): void {
  if (s === null || s === undefined) out.ascii("NIL");
  else writeString(out, s, utf8);
}

// address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
function writeAddresses(out: Out, list: Address[] | null, utf8: boolean): void {
  if (list === null || list.length === 0) {
    out.ascii("NIL");
    return;
  }
  out.ascii("(");
  for (const a of list) {
    out.ascii("(");
    writeNString(out, a.name, utf8);
    // addr-adl: the obsolete source route (RFC 3501 §7.4.2), NIL when there is none
    out.ascii(" ");
    writeNString(out, a.adl, utf8);
    out.ascii(" ");
    writeNString(out, a.mailbox, utf8);
    out.ascii(" ");
    writeNString(out, a.host, utf8);
    out.ascii(")");
  }
  out.ascii(")");
}

function writeEnvelope(out: Out, env: Envelope, utf8: boolean): void {
  // RFC 9051 §7.5.2: absent/empty Sender and Reply-To are set to the From value.
  const from = env.from;
  const sender = env.sender && env.sender.length > 0 ? env.sender : from;
  const replyTo = env.replyTo && env.replyTo.length > 0 ? env.replyTo : from;
  out.ascii("(");
  writeNString(out, env.date, utf8);
  out.ascii(" ");
  writeNString(out, env.subject, utf8);
  for (const l of [from, sender, replyTo, env.to, env.cc, env.bcc]) {
    out.ascii(" ");
    writeAddresses(out, l, utf8);
  }
  out.ascii(" ");
  writeNString(out, env.inReplyTo, utf8);
  out.ascii(" ");
  writeNString(out, env.messageId, utf8);
  out.ascii(")");
}

/**
 * Formatted ENVELOPE / BODY / BODYSTRUCTURE by parsed message: the store keeps parsed messages in
 * a per-process cache (one object per message content), so a FETCH of the same messages again
 * (`FETCH 1:1000 ENVELOPE` on every client sync) splices the bytes made the first time. Slots:
 * [envelope, envelope utf8, body, body utf8, bodystructure, bodystructure utf8]. Never mutated.
 */
const formatted = new WeakMap<ParsedMessage, Array<Buffer | undefined>>();

function memo(p: ParsedMessage, slot: number, make: () => Buffer): Buffer {
  let slots = formatted.get(p);
  if (!slots) {
    slots = [];
    formatted.set(p, slots);
  }
  let b = slots[slot];
  if (b === undefined) {
    b = make();
    slots[slot] = b;
  }
  return b;
}

/** envelopeImap of a parsed message, made once per parsed object and session charset */
export function envelopeOf(p: ParsedMessage, utf8: boolean): Buffer {
  return memo(p, utf8 ? 1 : 0, () => envelopeImap(p.envelope, utf8));
}

/** bodyStructureImap, made once per parsed object, form and session charset */
export function bodyStructureOf(p: ParsedMessage, extended: boolean, utf8: boolean): Buffer {
  return memo(p, 2 + (extended ? 2 : 0) + (utf8 ? 1 : 0), () => bodyStructureImap(p, extended, utf8));
}

export function envelopeImap(env: Envelope, utf8: boolean): Buffer {
  const out = new Out();
  writeEnvelope(out, env, utf8);
  return out.done();
}

function isAsciiStr(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/**
 * body-fld-param = "(" string SP string *(SP string SP string) ")" / nil. Names upper-case.
 * Without UTF-8, a non-ASCII value (decoded from RFC 2231) is sent back in RFC 2231 form
 * (NAME* "utf-8''%XX..") so the response stays 7-bit and the client can still decode it.
 */
function writeParams(out: Out, params: Array<[string, string]>, utf8: boolean): void {
  if (params.length === 0) {
    out.ascii("NIL");
    return;
  }
  out.ascii("(");
  let first = true;
  for (const [k, v] of params) {
    if (!first) out.ascii(" ");
    first = false;
    if (!utf8 && !isAsciiStr(v)) {
      writeString(out, k.toUpperCase() + "*", utf8);
      out.ascii(" ");
      const enc = encodeURIComponent(v).replace(
        /['()*!]/g,
        (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
      );
      writeString(out, "utf-8''" + enc, utf8);
    } else {
      writeString(out, k.toUpperCase(), utf8);
      out.ascii(" ");
      writeString(out, v, utf8);
    }
  }
  out.ascii(")");
}

function writeDisposition(out: Out, d: MimePart["disposition"], utf8: boolean): void {
  if (!d) {
    out.ascii("NIL");
    return;
  }
  out.ascii("(");
  writeString(out, d.type.toUpperCase(), utf8);
  out.ascii(" ");
  writeParams(out, d.params, utf8);
  out.ascii(")");
}

function writeLanguage(out: Out, l: string[] | null, utf8: boolean): void {
  if (!l || l.length === 0) {
    out.ascii("NIL");
    return;
  }
  out.ascii("(");
  l.forEach((s, i) => {
    if (i > 0) out.ascii(" ");
    writeString(out, s, utf8);
  });
  out.ascii(")");
}

/** body-fld-dsp SP body-fld-lang SP body-fld-loc: the extension data both part kinds end with */
function writeDspLangLoc(out: Out, p: MimePart, utf8: boolean): void {
  writeDisposition(out, p.disposition, utf8);
  out.ascii(" ");
  writeLanguage(out, p.language, utf8);
  out.ascii(" ");
  writeNString(out, p.location, utf8);
}

function writeBody(out: Out, p: MimePart, ext: boolean, utf8: boolean, depth: number): void {
  out.ascii("(");
  if (p.children && p.children.length > 0) {
    // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    for (const c of p.children) writeBody(out, c, ext, utf8, depth + 1);
    out.ascii(" ");
    writeString(out, p.contentType.subtype.toUpperCase(), utf8);
    if (ext) {
      out.ascii(" ");
      writeParams(out, p.contentType.params, utf8);
      out.ascii(" ");
      writeDspLangLoc(out, p, utf8);
    }
    out.ascii(")");
    return;
  }
  // body-type-1part: media type, body-fields
  const type = p.children ? "TEXT" : p.contentType.type.toUpperCase();
  const subtype = p.children ? "PLAIN" : p.contentType.subtype.toUpperCase();
  writeString(out, type, utf8);
  out.ascii(" ");
  writeString(out, subtype, utf8);
  out.ascii(" ");
  // RFC 2045 §5.2: a text part without a charset parameter is us-ascii; say so, as clients
  // (and other servers) expect a charset on every text part
  const params = p.contentType.params;
  const textNoCharset = type === "TEXT" && !params.some(([k]) => k === "charset");
  writeParams(out, textNoCharset ? [["charset", "us-ascii"], ...params] : params, utf8);
  out.ascii(" ");
  writeNString(out, p.id, utf8);
  out.ascii(" ");
  writeNString(out, p.description, utf8);
  out.ascii(" ");
  writeString(out, p.encoding.toUpperCase(), utf8);
  out.ascii(" " + p.size);
  if (p.message && depth < 200) {
    // body-type-msg: envelope SP body SP body-fld-lines
    out.ascii(" ");
    writeEnvelope(out, p.message.envelope, utf8);
    out.ascii(" ");
    writeBody(out, p.message.root, ext, utf8, depth + 1);
    out.ascii(" " + p.lines);
  } else if (type === "TEXT") {
    out.ascii(" " + p.lines); // body-type-text: body-fld-lines
  }
  if (ext) {
    // body-ext-1part = body-fld-md5 SP body-fld-dsp SP body-fld-lang SP body-fld-loc
    out.ascii(" ");
    writeNString(out, p.md5, utf8);
    out.ascii(" ");
    writeDspLangLoc(out, p, utf8);
  }
  out.ascii(")");
}

/** BODY (extended=false) or BODYSTRUCTURE (extended=true) of a parsed message. */
export function bodyStructureImap(p: ParsedMessage, extended: boolean, utf8: boolean): Buffer {
  const out = new Out();
  writeBody(out, p.root, extended, utf8, 0);
  return out.done();
}
