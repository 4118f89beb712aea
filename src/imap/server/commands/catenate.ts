/**
 * CATENATE (RFC 4469): assembles the message of an APPEND / MULTIAPPEND / REPLACE from TEXT
 * literals and IMAP URLs (RFC 5092) naming messages or sections in the same account; the result
 * then takes the normal append path. URLAUTH (RFC 4467) is not implemented, so a URL with
 * ;URLAUTH= — like one naming another server or user — cannot be resolved: NO [BADURL].
 *
 * Memory: the parts are collected until their total passes the APPEND limit (maxLiteralSize,
 * RFC 7889 APPENDLIMIT), then NO [TOOBIG]; a whole-message URL is checked by its stored size
 * before it is read, so at most one referenced message plus the limit is held at a time.
 */
import type { ParsedMessage, SectionSpec } from "../../../mime/types.ts";
import { StoreError } from "../../../store/types.ts";
import type { AppendMessage } from "../../protocol/commands.ts";
import { parseSection } from "../../protocol/parse/fetch.ts";
import { Cursor, utf8Decoder } from "../../protocol/parse/primitives.ts";
import { no } from "../errors.ts";
import { canonicalMailbox } from "../names.ts";
import type { Session } from "../session.ts";
import { bodySection } from "./fetch.ts";

/** The messages with every CATENATE form replaced by its assembled bytes (others unchanged). */
export async function withCatenated(s: Session, messages: AppendMessage[]): Promise<AppendMessage[]> {
  if (!messages.some((m) => m.catenate)) return messages;
  const out: AppendMessage[] = [];
  // sequentially: MULTIAPPEND is all or nothing (RFC 3502 §6.3.11), the first failure ends it
  for (const m of messages) {
    if (!m.catenate) {
      out.push(m);
      continue;
    }
    const { catenate: parts, ...rest } = m;
    out.push({ ...rest, data: await assemble(s, parts) });
  }
  return out;
}

async function assemble(s: Session, parts: NonNullable<AppendMessage["catenate"]>): Promise<Buffer> {
  const limit = s.ctx.opts.limits.maxLiteralSize;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const add = (b: Uint8Array) => {
    total += b.length;
    // RFC 4469 §5 / RFC 7889: the assembled message is subject to the APPEND size limit
    if (total > limit) throw no("TOOBIG", "Catenated message too large");
    chunks.push(b);
  };
  for (const p of parts) {
    if (p.type === "TEXT") {
      add(p.data);
      continue;
    }
    add(await resolveUrl(s, p.url, limit - total));
  }
  // a NUL (TEXT literal8) is handled on the assembled message by storableForm (RFC 3516 §4.4)
  return Buffer.concat(chunks, total);
}

/** RFC 5092 URL parts that CATENATE can use */
interface MessageUrl {
  /** stored mailbox name; null = the selected mailbox (relative URL) */
  mailbox: string | null;
  uidValidity: number | null;
  uid: number;
  section: SectionSpec | null;
  partial: { offset: number; length: number | null } | null;
}

/** RFC 4469 §5: a URL that cannot be resolved fails the command with NO [BADURL url] */
function badUrl(url: string): never {
  throw no(`BADURL ${respText(url)}`, "Cannot resolve URL");
}

/** RFC 4469 §6 url-resp-text excludes "]" and CR/LF; keep to printable ASCII besides */
function respText(url: string): string {
  let out = "";
  for (const ch of url.slice(0, 1000)) {
    const c = ch.charCodeAt(0);
    out += c < 0x21 || c > 0x7e || ch === "]" ? `%${c.toString(16).toUpperCase().padStart(2, "0")}` : ch;
  }
  return out === "" ? '""' : out;
}

async function resolveUrl(s: Session, url: string, room: number): Promise<Uint8Array> {
  const u = parseMessageUrl(s, url);
  if (!u) badUrl(url);
  let mailboxId: number;
  let uidValidity: number;
  if (u.mailbox === null) {
    // RFC 4469 §5: a relative URL is relative to the selected mailbox
    const v = s.view;
    if (!v) badUrl(url);
    mailboxId = v.mailboxId;
    uidValidity = v.uidValidity;
  } else {
    const mb = await s.store.getMailbox(s.authenticated.account.id, u.mailbox);
    if (!mb) badUrl(url);
    mailboxId = mb.id;
    uidValidity = mb.uidValidity;
  }
  // RFC 5092 §6: a UIDVALIDITY that does not match means the URL no longer names that message
  if (u.uidValidity !== null && u.uidValidity !== uidValidity) badUrl(url);
  const [meta] = await s.store.getMessages(mailboxId, [u.uid]);
  if (!meta) badUrl(url);
  const whole = u.section === null;
  if (whole && u.partial === null && meta.size > room) throw no("TOOBIG", "Catenated message too large");
  let data: Uint8Array | null;
  try {
    const raw = await s.store.readMessage(mailboxId, u.uid);
    let parsed: ParsedMessage | null = null;
    if (!whole) parsed = await s.store.getParsed(meta.blobId);
    data = whole ? raw : bodySection(raw, parsed!, u.section!);
  } catch (e) {
    // expunged by another session meanwhile
    if (e instanceof StoreError && (e.code === "NOTFOUND" || e.code === "NONEXISTENT")) badUrl(url);
    throw e;
  }
  if (data === null) badUrl(url); // no such section
  if (u.partial) {
    const { offset, length } = u.partial;
    data = data.subarray(Math.min(offset, data.length), length === null ? undefined : offset + length);
  }
  return data;
}

