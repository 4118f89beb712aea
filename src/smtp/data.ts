/**
 * DATA-phase helpers: collecting the message with a size cap, the line-ending guard, trace-header
 * formatting. Pure functions over bytes; nothing here decodes a message to a string.
 */
import type { Readable } from "node:stream";
import { unmapIpv4 } from "../net/address.ts";

/**
 * Where the message has a CR not followed by LF, or an LF not preceded by CR; -1 if none.
 * RFC 5321 §2.3.8: in SMTP, CR and LF only occur together as CRLF. A bare LF or CR is what
 * SMTP smuggling (e.g. "<LF>.<CR><LF>" or "<CR><LF>.<LF>") relies on, so such messages are
 * refused rather than normalised (see the module notes in index.ts).
 */
export function findBareLineEnding(buf: Uint8Array): number {
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c === 0x0d) {
      if (i + 1 >= n || buf[i + 1] !== 0x0a) return i;
      i++; // skip the LF of the CRLF
    } else if (c === 0x0a) {
      return i;
    }
  }
  return -1;
}

export interface CollectResult {
  data: Buffer;
  /** the stream delivered more than maxBytes (the data beyond was discarded) */
  oversized: boolean;
  bytes: number;
}

/** Reads a stream to the end, keeping at most maxBytes (the rest is drained, not stored). */
export function collectStream(stream: Readable, maxBytes: number): Promise<CollectResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let bytes = 0;
    let oversized = false;
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (oversized) return;
      if (kept + chunk.length > maxBytes) {
        oversized = true;
        chunks.length = 0;
        kept = 0;
        return;
      }
      chunks.push(chunk);
      kept += chunk.length;
    });
    stream.once("error", reject);
    stream.once("end", () => resolve({ data: Buffer.concat(chunks, kept), oversized, bytes }));
    // destroyed without an error (and so without "end"): settled all the same, so that nothing
    // the caller holds for the message (a delivery announcement) outlives the connection
    stream.once("close", () => reject(new Error("message stream closed before its end")));
  });
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 5322 §3.3 date-time in UTC, e.g. "Mon, 2 Jun 2025 10:00:00 +0000". */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/** Keeps a client-supplied token safe for a header: printable ASCII without parentheses/brackets. */
function safeToken(s: string, max = 255): string {
  return s
    .replace(/[^\x21-\x7e]/g, "?")
    .replace(/[()[\]\\]/g, "?")
    .slice(0, max);
}

export interface ReceivedInfo {
  helo: string;
  clientHostname: string | null;
  remoteAddress: string;
  hostname: string;
  /** RFC 3848 protocol: ESMTP, ESMTPS, ESMTPA, ESMTPSA */
  protocol: string;
  id: string;
  recipient: string | null;
  date: Date;
  tls?: string | null;
}

/** RFC 5321 §4.4 time-stamp line ("Received:"), folded, ending in CRLF. */
export function receivedHeader(r: ReceivedInfo): string {
  const ip = unmapIpv4(r.remoteAddress);
  const host = r.clientHostname && !r.clientHostname.startsWith("[") ? `${safeToken(r.clientHostname)} ` : "";
  let h = `Received: from ${safeToken(r.helo || "unknown")} (${host}[${safeToken(ip)}])\r\n`;
  h += `\tby ${safeToken(r.hostname)} (postkontor) with ${r.protocol} id ${safeToken(r.id)}`;
  if (r.tls) h += `\r\n\t(${safeToken(r.tls.replace(/ /g, "_"), 100)})`;
  if (r.recipient) h += `\r\n\tfor <${safeToken(r.recipient)}>`;
  h += `;\r\n\t${rfc5322Date(r.date)}\r\n`;
  return h;
}

/** "Delivered-To:" (the final local address), ending in CRLF. */
export function deliveredToHeader(address: string): string {
  return `Delivered-To: ${safeToken(address)}\r\n`;
}

const AR_NAME = "authentication-results";
const RENAMED_AR = Buffer.from("X-Original-Authentication-Results", "latin1");

/** Offset just past the header section's last CRLF (the empty line's CRLF excluded), or the end. */
export function headerSectionEnd(buf: Uint8Array): number {
  // RFC 5322 §2.1: the header section ends at the first empty line
  if (buf[0] === 0x0d && buf[1] === 0x0a) return 0;
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 0x0d && buf[i + 1] === 0x0a && buf[i + 2] === 0x0d && buf[i + 3] === 0x0a) return i + 2;
  }
  return buf.length;
}

