/**
 * Client autoconfiguration documents, for hosted domains only:
 * - Thunderbird `config-v1.1.xml` (the "Autoconfig" format of Mozilla's ISPDB,
 *   draft-bucksch-autoconfig): incomingServer/outgoingServer with hostname, port, socketType
 *   (SSL = implicit TLS, STARTTLS), authentication and username;
 * - Microsoft Autodiscover: the POX response (Outlook "responseschema/2006a") to a POSTed request
 *   naming EMailAddress, and the JSON v2 form that points Outlook at the POX endpoint.
 * Host and ports are the configured ones (advertised.ts); every value is XML-escaped.
 */
import type { ResolvedConfig } from "../config/index.ts";
import { type AdvertisedServer, advertisedHost, advertisedServers, httpsPort } from "./advertised.ts";
import { xmlEscape as x } from "./xml.ts";

/** `local@domain` → its lower-case domain, or null when the text is no address. */
export function domainOfAddress(address: string): string | null {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1 || address.length > 320) return null;
  return (
    address
      .slice(at + 1)
      .trim()
      .toLowerCase()
      .replace(/\.$/, "") || null
  );
}

/**
 * The domain a request asks about: from the address when one is given, else from a Host of the
 * form `<prefix>.<domain>` (`autoconfig.example.org`, `autodiscover.example.org`, `mta-sts.…`).
 */
export function requestDomain(
  address: string | undefined,
  host: string | undefined,
  prefix: string,
): string | null {
  if (address) return domainOfAddress(address);
  if (!host) return null;
  const h = hostOnly(host);
  return h.startsWith(`${prefix}.`) && h.length > prefix.length + 1 ? h.slice(prefix.length + 1) : null;
}

/** The host name of a Host header value (no port, lower case, no trailing dot). */
export function hostOnly(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(0, end + 1) : h;
  }
  const colon = h.indexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

type Cfg = Pick<ResolvedConfig, "hostname" | "imap" | "pop3" | "smtp" | "http">;

function tbServer(tag: "incomingServer" | "outgoingServer", s: AdvertisedServer, host: string): string {
  return [
    `    <${tag} type="${s.protocol}">`,
    `      <hostname>${x(host)}</hostname>`,
    `      <port>${s.port}</port>`,
    `      <socketType>${s.socket}</socketType>`,
    // password sent inside TLS (SASL PLAIN / LOGIN); the servers offer nothing else
    "      <authentication>password-cleartext</authentication>",
    "      <username>%EMAILADDRESS%</username>",
    `    </${tag}>`,
  ].join("\n");
}

/** Thunderbird's config-v1.1.xml for a hosted domain. */
export function thunderbirdConfig(config: Cfg, domain: string): string {
  const host = advertisedHost(config);
  const servers = advertisedServers(config);
  const incoming = servers
    .filter((s) => s.protocol !== "smtp")
    .map((s) => tbServer("incomingServer", s, host));
  const outgoing = servers
    .filter((s) => s.protocol === "smtp")
    .map((s) => tbServer("outgoingServer", s, host));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${x(domain)}">`,
    `    <domain>${x(domain)}</domain>`,
    `    <displayName>${x(domain)}</displayName>`,
    `    <displayShortName>${x(domain)}</displayShortName>`,
    ...incoming,
    ...outgoing,
    "  </emailProvider>",
    "</clientConfig>",
    "",
  ].join("\n");
}

export const AUTODISCOVER_RESPONSE_NS =
  "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
export const AUTODISCOVER_OUTLOOK_NS =
  "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

/**
 * The EMailAddress of a POX Autodiscover request body, found by plain string search (no
 * backtracking pattern on client data); null when there is none.
 */
export function autodiscoverRequestAddress(body: string): string | null {
  const open = body.indexOf("EMailAddress>");
  if (open < 0) return null;
  const start = open + "EMailAddress>".length;
  const end = body.indexOf("<", start);
  if (end < 0) return null;
  const v = body.slice(start, end).trim();
  return v.length > 0 && v.length <= 320 ? v : null;
}

/** The POX Autodiscover response (Outlook provider schema 2006a) for one address. */
export function autodiscoverXml(config: Cfg, address: string): string {
  const host = advertisedHost(config);
  const servers = advertisedServers(config);
  // one Protocol per kind: Outlook takes the first IMAP/POP3/SMTP it finds
  const pick = (p: AdvertisedServer["protocol"]) => servers.find((s) => s.protocol === p);
  const protos = (["imap", "pop3", "smtp"] as const).flatMap((p) => {
    const s = pick(p);
    if (!s) return [];
    return [
      [
        "      <Protocol>",
        `        <Type>${p === "imap" ? "IMAP" : p === "pop3" ? "POP3" : "SMTP"}</Type>`,
        `        <Server>${x(host)}</Server>`,
        `        <Port>${s.port}</Port>`,
        "        <DomainRequired>off</DomainRequired>",
        `        <LoginName>${x(address)}</LoginName>`,
        "        <SPA>off</SPA>",
        `        <SSL>on</SSL>`,
        `        <Encryption>${s.socket === "SSL" ? "SSL" : "TLS"}</Encryption>`,
        "        <AuthRequired>on</AuthRequired>",
        ...(p === "smtp" ? ["        <UsePOPAuth>on</UsePOPAuth>", "        <SMTPLast>off</SMTPLast>"] : []),
        "      </Protocol>",
      ].join("\n"),
    ];
  });
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${AUTODISCOVER_RESPONSE_NS}">`,
    `  <Response xmlns="${AUTODISCOVER_OUTLOOK_NS}">`,
    "    <Account>",
    "      <AccountType>email</AccountType>",
    "      <Action>settings</Action>",
    ...protos,
    "    </Account>",
    "  </Response>",
    "</Autodiscover>",
    "",
  ].join("\n");
}

/** Autodiscover error response (an unknown address or a malformed request). */
export function autodiscoverError(code: number, message: string): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${AUTODISCOVER_RESPONSE_NS}">`,
    "  <Response>",
    `    <Error Time="${new Date().toISOString().slice(11, 19)}" Id="0">`,
    `      <ErrorCode>${code}</ErrorCode>`,
    `      <Message>${x(message)}</Message>`,
    "      <DebugData />",
    "    </Error>",
    "  </Response>",
    "</Autodiscover>",
    "",
  ].join("\n");
}

/**
 * Autodiscover v2 (JSON): for Protocol=AutodiscoverV1 the URL of the POX endpoint on this server;
 * other protocols (EWS, ActiveSync) are not offered.
 */
export function autodiscoverJson(config: Cfg, protocol: string): { status: 200 | 400; body: object } {
  if (protocol.toLowerCase() !== "autodiscoverv1")
    return {
      status: 400,
      body: {
        ErrorCode: "InvalidProtocol",
        ErrorMessage: "The given protocol value is invalid. Supported values are 'AutodiscoverV1'.",
      },
    };
  const port = httpsPort(config);
  const url = `https://${advertisedHost(config)}${port === 443 ? "" : `:${port}`}/autodiscover/autodiscover.xml`;
  return { status: 200, body: { Protocol: "AutodiscoverV1", Url: url } };
}
