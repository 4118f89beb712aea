/**
 * Submission policy over the message header (RFC 6409 on port 587/465, after AUTH):
 *
 * - Originator fields (RFC 5322 §3.6, §3.6.2): exactly one From, at most one Sender; a From that
 *   lists several mailboxes needs a Sender; Sender names exactly one mailbox. EVERY mailbox of
 *   From (group members included, RFC 6854) and the Sender must be an address the authenticated
 *   user may send as — the same rule as for MAIL FROM (store.addressesOf: the account's own
 *   address and the alias sources that deliver to it).
 * - Fix-ups (RFC 6409 §8.2 / §8.3): a missing Date or Message-ID is added. The fields go at the
 *   end of the header section; every other byte stays as received.
 *
 * Header fields are found with the MIME header scanner (mime/header.ts: folding, 8-bit) and the
 * address lists parsed by mime/address.ts (comments, quoted strings, groups, obsolete routes; RFC
 * 2047 encoded words stay opaque atoms in display names, so they cannot hide an address). All
 * scans here are linear; no regular expression runs over client data.
 */
import { randomBytes } from "node:crypto";
import { domainToASCII } from "node:url";
import { parseAddressList } from "../mime/address.ts";
import { fieldValue, parseHeaderBlock } from "../mime/header.ts";
import type { Address } from "../mime/types.ts";
import { headerSectionEnd, rfc5322Date } from "./data.ts";

/** A refusal: reply code, RFC 3463 enhanced code, text. */
export interface PolicyRejection {
  code: number;
  enhanced: string;
  text: string;
}

const reject = (code: number, enhanced: string, text: string): PolicyRejection => ({ code, enhanced, text });

/** Printable, bounded copy of client text for a reply line. */
function shown(s: string, max = 100): string {
  let out = "";
  for (const ch of s) {
    if (out.length >= max) return `${out}...`;
    const c = ch.codePointAt(0)!;
    out += c < 0x20 || c === 0x7f ? "?" : ch;
  }
  return out;
}

/**
 * RFC 5322 §3.4.1: a quoted local part is the same as its unquoted form ("alice"@x = alice@x).
 * Removes the quotes and quoted-pair backslashes of quoted segments.
 */
function unquoteLocal(local: string): string {
  if (!local.includes('"')) return local;
  let out = "";
  let inQuote = false;
  for (let i = 0; i < local.length; i++) {
    const ch = local[i]!;
    if (ch === '"') inQuote = !inQuote;
    else if (ch === "\\" && inQuote && i + 1 < local.length) out += local[++i];
    else out += ch;
  }
  return out;
}

/**
 * The comparison key of an address: local part unquoted, the whole address lower-cased (store
 * addresses are compared case-insensitively), the domain as an A-label. null when there is no
 * usable domain.
 */
export function addressKey(local: string, domain: string): string | null {
  const d = domainToASCII(domain.trim().toLowerCase());
  if (!d || local === "") return null;
  return `${unquoteLocal(local)}@${d}`.toLowerCase();
}

/** The key of an "local@domain" string (the last "@" splits), or null. */
export function addressStringKey(address: string): string | null {
  const at = address.lastIndexOf("@");
  if (at <= 0) return null;
  return addressKey(address.slice(0, at), address.slice(at + 1));
}

/**
 * Unbalanced quoting in an address field value: an unterminated quoted string or comment, or
 * unbalanced angle brackets. Such a value is refused rather than guessed at, so that what we
 * check is what a reader's client will show.
 */
function structureProblem(value: string): string | null {
  let inQuote = false;
  let depth = 0;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (inQuote) {
      if (ch === "\\") i++;
      else if (ch === '"') inQuote = false;
    } else if (depth > 0) {
      if (ch === "\\") i++;
      else if (ch === "(") depth++;
      else if (ch === ")") depth--;
    } else if (ch === '"') inQuote = true;
    else if (ch === "(") depth++;
    else if (ch === ")") return "unbalanced parenthesis";
    else if (ch === "<") {
      if (angle > 0) return "nested angle bracket";
      angle++;
    } else if (ch === ">") {
      if (angle === 0) return "unbalanced angle bracket";
      angle--;
    }
  }
  if (inQuote) return "unterminated quoted string";
  if (depth > 0) return "unterminated comment";
  if (angle > 0) return "unterminated angle bracket";
  return null;
}

/** The mailboxes of an address list (group start/end markers dropped, RFC 9051 §7.5.2 form). */
function mailboxes(list: Address[] | null): Address[] {
  return (list ?? []).filter((a) => a.host !== null);
}

export interface SenderCheckInput {
  /** the message as it will be stored (CRLF line ends, checked before) */
  raw: Buffer;
  /** comparison keys (addressKey) of the addresses the user may send as */
  allowed: ReadonlySet<string>;
  /** the authenticated user, for reply texts */
  user: string;
}

export interface SenderCheckResult {
  rejection: PolicyRejection | null;
  /** the From mailboxes' keys, in order (for logs and the Message-ID domain) */
  from: string[];
  sender: string | null;
}