const isWsp = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
// RFC 2045 §5.1 tspecials, which end a token
const TSPECIALS = new Set(Array.from('()<>@,;:\\"/[]?=', (ch) => ch.charCodeAt(0)));

/**
 * The authserv-id of an Authentication-Results field value (RFC 8601 §2.2: `[CFWS] authserv-id`,
 * authserv-id = RFC 2045 value = token / quoted-string), lower-cased; null when malformed.
 * Bytes are read as latin1: only this short token is looked at, never the message.
 */
export function authservId(value: Uint8Array): string | null {
  let i = 0;
  const n = value.length;
  // skip CFWS: whitespace, folding, (nested) comments with quoted-pairs (RFC 5322 §3.2.2)
  for (let guard = 0; i < n && guard < n + 1; guard++) {
    const c = value[i];
    if (isWsp(c)) {
      i++;
    } else if (c === 0x28) {
      let depth = 0;
      for (; i < n; i++) {
        const d = value[i];
        if (d === 0x5c) i++;
        else if (d === 0x28) depth++;
        else if (d === 0x29 && --depth === 0) {
          i++;
          break;
        }
      }
      if (depth > 0) return null;
    } else break;
  }
  if (i >= n) return null;
  let id = "";
  if (value[i] === 0x22) {
    // quoted-string (RFC 5322 §3.2.4)
    for (i++; i < n && value[i] !== 0x22; i++) {
      if (value[i] === 0x5c) i++;
      if (i < n) id += String.fromCharCode(value[i]!);
    }
    if (i >= n) return null;
  } else {
    for (; i < n; i++) {
      const c = value[i]!;
      if (c <= 0x20 || c === 0x7f || TSPECIALS.has(c)) break;
      id += String.fromCharCode(c);
    }
  }
  return id === "" ? null : id.toLowerCase();
}

/**
 * RFC 8601 §5: a border MTA MUST remove or rename Authentication-Results fields that claim its
 * own authserv-id, or a sender could forge our verdict. We rename such fields to
 * X-Original-Authentication-Results (RFC 8601 §5 allows renaming; the text stays visible for
 * diagnosis, and no client trusts that name). Only the field name changes; every other byte of
 * the message is kept. Fields with any other authserv-id are left alone (they are other ADMDs'
 * claims, and e.g. ARC needs them unchanged). The message must have CRLF line ends only (checked
 * before by findBareLineEnding). Returns the input buffer itself when nothing matched.
 */
export function renameOwnAuthResults(raw: Buffer, ourAuthservId: string): { data: Buffer; renamed: number } {
  const ours = ourAuthservId.toLowerCase().replace(/\.$/, "");
  const end = headerSectionEnd(raw);
  const keep: Buffer[] = [];
  let copied = 0;
  let renamed = 0;
  let pos = 0;
  // one field per iteration: a line that does not start with WSP plus its continuation lines
  while (pos < end) {
    let lineEnd = raw.indexOf("\r\n", pos, "latin1");
    if (lineEnd < 0 || lineEnd >= end) lineEnd = end;
    let fieldEnd = lineEnd + 2;
    while (fieldEnd < end && (raw[fieldEnd] === 0x20 || raw[fieldEnd] === 0x09)) {
      const next = raw.indexOf("\r\n", fieldEnd, "latin1");
      fieldEnd = next < 0 || next >= end ? end : next + 2;
    }
    fieldEnd = Math.min(fieldEnd, end);
    const colon = raw.indexOf(0x3a, pos);
    if (colon > pos && colon < lineEnd) {
      // RFC 5322 §4.5 (obsolete syntax): WSP may precede the colon
      let nameEnd = colon;
      while (nameEnd > pos && (raw[nameEnd - 1] === 0x20 || raw[nameEnd - 1] === 0x09)) nameEnd--;
      if (
        nameEnd - pos === AR_NAME.length &&
        raw.toString("latin1", pos, nameEnd).toLowerCase() === AR_NAME
      ) {
        const id = authservId(raw.subarray(colon + 1, fieldEnd));
        if (id !== null && id.replace(/\.$/, "") === ours) {
          keep.push(raw.subarray(copied, pos), RENAMED_AR);
          copied = nameEnd;
          renamed++;
        }
      }
    }
    pos = fieldEnd;
  }
  if (renamed === 0) return { data: raw, renamed: 0 };
  keep.push(raw.subarray(copied));
  return { data: Buffer.concat(keep), renamed };
}
