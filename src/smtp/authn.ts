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
 * mailauth, loaded on the first check (~3 MiB of code with its BIMI, HTTP and schema
 * dependencies): a worker that has not checked a sender yet, or runs with sender_authentication
 * off, holds none of it. Callers with a per-message DNS budget await this before starting it.
 */
export function loadSenderChecks(): Promise<typeof import("mailauth")> {
  mailauth ??= import("mailauth");
  return mailauth;
}

export async function checkSender(i: AuthnInput): Promise<AuthnVerdict> {
  const { authenticate } = await loadSenderChecks();
  const r = await authenticate(Buffer.from(i.message.buffer, i.message.byteOffset, i.message.byteLength), {
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
