/**
 * What the server tells mail clients and DNS about itself: the advertised host name and, per
 * protocol, the listener ports actually configured (implicit TLS or STARTTLS). One home for the
 * autoconfig answers (autoconfig.ts, autodiscover.ts, mobileconfig.ts) and `postkontor dns`.
 */
import type { ResolvedConfig } from "../config/index.ts";
import { parseListenAddress } from "../net/address.ts";

/** The port of the first parseable address, else fallback (0 in an address = fallback too). */
export function firstPort(addrs: readonly string[], fallback: number): number {
  for (const a of addrs) {
    try {
      return parseListenAddress(a).port || fallback;
    } catch {
      // ignore
    }
  }
  return fallback;
}

export interface AdvertisedServer {
  protocol: "imap" | "pop3" | "smtp";
  /** implicit TLS (RFC 8314 §3) or STARTTLS/STLS on a plain port */
  socket: "SSL" | "STARTTLS";
  port: number;
}

/** The configured host name without a trailing dot. */
export function advertisedHost(config: Pick<ResolvedConfig, "hostname">): string {
  return config.hostname.replace(/\.$/, "");
}

/**
 * Every configured client-facing server, preferred first within a protocol: implicit TLS before
 * STARTTLS (RFC 8314 §5.1), IMAP before POP3. SMTP means submission (never the MX port).
 */
export function advertisedServers(
  config: Pick<ResolvedConfig, "imap" | "pop3" | "smtp">,
): AdvertisedServer[] {
  const out: AdvertisedServer[] = [];
  const add = (
    protocol: AdvertisedServer["protocol"],
    socket: AdvertisedServer["socket"],
    addrs: readonly string[],
    def: number,
  ) => {
    if (addrs.length > 0) out.push({ protocol, socket, port: firstPort(addrs, def) });
  };
  if (config.imap.enabled) {
    add("imap", "SSL", config.imap.listen_tls, 993);
    add("imap", "STARTTLS", config.imap.listen, 143);
  }
  if (config.pop3.enabled) {
    add("pop3", "SSL", config.pop3.listen_tls, 995);
    add("pop3", "STARTTLS", config.pop3.listen, 110);
  }
  if (config.smtp.enabled) {
    add("smtp", "SSL", config.smtp.submissions, 465);
    add("smtp", "STARTTLS", config.smtp.submission, 587);
  }
  return out;
}

/** The port HTTPS is reached on: http.https_port, else the first listen_tls port. */
export function httpsPort(config: Pick<ResolvedConfig, "http">): number {
  return config.http.https_port || firstPort(config.http.listen_tls, 443);
}
