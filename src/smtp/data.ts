/**
 * DATA-phase helpers: collecting the message with a size cap, the line-ending guard, trace-header
 * formatting. Pure functions over bytes; nothing here decodes a message to a string.
 */
import type { Readable } from "node:stream";

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
  const ip = r.remoteAddress.replace(/^::ffff:/, "");
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
