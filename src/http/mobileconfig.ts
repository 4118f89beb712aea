/**
 * The Apple configuration profile (`.mobileconfig`, an XML property list) for a logged-in user:
 * one `com.apple.mail.managed` payload with the configured IMAP (or POP3) and submission servers.
 * Unsigned; the password is not in it (the device asks for it). The UUIDs are derived from the
 * host name and the address, so installing it again replaces the earlier profile.
 */
import { createHash } from "node:crypto";
import type { ResolvedConfig } from "../config/index.ts";
import { advertisedHost, advertisedServers } from "./advertised.ts";
import { xmlEscape as x } from "./xml.ts";

/** A UUID-shaped (RFC 9562 §5.8 "custom") value derived from the given strings. */
function derivedUuid(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\0")).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = h.subarray(0, 16).toString("hex").toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `<key>k</key>` + value lines of a plist dict. */
function entry(key: string, value: string | number | boolean, indent: string): string {
  const v =
    typeof value === "boolean"
      ? `<${value}/>`
      : typeof value === "number"
        ? `<integer>${value}</integer>`
        : `<string>${x(value)}</string>`;
  return `${indent}<key>${x(key)}</key>\n${indent}${v}`;
}

/** The profile, or null when neither IMAP/POP3 nor submission is configured. */
export function mobileconfig(
  config: Pick<ResolvedConfig, "hostname" | "imap" | "pop3" | "smtp">,
  address: string,
): string | null {
  const host = advertisedHost(config);
  const servers = advertisedServers(config);
  const incoming = servers.find((s) => s.protocol !== "smtp");
  const outgoing = servers.find((s) => s.protocol === "smtp");
  if (!incoming || !outgoing) return null;
  const reverse = host.split(".").reverse().join(".") || "localhost";
  const id = `${reverse}.mail.${address}`;
  const i = "\t\t\t";
  const mail = [
    entry("EmailAccountDescription", address, i),
    entry("EmailAccountName", address, i),
    entry("EmailAccountType", incoming.protocol === "imap" ? "EmailTypeIMAP" : "EmailTypePOP", i),
    entry("EmailAddress", address, i),
    entry("IncomingMailServerAuthentication", "EmailAuthPassword", i),
    entry("IncomingMailServerHostName", host, i),
    entry("IncomingMailServerPortNumber", incoming.port, i),
    // true = TLS: implicit on the TLS port, STARTTLS on the plain one
    entry("IncomingMailServerUseSSL", true, i),
    entry("IncomingMailServerUsername", address, i),
    entry("OutgoingMailServerAuthentication", "EmailAuthPassword", i),
    entry("OutgoingMailServerHostName", host, i),
    entry("OutgoingMailServerPortNumber", outgoing.port, i),
    entry("OutgoingMailServerUseSSL", true, i),
    entry("OutgoingMailServerUsername", address, i),
    entry("OutgoingPasswordSameAsIncomingPassword", true, i),
    entry("PayloadDescription", `Mail account ${address}`, i),
    entry("PayloadDisplayName", address, i),
    entry("PayloadIdentifier", `${id}.account`, i),
    entry("PayloadType", "com.apple.mail.managed", i),
    entry("PayloadUUID", derivedUuid(host, address, "account"), i),
    entry("PayloadVersion", 1, i),
  ];
  const t = "\t";
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    `${t}<key>PayloadContent</key>`,
    `${t}<array>`,
    `${t}\t<dict>`,
    ...mail,
    `${t}\t</dict>`,
    `${t}</array>`,
    entry("PayloadDescription", `Mail settings for ${address} at ${host}`, t),
    entry("PayloadDisplayName", `Mail (${address})`, t),
    entry("PayloadIdentifier", id, t),
    entry("PayloadOrganization", host, t),
    entry("PayloadRemovalDisallowed", false, t),
    entry("PayloadType", "Configuration", t),
    entry("PayloadUUID", derivedUuid(host, address, "profile"), t),
    entry("PayloadVersion", 1, t),
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}
