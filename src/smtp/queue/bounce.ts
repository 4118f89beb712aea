/**
 * Delivery status notifications (RFC 3464) for recipients that failed: a multipart/report
 * (RFC 6522) with a human-readable part, a message/delivery-status part and the original message
 * (message/rfc822) or its header (text/rfc822-headers, RET=HDRS).
 *
 * - RFC 3461 §4.1: NOTIFY=NEVER → no DSN; NOTIFY given without FAILURE → no failure DSN; absent →
 *   failures are reported.
 * - RFC 5321 §4.5.5 / RFC 3464 §2: a DSN is sent with the null reverse-path, and no DSN is ever sent
 *   for a message whose reverse-path is null (that would loop).
 * - RFC 3834 §5: Auto-Submitted: auto-replied.
 * The message is built as bytes; the original is embedded byte-exact (8bit when it has 8-bit data).
 */
import { randomBytes } from "node:crypto";
import { rfc5322Date } from "../data.ts";

export interface DsnRecipient {
  address: string;
  orcpt?: string;
  action: "failed" | "delayed";
  status: string;
  remoteMta: string | null;
  /** the remote reply, e.g. "550 5.1.1 no such user", or our own reason */
  diagnostic: string;
  code: number;
  lastAttempt: Date;
  /** for Action: delayed (RFC 3464 §2.3.9) */
  willRetryUntil?: Date;
}

export interface DsnInput {
  reportingMta: string;
  mailFrom: string;
  envid: string | null;
  ret: "FULL" | "HDRS" | null;
  arrivalDate: Date;
  recipients: DsnRecipient[];
  original: Uint8Array;
  now?: Date;
  /** above this size the original is returned as headers only */
  maxReturnSize?: number;
}

/** RFC 3461 §4.1: should a failure (or delay) of this recipient be reported? */
export function wantsNotify(notify: string[] | undefined, what: "FAILURE" | "DELAY"): boolean {
  // absent NOTIFY: failures always; delays at the MTA's discretion (RFC 3461 §4.1) — we send them
  if (!notify || notify.length === 0) return true;
  const up = notify.map((n) => n.toUpperCase());
  if (up.includes("NEVER")) return false;
  return up.includes(what);
}

function headerEnd(m: Uint8Array): number {
  for (let i = 0; i + 3 < m.length; i++) {
    if (m[i] === 13 && m[i + 1] === 10 && m[i + 2] === 13 && m[i + 3] === 10) return i + 4;
  }
  return m.length;
}

/** RFC 3464 §2.2.1 xtext-free printable field value: no CR/LF, bounded. */
function field(s: string, max = 900): string {
  return s
    .replace(/[\r\n]+/g, " ")
    .trim()
    .slice(0, max);
}

const NON_ASCII = /[^\x00-\x7f]/;

export function buildDsn(i: DsnInput): Uint8Array {
  const now = i.now ?? new Date();
  const boundary = `=_pk-${randomBytes(12).toString("hex")}`;
  const mta = field(i.reportingMta || "localhost", 255);
  const failed = i.recipients.filter((r) => r.action === "failed");
  const subject =
    failed.length > 0 ? "Undelivered Mail Returned to Sender" : "Delivery Status Notification (Delay)";
  const headers =
    `From: Mail Delivery System <MAILER-DAEMON@${mta}>\r\n` +
    `To: <${field(i.mailFrom, 320)}>\r\n` +
    `Subject: ${subject}\r\n` +
    `Date: ${rfc5322Date(now)}\r\n` +
    `Message-ID: <${randomBytes(12).toString("hex")}.dsn@${mta}>\r\n` +
    "Auto-Submitted: auto-replied\r\n" +
    "MIME-Version: 1.0\r\n" +
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"\r\n`;

  const human =
    `This is the mail system at ${mta}.\r\n\r\n` +
    (failed.length > 0
      ? "Your message could not be delivered to one or more recipients. It is attached below.\r\n\r\n"
      : "Your message has not been delivered yet; the mail system will keep trying.\r\n\r\n") +
    i.recipients
      .map(
        (r) =>
          `<${field(r.address, 320)}>: ${field(r.remoteMta ? `host ${r.remoteMta} said: ` : "")}${field(r.diagnostic)}\r\n`,
      )
      .join("");

  // RFC 3464 §2.2 per-message fields, §2.3 per-recipient fields; utf-8 addresses would need
  // message/global-delivery-status (RFC 6533), which we use when an address is not ASCII
  const intl = i.recipients.some((r) => NON_ASCII.test(r.address)) || NON_ASCII.test(i.mailFrom);
  let status =
    `Reporting-MTA: dns; ${mta}\r\n` +
    (i.envid ? `Original-Envelope-Id: ${field(i.envid, 100)}\r\n` : "") +
    `Arrival-Date: ${rfc5322Date(i.arrivalDate)}\r\n`;
  for (const r of i.recipients) {
    status += "\r\n";
    if (r.orcpt) status += `Original-Recipient: ${field(r.orcpt, 500)}\r\n`;
    status +=
      `Final-Recipient: ${intl ? "utf-8" : "rfc822"}; ${field(r.address, 320)}\r\n` +
      `Action: ${r.action}\r\n` +
      `Status: ${r.status}\r\n` +
      (r.remoteMta ? `Remote-MTA: dns; ${field(r.remoteMta, 255)}\r\n` : "") +
      (r.code > 0 && r.remoteMta ? `Diagnostic-Code: smtp; ${field(r.diagnostic)}\r\n` : "") +
      `Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}\r\n` +
      (r.willRetryUntil ? `Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}\r\n` : "");
  }

  const hdrEnd = headerEnd(i.original);
  const full = i.ret !== "HDRS" && i.original.byteLength <= (i.maxReturnSize ?? 10 * 1024 * 1024);
  const returned = full ? i.original : i.original.subarray(0, hdrEnd);
  const eight = returned.some((b) => b > 127);
  const origType = full ? (intl || eight ? "message/global" : "message/rfc822") : "text/rfc822-headers";

  const parts = [
    Buffer.from(
      `${headers}\r\nThis is a MIME-encapsulated delivery status notification.\r\n\r\n` +
        `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${human}\r\n` +
        `--${boundary}\r\nContent-Type: ${intl ? "message/global-delivery-status" : "message/delivery-status"}\r\n\r\n${status}\r\n` +
        `--${boundary}\r\nContent-Type: ${origType}${eight ? "\r\nContent-Transfer-Encoding: 8bit" : ""}\r\n\r\n`,
      "utf8",
    ),
    Buffer.from(returned.buffer, returned.byteOffset, returned.byteLength),
  ];
  const endsWithCrlf =
    returned.length >= 2 && returned[returned.length - 2] === 13 && returned[returned.length - 1] === 10;
  parts.push(Buffer.from(`${endsWithCrlf ? "" : "\r\n"}\r\n--${boundary}--\r\n`, "utf8"));
  return Buffer.concat(parts);
}
