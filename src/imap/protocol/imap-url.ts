/**
 * IMAP URLs (RFC 5092) naming one message or part of it — the one parser, used by CATENATE
 * (RFC 4469), URLAUTH (RFC 4467: GENURLAUTH, URLFETCH) and SMTP BURL (RFC 4468). PURE: it reads
 * the text only; which server, user and mailbox the URL names is for the caller to decide.
 *
 * RFC 5092 §11 (the imessagepart forms, with the RFC 4467 §9 / RFC 5092 iurlauth tail):
 *   imap://enc-user[;AUTH=…]@host[:port]/enc-mailbox[;UIDVALIDITY=n]/;UID=m
 *                               [/;SECTION=s][/;PARTIAL=o[.l]][;EXPIRE=date-time];URLAUTH=access[:mech:token]
 *   /enc-mailbox[;UIDVALIDITY=n]/;UID=m[...]   (absolute path)
 *   ;UID=m[...]                                 (relative to the selected mailbox, RFC 4469 §5)
 * Keys (";UID=", "imap://" …) are case-insensitive; everything must be printable ASCII.
 */
import type { SectionSpec } from "../../mime/types.ts";
import { parseSection } from "./parse/fetch.ts";
import { Cursor, utf8Decoder } from "./parse/primitives.ts";

/** RFC 4467 §9 ;URLAUTH= part */
export interface UrlAuthPart {
  /** the URL up to and including the access identifier: what the token authorizes (RFC 4467 §3) */
  rump: string;
  /** access identifier as written, e.g. "submit+fred", "authuser" (RFC 4467 §3) */
  access: string;
  /** ":mechanism:token" verifier; null in a rump (GENURLAUTH argument) */
  mechanism: string | null;
  token: string | null;
}

export interface ImapUrl {
  /** absolute URL: the decoded enc-user and the host (lower-cased, port removed); null for paths */
  server: { user: string; host: string; port: number | null } | null;
  /** decoded mailbox name (UTF-8, as in the URL); null = relative to the selected mailbox */
  mailbox: string | null;
  uidValidity: number | null;
  uid: number;
  section: SectionSpec | null;
  partial: { offset: number; length: number | null } | null;
  /** RFC 4467 §9 ;EXPIRE= (ms since the epoch); null when absent */
  expire: number | null;
  urlauth: UrlAuthPart | null;
}

/** Parses an RFC 5092 message URL; null when it is malformed. */
export function parseImapUrl(url: string): ImapUrl | null {
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return null;
  }
  const up = url.toUpperCase(); // ASCII only: positions agree with url
  // the iurlauth tail: ";" never occurs raw in enc-mailbox / enc-section (RFC 5092 bchar), so the
  // first ";EXPIRE=" or ";URLAUTH=" starts it
  let body = url;
  let expire: number | null = null;
  let urlauth: UrlAuthPart | null = null;
  const e = up.indexOf(";EXPIRE=");
  const a = up.indexOf(";URLAUTH=");
  if (e >= 0 || a >= 0) {
    // RFC 4467 §9: [expire] ";URLAUTH=" access — EXPIRE only before URLAUTH, never alone
    if (a < 0 || (e >= 0 && e > a)) return null;
    const tailStart = e >= 0 ? e : a;
    body = url.slice(0, tailStart);
    if (e >= 0) {
      expire = parseDateTime(url.slice(e + 8, a));
      if (expire === null) return null;
    }
    const rest = url.slice(a + 9);
    const colon = rest.indexOf(":");
    const access = colon < 0 ? rest : rest.slice(0, colon);
    if (!validAccess(access)) return null;
    let mechanism: string | null = null;
    let token: string | null = null;
    if (colon >= 0) {
      const v = rest.slice(colon + 1);
      const c2 = v.indexOf(":");
      if (c2 <= 0) return null;
      mechanism = v.slice(0, c2);
      token = v.slice(c2 + 1);
      // RFC 4467 §9: mechanism = "INTERNAL" / 1*(ALPHA / DIGIT / "-" / "."); enc-urlauth = 32*HEXDIG
      if (!isMechanism(mechanism) || token.length < 32 || !isHex(token)) return null;
    }
    urlauth = { rump: url.slice(0, a + 9 + access.length), access, mechanism, token };
  }
  const parsed = parseBody(body, up.slice(0, body.length));
  if (!parsed) return null;
  return { ...parsed, expire, urlauth };
}

