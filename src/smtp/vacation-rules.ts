/**
 * Vacation auto-replies, the pure part: whether a delivered message gets an answer (RFC 3834 §2,
 * RFC 8621 §8) and the answer's octets (RFC 3834 §3). The engine around it (store, queue) is
 * vacation.ts.
 *
 * No reply to: a disabled response or one outside [fromDate, toDate); the null reverse-path; a
 * sender that is one of the account's own addresses or a MAILER-DAEMON / owner-* / *-request
 * address; `Auto-Submitted` other than "no"; mailing lists (any `List-*` field, RFC 2369/2919)
 * and `Precedence: bulk|list|junk`; a message none of whose To/Cc/Bcc (or Resent-*) addresses is
 * one of the account's.
 */
import { randomBytes } from "node:crypto";
import { parseAddressList } from "../mime/address.ts";
import { fieldValue, type HeaderField, parseHeaderBlock } from "../mime/header.ts";
import { htmlToText } from "../mime/text.ts";
import type { VacationResponse } from "../store/types.ts";
import { rfc5322Date } from "./data.ts";

export interface VacationCheck {
  settings: VacationResponse;
  /** the envelope sender of the message delivered ("" = the null reverse-path) */
  mailFrom: string;
  raw: Uint8Array;
  /** the account's own address and its aliases */
  ownAddresses: readonly string[];
  now: Date;
}

/** What the reply needs from the original header (raw, unfolded values). */
export interface OriginalFields {
  subject: string | null;
  messageId: string | null;
  references: string | null;
}

export type VacationVerdict =
  | { reply: true; original: OriginalFields }
  | {
      reply: false;
      reason:
        | "disabled"
        | "outside dates"
        | "null sender"
        | "own address"
        | "system sender"
        | "auto-submitted"
        | "mailing list"
        | "bulk"
        | "not addressed";
    };

/** RFC 3834 §2: recipient fields in which the account must appear */
const RECIPIENT_FIELDS = new Set(["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"]);

function lower(s: string): string {
  return s.toLowerCase();
}

/** RFC 3834 §2: no replies to addresses that are never a person */
function systemSender(address: string): boolean {
  const at = address.lastIndexOf("@");
  const local = lower(at >= 0 ? address.slice(0, at) : address);
  return (
    local === "mailer-daemon" ||
    local.startsWith("owner-") ||
    local.endsWith("-request") ||
    local.endsWith("-owner")
  );
}

/** the value of a field up to its first ";" or comment, lower case (Auto-Submitted, Precedence) */
function keyword(v: string): string {
  let end = v.length;
  const semi = v.indexOf(";");
  if (semi >= 0) end = semi;
  const paren = v.indexOf("(");
  if (paren >= 0 && paren < end) end = paren;
  return lower(v.slice(0, end).trim());
}

export function vacationVerdict(c: VacationCheck): VacationVerdict {
  const s = c.settings;
  if (!s.isEnabled) return { reply: false, reason: "disabled" };
  // RFC 8621 §8: messages arriving on or after fromDate and before toDate
  const t = c.now.getTime();
  if ((s.fromDate && t < s.fromDate.getTime()) || (s.toDate && t >= s.toDate.getTime()))
    return { reply: false, reason: "outside dates" };
  // RFC 3834 §2: never to the null reverse-path (a bounce or another auto-reply)
  const sender = c.mailFrom.trim();
  if (sender === "" || sender === "<>") return { reply: false, reason: "null sender" };
  const own = new Set(c.ownAddresses.map(lower));
  if (own.has(lower(sender))) return { reply: false, reason: "own address" };
  if (systemSender(sender)) return { reply: false, reason: "system sender" };

  const buf = Buffer.from(c.raw.buffer, c.raw.byteOffset, c.raw.byteLength);
  const { fields } = parseHeaderBlock(buf, 0, buf.length);
  const original: OriginalFields = { subject: null, messageId: null, references: null };
  let addressed = false;
  for (const f of fields) {
    const name = f.name;
    if (name === "auto-submitted") {
      // RFC 3834 §2 / §5: anything but "no" was sent by a machine
      if (keyword(value(buf, f)) !== "no") return { reply: false, reason: "auto-submitted" };
    } else if (name.startsWith("list-")) {
      // RFC 2369 / RFC 2919 list fields: the message came through a mailing list
      return { reply: false, reason: "mailing list" };
    } else if (name === "precedence") {
      const p = keyword(value(buf, f));
      if (p === "bulk" || p === "list" || p === "junk") return { reply: false, reason: "bulk" };
    } else if (RECIPIENT_FIELDS.has(name)) {
      if (!addressed) addressed = namesOwn(value(buf, f), own);
    } else if (name === "subject" && original.subject === null) {
      original.subject = value(buf, f);
    } else if (name === "message-id" && original.messageId === null) {
      original.messageId = value(buf, f);
    } else if (name === "references" && original.references === null) {
      original.references = value(buf, f);
    }
  }
  // RFC 3834 §2: only when one of the recipient's addresses is in a recipient field
  if (!addressed) return { reply: false, reason: "not addressed" };
  return { reply: true, original };
}