/** RFC 5322 §3.6 / §3.6.2 counts and the send-as rule for From and Sender. */
export function checkOriginatorFields(i: SenderCheckInput): SenderCheckResult {
  const block = parseHeaderBlock(i.raw, 0, i.raw.length);
  const fromFields = block.fields.filter((f) => f.name === "from");
  const senderFields = block.fields.filter((f) => f.name === "sender");
  const out: SenderCheckResult = { rejection: null, from: [], sender: null };
  const fail = (r: PolicyRejection): SenderCheckResult => ({ ...out, rejection: r });
  // RFC 5322 §3.6: "from" occurs exactly once, "sender" at most once
  if (fromFields.length === 0) return fail(reject(550, "5.6.0", "Message has no From header field"));
  if (fromFields.length > 1)
    return fail(
      reject(550, "5.6.0", `Message has ${fromFields.length} From header fields; exactly one is allowed`),
    );
  if (senderFields.length > 1)
    return fail(
      reject(550, "5.6.0", `Message has ${senderFields.length} Sender header fields; at most one is allowed`),
    );
  const fromValue = fieldValue(i.raw, fromFields[0]!);
  const fromProblem = structureProblem(fromValue);
  if (fromProblem) return fail(reject(550, "5.6.0", `Malformed From header field: ${fromProblem}`));
  const from = mailboxes(parseAddressList(fromValue));
  let sender: Address | null = null;
  if (senderFields.length === 1) {
    const senderValue = fieldValue(i.raw, senderFields[0]!);
    const senderProblem = structureProblem(senderValue);
    if (senderProblem) return fail(reject(550, "5.6.0", `Malformed Sender header field: ${senderProblem}`));
    const list = parseAddressList(senderValue) ?? [];
    // RFC 5322 §3.6.2: sender = "Sender:" mailbox — one mailbox, no list and no group
    if (list.length !== 1 || list[0]!.host === null)
      return fail(reject(550, "5.6.0", "Sender header field must name exactly one mailbox"));
    sender = list[0]!;
  }
  // RFC 5322 §3.6.2: several authors → the Sender field MUST occur; RFC 6854 §2.1: an empty
  // group as From (no author mailbox) likewise names nobody who sent it
  if (from.length > 1 && sender === null)
    return fail(
      reject(550, "5.6.0", "From header field lists several mailboxes; a Sender header field is required"),
    );
  if (from.length === 0 && sender === null)
    return fail(reject(550, "5.6.0", "From header field names no mailbox"));
  const check = (a: Address, field: string): PolicyRejection | null => {
    const key = addressKey(a.mailbox ?? "", a.host ?? "");
    if (key !== null && i.allowed.has(key)) return null;
    const text = key ?? `${a.mailbox ?? ""}@${a.host ?? ""}`;
    return reject(550, "5.7.1", `${field} header address <${shown(text)}> not owned by user ${i.user}`);
  };
  for (const a of from) {
    const key = addressKey(a.mailbox ?? "", a.host ?? "");
    out.from.push(key ?? `${a.mailbox ?? ""}@${a.host ?? ""}`);
  }
  if (sender) {
    out.sender = addressKey(sender.mailbox ?? "", sender.host ?? "");
    const r = check(sender, "Sender");
    if (r) return fail(r);
  }
  for (const a of from) {
    const r = check(a, "From");
    if (r) return fail(r);
  }
  return out;
}

export interface FixupInput {
  raw: Buffer;
  /** right-hand side of a generated Message-ID (RFC 5322 §3.6.4: a domain of the host) */
  idDomain: string;
  now?: Date;
}

export interface FixupResult {
  data: Buffer;
  /** names of the added fields ("Date", "Message-ID") */
  added: string[];
}

/** RFC 5322 §3.6.4 msg-id "<left@right>": a random, unique left part. */
export function newMessageId(domain: string, now = new Date()): string {
  return `<${now.getTime().toString(36)}.${randomBytes(12).toString("base64url")}@${domain}>`;
}

/**
 * RFC 6409 §8.2 (Date) and §8.3 (Message-ID): adds the missing ones at the end of the header
 * section (before the empty line). Returns the input buffer itself when nothing was missing.
 */
export function addMissingFields(i: FixupInput): FixupResult {
  const block = parseHeaderBlock(i.raw, 0, i.raw.length);
  const has = (name: string) => block.fields.some((f) => f.name === name);
  const now = i.now ?? new Date();
  const added: string[] = [];
  let text = "";
  if (!has("date")) {
    text += `Date: ${rfc5322Date(now)}\r\n`;
    added.push("Date");
  }
  if (!has("message-id")) {
    text += `Message-ID: ${newMessageId(i.idDomain, now)}\r\n`;
    added.push("Message-ID");
  }
  if (added.length === 0) return { data: i.raw, added };
  // RFC 5322 §2.1: the header section ends before the empty line; without one (no body), after
  // the last complete line; a final line without CRLF (cannot be extended) gets them in front
  const raw = i.raw;
  let at = headerSectionEnd(raw);
  if (at === raw.length && at > 0 && raw[at - 1] !== 0x0a) at = 0;
  const ins = Buffer.from(text, "utf8");
  return { data: Buffer.concat([raw.subarray(0, at), ins, raw.subarray(at)]), added };
}

/** Right-hand side for a generated Message-ID: the host name when it is a real domain name, else the author's domain. */
export function messageIdDomain(hostname: string, fromKeys: string[], user: string): string {
  const h = domainToASCII(hostname.trim().toLowerCase().replace(/\.$/, ""));
  if (h?.includes(".")) return h;
  for (const k of [...fromKeys, user]) {
    const at = k.lastIndexOf("@");
    const d = at >= 0 ? domainToASCII(k.slice(at + 1)) : "";
    if (d) return d;
  }
  return h || "localhost";
}
