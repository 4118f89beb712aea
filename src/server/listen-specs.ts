/**
 * Which listeners each protocol opens for a config: the addresses, implicit TLS or not, PROXY
 * protocol, and what the protocol needs to know about a connection from them (its mode). Pure
 * data from the config, so the primary — which loads no protocol (docs/architecture.md "Process
 * model") — can check the fixed ports before the workers bind them (cluster.ts); services.ts
 * builds the protocol services over the same specs.
 */
import type { ResolvedConfig } from "../config/index.ts";
import { parseListenAddress } from "../net/address.ts";
import { type ProxyOptions, parseCidr } from "../net/proxy.ts";
import type { SmtpMode } from "../smtp/index.ts";

/** Listeners of one kind: the protocol name logged, the addresses, implicit TLS or not. */
export interface ListenerSpec<M> {
  protocol: string;
  addresses: readonly string[];
  implicitTls: boolean;
  /** what the service needs to know about a connection from these listeners */
  mode: M;
  /** PROXY protocol v2 in front of these listeners (net/proxy.ts); null/absent = off */
  proxy?: ProxyOptions | null;
}

/** The PROXY protocol settings of a protocol section (`proxy_protocol`, `proxy_trusted`, `proxy_timeout`). */
export function proxyOptions(section: {
  proxy_protocol: boolean;
  proxy_trusted: readonly string[];
  proxy_timeout: number;
}): ProxyOptions | null {
  if (!section.proxy_protocol) return null;
  return { trusted: section.proxy_trusted.map(parseCidr), timeoutMs: section.proxy_timeout, maxLength: 512 };
}

/** plain and implicit-TLS listeners of a protocol whose connections need no mode */
function plainAndTls(
  protocol: string,
  section: {
    listen: readonly string[];
    listen_tls: readonly string[];
    proxy_protocol: boolean;
    proxy_trusted: readonly string[];
    proxy_timeout: number;
  },
): ListenerSpec<null>[] {
  const proxy = proxyOptions(section);
  return [
    { protocol, addresses: section.listen, implicitTls: false, mode: null, proxy },
    { protocol: `${protocol}s`, addresses: section.listen_tls, implicitTls: true, mode: null, proxy },
  ];
}

/** Each protocol's listeners and whether it runs: what the service registry (services.ts) is built on. */
export const PROTOCOL_LISTENERS = {
  imap: {
    enabled: (c: ResolvedConfig) => c.imap.enabled,
    listeners: (c: ResolvedConfig) => plainAndTls("imap", c.imap),
  },
  pop3: {
    enabled: (c: ResolvedConfig) => c.pop3.enabled,
    listeners: (c: ResolvedConfig) => plainAndTls("pop3", c.pop3),
  },
  smtp: { enabled: (c: ResolvedConfig) => c.smtp.enabled, listeners: smtpListeners },
  http: {
    enabled: (c: ResolvedConfig) => c.http.enabled,
    listeners: (c: ResolvedConfig) => plainAndTls("http", c.http),
  },
};

function smtpListeners(c: ResolvedConfig): ListenerSpec<SmtpMode>[] {
  const proxy = proxyOptions(c.smtp);
  return [
    { protocol: "smtp", addresses: c.smtp.listen, implicitTls: false, mode: "mx", proxy },
    { protocol: "submission", addresses: c.smtp.submission, implicitTls: false, mode: "submission", proxy },
    // RFC 8314 §3.3: submissions is implicit TLS
    { protocol: "submissions", addresses: c.smtp.submissions, implicitTls: true, mode: "submissions", proxy },
  ];
}

/** the listeners of every enabled protocol, in the order the services start */
export function enabledListeners(c: ResolvedConfig): ListenerSpec<unknown>[] {
  return Object.values(PROTOCOL_LISTENERS).flatMap((p): ListenerSpec<unknown>[] =>
    p.enabled(c) ? p.listeners(c) : [],
  );
}

/** the addresses with a fixed port (not 0) of every enabled listener */
export function fixedPortAddresses(c: ResolvedConfig): string[] {
  return enabledListeners(c)
    .flatMap((s) => s.addresses)
    .filter((a) => parseListenAddress(a).port !== 0);
}

/**
 * Whether the workers of a cluster bind fixed ports themselves (SO_REUSEPORT; Linux, where the
 * kernel balances connections over the sockets of one port) instead of the primary accepting
 * every connection and handing it to a worker over IPC.
 */
export function reusesPorts(c: Pick<ResolvedConfig, "server">): boolean {
  return c.server.reuse_port && process.platform === "linux";
}