/** a field's unfolded value, bounded (a huge header must not make huge strings) */
function value(buf: Buffer, f: HeaderField): string {
  const end = Math.min(f.end, f.valueStart + 16 * 1024);
  return fieldValue(buf, { ...f, end });
}

function namesOwn(v: string, own: Set<string>): boolean {
  const list = parseAddressList(v) ?? [];
  for (const a of list) {
    if (a.host === null || a.mailbox === null) continue;
    if (own.has(lower(`${a.mailbox}@${a.host}`))) return true;
  }
  return false;
}

// --- the reply (RFC 3834 §3) -------------------------------------------------------------------

export interface ReplyInput {
  /** the account's address: the reply's From (RFC 3834 §3.1.2) */
  from: string;
  /** the original's envelope sender: the reply's To (RFC 3834 §3.1.1, §3.3) */
  to: string;
  settings: VacationResponse;
  original: OriginalFields;
  now: Date;
}

/** when neither textBody nor htmlBody is set */
const DEFAULT_TEXT = "I am away and will read your message when I am back.";
const MSGID = /^<[\x21-\x3d\x3f-\x7e]{1,250}>$/;
/** bound on the References field of the reply; older ids are dropped first */
const MAX_REFERENCES = 900;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e) return false;
  return true;
}

/** RFC 2047 B encoded words (UTF-8), split on characters so that each word stays ≤ 75 octets. */
export function encodeWords(s: string): string {
  const words: string[] = [];
  let chunk = "";
  for (const ch of s) {
    if (Buffer.byteLength(chunk + ch, "utf8") > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, "utf8").toString("base64")}?=`).join("\r\n ");
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, " ").trim();
}

/** RFC 3834 §3.1.5: "Auto:" and the original subject (encoded words in it stay as they are) */
function replySubject(i: ReplyInput): string {
  const s =
    i.settings.subject !== null ? oneLine(i.settings.subject) : `Auto: ${oneLine(i.original.subject ?? "")}`;
  return isAscii(s) ? s : encodeWords(s);
}

function crlf(s: string): string {
  return s.replace(/\r?\n|\r/g, "\r\n");
}

/** a text part's headers and body: 7bit when it is short-lined ASCII, else base64 */
function part(type: "plain" | "html", text: string): string {
  const body = crlf(text);
  const plain = isAscii(body) && body.split("\r\n").every((l) => l.length <= 998);
  const encoded = plain
    ? body
    : (Buffer.from(body, "utf8")
        .toString("base64")
        .match(/.{1,76}/g)
        ?.join("\r\n") ?? "");
  return (
    `Content-Type: text/${type}; charset=utf-8\r\n` +
    `Content-Transfer-Encoding: ${plain ? "7bit" : "base64"}\r\n\r\n${encoded}\r\n`
  );
}

export function buildVacationReply(i: ReplyInput): Uint8Array {
  const domain = i.from.slice(i.from.lastIndexOf("@") + 1) || "localhost";
  let h =
    `From: <${i.from}>\r\n` +
    `To: <${oneLine(i.to)}>\r\n` +
    `Subject: ${replySubject(i)}\r\n` +
    `Date: ${rfc5322Date(i.now)}\r\n` +
    `Message-ID: <${i.now.getTime().toString(36)}.${randomBytes(9).toString("base64url")}.vacation@${domain}>\r\n`;
  // RFC 3834 §3.1.5: In-Reply-To and References from the original, as RFC 5322 §3.6.4 says
  const id = i.original.messageId?.trim() ?? "";
  if (MSGID.test(id)) {
    const refs = (i.original.references ?? "").split(/\s+/).filter((r) => MSGID.test(r));
    refs.push(id);
    while (refs.length > 1 && refs.join(" ").length > MAX_REFERENCES) refs.shift();
    h += `In-Reply-To: ${id}\r\nReferences: ${refs.join("\r\n ")}\r\n`;
  }
  // RFC 3834 §5: marks the reply as automatic, so other responders do not answer it
  h += "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n";
  const { htmlBody } = i.settings;
  // RFC 8621 §8: without a textBody the text part is made from the htmlBody
  const text = i.settings.textBody ?? (htmlBody !== null ? htmlToText(htmlBody).trim() : DEFAULT_TEXT);
  let body: string;
  if (htmlBody !== null) {
    const boundary = `=_pk-${randomBytes(12).toString("hex")}`;
    body =
      `Content-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n` +
      `--${boundary}\r\n${part("plain", text)}--${boundary}\r\n${part("html", htmlBody)}--${boundary}--\r\n`;
  } else {
    body = part("plain", text);
  }
  return Buffer.from(h + body, "utf8");
}

/**
 * The envelope sender an MTA recorded in the message's first Return-Path field (RFC 5321 §4.4),
 * "" for `<>`, null when there is none (`postkontor deliver` without --sender).
 */
export function returnPath(raw: Uint8Array): string | null {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const { fields } = parseHeaderBlock(buf, 0, buf.length);
  for (const f of fields) {
    if (f.name !== "return-path") continue;
    const v = value(buf, f).trim();
    const inner = v.startsWith("<") && v.endsWith(">") ? v.slice(1, -1).trim() : v;
    return inner.includes(" ") ? null : inner;
  }
  return null;
}
