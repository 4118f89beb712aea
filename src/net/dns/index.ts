/**
 * The server's DNS resolver from the config ([dns]): one per process, shared by sender
 * authentication (src/smtp/authn.ts via mailauth's resolver hook) and outbound delivery
 * (src/smtp/queue), so both see one cache and one bound on concurrent queries.
 */
import { getServers } from "node:dns";
import { isIP } from "node:net";
import { unmapIpv4 } from "../address.ts";
import { createDnsResolver, type DnsLookup, type DnsResolver } from "./resolver.ts";
import { type DnsServer, parseServer } from "./transport.ts";

export {
  createDnsResolver,
  type DnsLookup,
  type DnsResolver,
  type DnsResolverOptions,
  type DnsResolverStats,
  withBudget,
} from "./resolver.ts";
export { type DnsServer, dnsError, parseServer } from "./transport.ts";

export interface DnsConfig {
  servers: string;
  timeout: number;
  attempts: number;
  max_concurrent: number;
  max_queued: number;
  cache_entries: number;
  max_ttl: number;
  negative_ttl: number;
}

/** "ip[:port],…" → servers; "" → the system's nameservers (RFC 1035 §6.1: at least one; loopback else) */
export function dnsServers(spec: string): DnsServer[] {
  const list = spec
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  if (list.length > 0) return list.map(parseServer);
  const sys = getServers();
  return (sys.length > 0 ? sys : ["127.0.0.1"]).map(parseServer);
}

export function resolverFromConfig(c: DnsConfig, servers: DnsServer[] = dnsServers(c.servers)): DnsResolver {
  return createDnsResolver({
    servers,
    timeoutMs: c.timeout,
    attempts: c.attempts,
    maxConcurrent: c.max_concurrent,
    maxQueued: c.max_queued,
    cacheEntries: c.cache_entries,
    maxTtlMs: c.max_ttl,
    negativeTtlMs: c.negative_ttl,
  });
}

let shared: { key: string; resolver: DnsResolver } | null = null;

/** The process's resolver for this [dns] config (made on first use; a changed config makes a new one). */
export function processResolver(c: DnsConfig): DnsLookup {
  const key = JSON.stringify(c);
  if (!shared || shared.key !== key) shared = { key, resolver: resolverFromConfig(c) };
  return shared.resolver.lookup;
}

/**
 * The PTR name of an address (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa); null when the
 * text is not an IP address.
 */
export function reverseName(ip: string): string | null {
  const a = unmapIpv4(ip);
  const v = isIP(a);
  if (v === 4) return `${a.split(".").reverse().join(".")}.in-addr.arpa`;
  if (v !== 6 || a.includes(".")) return null; // an embedded IPv4 tail: not worth a lookup
  const [head = "", tail = ""] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = a.includes("::") ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  const nibbles = groups.map((g) => g.padStart(4, "0")).join("");
  return `${[...nibbles].reverse().join(".")}.ip6.arpa`;
}