/**
 * RFC 5092 §11 (the imessagepart forms):
 *   imap://user@host/mbox[;UIDVALIDITY=n]/;UID=m[/;SECTION=s][/;PARTIAL=o[.l]]
 *   /mbox[;UIDVALIDITY=n]/;UID=m[...]          (absolute path)
 *   ;UID=m[...]                                 (relative to the selected mailbox, RFC 4469 §5)
 * null when the URL is malformed, names another server/user, or carries URLAUTH.
 */
function parseMessageUrl(s: Session, url: string): MessageUrl | null {
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return null;
  }
  const up = url.toUpperCase(); // ASCII only: positions agree with url
  let path = url;
  if (up.startsWith("IMAP://")) {
    const slash = url.indexOf("/", 7);
    if (slash < 0) return null;
    if (!ownServer(s, url.slice(7, slash))) return null;
    path = url.slice(slash);
  }
  const upPath = path.toUpperCase();
  let mailbox: string | null = null;
  let uidValidity: number | null = null;
  let rest: string;
  if (path.startsWith("/")) {
    // enc-mailbox holds no ";" (RFC 5092 bchar); it may hold "/" (hierarchy)
    const semi = path.indexOf(";");
    if (semi < 0) return null;
    let enc = path.slice(1, semi);
    rest = path.slice(semi);
    if (upPath.startsWith(";UIDVALIDITY=", semi)) {
      const end = rest.indexOf("/");
      if (end < 0) return null;
      uidValidity = nzNumber(rest.slice(13, end));
      if (uidValidity === null) return null;
      rest = rest.slice(end + 1);
    } else {
      if (!enc.endsWith("/")) return null;
      enc = enc.slice(0, -1);
    }
    const name = pctDecodeUtf8(enc);
    if (name === null || name === "") return null;
    mailbox = canonicalMailbox(name);
  } else {
    rest = path;
  }
  // rest: ;UID=m[/;SECTION=s][/;PARTIAL=o[.l]]
  const upRest = rest.toUpperCase();
  if (!upRest.startsWith(";UID=")) return null;
  let end = rest.indexOf("/");
  if (end < 0) end = rest.length;
  const uid = nzNumber(rest.slice(5, end));
  if (uid === null) return null;
  rest = rest.slice(end);
  let section: SectionSpec | null = null;
  let partial: MessageUrl["partial"] = null;
  if (rest.toUpperCase().startsWith("/;SECTION=")) {
    // enc-section may hold "/"; it ends at "/;PARTIAL=" or at the end
    const p = rest.toUpperCase().indexOf("/;PARTIAL=", 10);
    const enc = rest.slice(10, p < 0 ? rest.length : p);
    rest = p < 0 ? "" : rest.slice(p);
    const text = pctDecodeUtf8(enc);
    if (text === null || text === "") return null;
    section = sectionSpec(text);
    if (section === null) return null;
  }
  if (rest.toUpperCase().startsWith("/;PARTIAL=")) {
    const spec = rest.slice(10);
    const dot = spec.indexOf(".");
    const offset = number(dot < 0 ? spec : spec.slice(0, dot));
    const length = dot < 0 ? null : nzNumber(spec.slice(dot + 1));
    if (offset === null || (dot >= 0 && length === null)) return null;
    partial = { offset, length };
    rest = "";
  }
  // anything else (";URLAUTH=…", RFC 4467, included) is not resolvable here
  if (rest !== "") return null;
  return { mailbox, uidValidity, uid, section, partial };
}

/** iserver = [iuserinfo "@"] host [":" port]: this server and the logged-in user only */
function ownServer(s: Session, authority: string): boolean {
  const at = authority.lastIndexOf("@");
  if (at < 0) return false; // anonymous access is another identity
  const userinfo = authority.slice(0, at);
  let host = authority.slice(at + 1).toLowerCase();
  const semi = userinfo.indexOf(";"); // ;AUTH=… names a mechanism, not a different user
  const user = pctDecodeUtf8(semi < 0 ? userinfo : userinfo.slice(0, semi));
  if (user === null || user.toLowerCase() !== s.authenticated.account.address.toLowerCase()) return false;
  const colon = host.lastIndexOf(":");
  if (colon >= 0 && !host.endsWith("]") && number(host.slice(colon + 1)) !== null)
    host = host.slice(0, colon);
  return host === s.ctx.opts.hostname.toLowerCase();
}

/** section text as in BODY[...] (RFC 5092 enc-section = IMAP section-spec) */
function sectionSpec(text: string): SectionSpec | null {
  try {
    const c = new Cursor([Buffer.from(`[${text}]`, "utf8")], []);
    const spec = parseSection(c);
    return c.atEnd() ? spec : null;
  } catch {
    return null;
  }
}

function number(t: string): number | null {
  if (t === "" || t.length > 10) return null;
  for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) < 0x30 || t.charCodeAt(i) > 0x39) return null;
  const n = Number(t);
  return n <= 0xffffffff ? n : null;
}

function nzNumber(t: string): number | null {
  const n = number(t);
  return n === null || n === 0 || t.startsWith("0") ? null : n;
}

/** %XX-decoded bytes read as UTF-8 (RFC 5092 §3.2 / RFC 3986 §2.1); null when invalid */
function pctDecodeUtf8(t: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const h = Number.parseInt(t.slice(i + 1, i + 3), 16);
    if (!/^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3)) || Number.isNaN(h)) return null;
    bytes.push(h);
    i += 2;
  }
  try {
    return utf8Decoder.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}