function parseBody(url: string, up: string): Omit<ImapUrl, "expire" | "urlauth"> | null {
  let path = url;
  let server: ImapUrl["server"] = null;
  if (up.startsWith("IMAP://")) {
    const slash = url.indexOf("/", 7);
    if (slash < 0) return null;
    server = parseServer(url.slice(7, slash));
    if (!server) return null;
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
    mailbox = name;
  } else if (server) {
    return null;
  } else {
    rest = path;
  }
  // rest: ;UID=m[/;SECTION=s][/;PARTIAL=o[.l]]
  if (!rest.toUpperCase().startsWith(";UID=")) return null;
  let end = rest.indexOf("/");
  if (end < 0) end = rest.length;
  const uid = nzNumber(rest.slice(5, end));
  if (uid === null) return null;
  rest = rest.slice(end);
  let section: SectionSpec | null = null;
  let partial: ImapUrl["partial"] = null;
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
  if (rest !== "") return null;
  return { server, mailbox, uidValidity, uid, section, partial };
}

/** iserver = enc-user [";AUTH=" …] "@" host [":" port]; anonymous URLs (no user) name no owner */
function parseServer(authority: string): ImapUrl["server"] {
  const at = authority.lastIndexOf("@");
  if (at <= 0) return null;
  const userinfo = authority.slice(0, at);
  let host = authority.slice(at + 1).toLowerCase();
  const semi = userinfo.indexOf(";"); // ;AUTH=… names a mechanism, not a different user
  const user = pctDecodeUtf8(semi < 0 ? userinfo : userinfo.slice(0, semi));
  if (user === null || user === "") return null;
  let port: number | null = null;
  const colon = host.lastIndexOf(":");
  if (colon >= 0 && !host.endsWith("]")) {
    port = number(host.slice(colon + 1));
    if (port === null || port > 65535) return null;
    host = host.slice(0, colon);
  }
  if (host === "") return null;
  return { user, host, port };
}

/** RFC 4467 §9: access = ("submit+" enc-user) / ("user+" enc-user) / "authuser" / "anonymous" */
function validAccess(access: string): boolean {
  const a = access.toLowerCase();
  if (a === "authuser" || a === "anonymous") return true;
  const user = a.startsWith("submit+") ? access.slice(7) : a.startsWith("user+") ? access.slice(5) : null;
  return user !== null && user !== "" && pctDecodeUtf8(user) !== null;
}

/** The access identifier's meaning (RFC 4467 §3); null for an unknown form. */
export function accessOf(
  access: string,
): { kind: "submit" | "user"; user: string } | { kind: "authuser" | "anonymous" } | null {
  const a = access.toLowerCase();
  if (a === "authuser" || a === "anonymous") return { kind: a };
  for (const kind of ["submit", "user"] as const) {
    if (a.startsWith(`${kind}+`)) {
      const user = pctDecodeUtf8(access.slice(kind.length + 1));
      return user ? { kind, user } : null;
    }
  }
  return null;
}

function isMechanism(m: string): boolean {
  if (m === "") return false;
  for (let i = 0; i < m.length; i++) {
    const c = m.charCodeAt(i) | 0x20;
    const digit = m.charCodeAt(i) >= 0x30 && m.charCodeAt(i) <= 0x39;
    if (!digit && !(c >= 0x61 && c <= 0x7a) && m[i] !== "-" && m[i] !== ".") return false;
  }
  return true;
}

function isHex(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66))) return false;
  }
  return true;
}

// RFC 3339 §5.6 date-time (RFC 4467 §9 expire); anchored, no nested quantifiers: linear
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** ms since the epoch; null when not an RFC 3339 date-time */
export function parseDateTime(t: string): number | null {
  if (t.length > 40) return null;
  const m = DATE_TIME.exec(t);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 60) return null;
  let ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, Math.min(s!, 59));
  // the day must exist in that month (Date.UTC would roll 02-31 over)
  if (new Date(ms).getUTCDate() !== d) return null;
  const zone = m[8]!;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 23 || zm > 59) return null;
    ms -= sign * (zh * 60 + zm) * 60_000;
  }
  return ms;
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

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/** %XX-decoded bytes read as UTF-8 (RFC 5092 §3.2 / RFC 3986 §2.1); null when invalid */
export function pctDecodeUtf8(t: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const hi = hexValue(t.charCodeAt(i + 1));
    const lo = hexValue(t.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    bytes.push(hi * 16 + lo);
    i += 2;
  }
  try {
    return utf8Decoder.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}
