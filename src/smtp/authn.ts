/**
 * Inbound sender authentication: SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 9989 / 7489), ARC
 * (RFC 8617) through mailauth's authenticate(). The DNS resolver is injectable so that tests run
 * against fixtures; production uses the system resolver (mailauth's default).
 *
 * The verdict is turned into a delivery decision here:
 * - DMARC fail with effective policy reject  → refuse (550 5.7.1, RFC 7489 §6.6.2 / RFC 9989 §5.8)
 * - DMARC fail with effective policy quarantine → deliver to Junk
 * - everything else → deliver; the Authentication-Results header (RFC 8601) tells the client.
 * mailauth applies t=y (testing) by lowering the effective policy, and reports DMARC's alignment
 * mode (adkim/aspf=s) — the strict-alignment tests in test/smtp check that it is honoured.
 */
import type { authenticate as Authenticate, DNSResolver } from "mailauth";
import { unmapIpv4 } from "../net/address.ts";
import { headerSectionEnd } from "./data.ts";
import { installHeaderScan } from "./mailauth-header-scan.ts";
import { skipBimi } from "./mailauth-without-bimi.ts";

export type { DNSResolver } from "mailauth";

export interface AuthnInput {
  message: Uint8Array;
  /** SMTP client IP */
  ip: string;
  helo: string;
  /** MAIL FROM address ("" = null sender) */
  sender: string;
  /** our host name, the authserv-id of the header */
  mta: string;
  resolver?: DNSResolver;
}

export interface AuthnVerdict {
  action: "accept" | "junk" | "reject";
  /** Received-SPF and Authentication-Results lines, CRLF-terminated */
  headers: string;
  spf: string;
  dkim: string[];
  dmarc: string;
  dmarcPolicy: string | null;
  arc: string;
}

let mailauth: Promise<typeof import("mailauth")> | null = null;

/**
 * mailauth, loaded on the first check (~7 MiB of anonymous memory per worker; ~14 with its BIMI
 * modules, which are not loaded: mailauth-without-bimi.ts): a worker that has not checked a sender yet, or runs with sender_authentication
 * off, holds none of it. Callers with a per-message DNS budget await this before starting it.
 */
export function loadSenderChecks(): Promise<typeof import("mailauth")> {
  // its BIMI modules are never used here (disableBimi): not loaded (mailauth-without-bimi.ts)
  if (!mailauth) skipBimi();
  mailauth ??= import("mailauth").then((m) => {
    installHeaderScan();
    return m;
  });
  return mailauth;
}

/**
 * What mailauth reads of a message: the header block alone when no header field is a DKIM
 * signature or an ARC set. SPF (RFC 7208) reads no message content, DMARC (RFC 7489 §3, RFC 9989)
 * only the From field and the DKIM results, and ARC (RFC 8617) only its header fields; the body
 * matters only to a signature's body hash. mailauth's pass over the body (line-ending fix-up,
 * chunk copies) was most of its cost for unsigned mail.
 */
export function authnInput(message: Uint8Array): Buffer {
  const m = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const end = headerSectionEnd(m);
  if (end >= m.length) return m;
  for (let at = 0; at < end; ) {
    // a field starts at the beginning of a line that is not a continuation (RFC 5322 §2.2.3)
    const c = m[at]!;
    if (
      c !== 0x20 &&
      c !== 0x09 &&
      (startsWithField(m, at, "dkim-signature:") || startsWithField(m, at, "arc-"))
    )
      return m;
    const nl = m.indexOf(0x0a, at);
    if (nl < 0 || nl >= end) break;
    at = nl + 1;
  }
  // with the empty line that ends the header section
  return m.subarray(0, end + 2);
}

/** whether the field name at `at` begins with `prefix` (lower-case ASCII), ignoring case */
function startsWithField(m: Buffer, at: number, prefix: string): boolean {
  if (at + prefix.length > m.length) return false;
  for (let k = 0; k < prefix.length; k++) if ((m[at + k]! | 0x20) !== prefix.charCodeAt(k)) return false;
  return true;
}

export async function checkSender(i: AuthnInput): Promise<AuthnVerdict> {
  const { authenticate } = await loadSenderChecks();
  const r = await authenticate(authnInput(i.message), {
    ip: unmapIpv4(i.ip),
    helo: i.helo,
    sender: i.sender,
    mta: i.mta,
    resolver: i.resolver,
    disableBimi: true,
  } as Parameters<typeof Authenticate>[1]);
  const dmarc = r.dmarc ? r.dmarc.status.result : "none";
  const policy = r.dmarc ? r.dmarc.policy : null;
  let action: AuthnVerdict["action"] = "accept";
  if (dmarc === "fail" && policy === "reject") action = "reject";
  else if (dmarc === "fail" && policy === "quarantine") action = "junk";
  return {
    action,
    headers: r.headers,
    spf: r.spf ? r.spf.status.result : "none",
    dkim: (r.dkim.results ?? []).map((x) => x.status.result),
    dmarc,
    dmarcPolicy: policy,
    arc: r.arc ? r.arc.status.result : "none",
  };
}
