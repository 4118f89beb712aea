/**
 * DNS for outbound delivery: one function shape for every lookup, `(name, rrtype) => records`,
 * the same shape mailauth takes, so one resolver (the server's own, src/net/dns, or a static
 * fixture) serves MX lookups, sender authentication, DKIM verification in tests and
 * `postkontor dns --check`.
 *
 * Errors follow node:dns: an Error with `code` ENODATA (name exists, no such records) or
 * ENOTFOUND (NXDOMAIN); anything else is a temporary failure.
 */
import { readFileSync } from "node:fs";
import { type DnsConfig, dnsServers, processResolver, resolverFromConfig } from "../../net/dns/index.ts";

export interface MxRecord {
  exchange: string;
  priority: number;
}

/** MX → MxRecord[]; A / AAAA → string[]; TXT → string[][] (chunks). */
export type OutboundResolver = (name: string, rrtype: string) => Promise<unknown[]>;

export type DnsFixture = Partial<Record<string, Record<string, unknown[]>>>;

function dnsError(code: "ENODATA" | "ENOTFOUND", name: string, rrtype: string): Error {
  const e = new Error(`${rrtype} ${name}: ${code}`) as Error & { code: string; hostname: string };
  e.code = code;
  e.hostname = name;
  return e;
}

/** A resolver answering from a static table (tests, closed networks). Names match case-insensitively. */
export function fixtureResolver(fixture: DnsFixture): OutboundResolver {
  const table = new Map<string, Map<string, unknown[]>>();
  for (const [rrtype, names] of Object.entries(fixture)) {
    for (const [name, records] of Object.entries(names ?? {})) {
      const key = name.toLowerCase().replace(/\.$/, "");
      let m = table.get(key);
      if (!m) {
        m = new Map();
        table.set(key, m);
      }
      m.set(rrtype.toUpperCase(), records);
    }
  }
  return async (name, rrtype) => {
    const m = table.get(name.toLowerCase().replace(/\.$/, ""));
    if (!m) throw dnsError("ENOTFOUND", name, rrtype);
    const r = m.get(rrtype.toUpperCase());
    if (!r || r.length === 0) throw dnsError("ENODATA", name, rrtype);
    // TXT answers are chunk arrays (node:dns); a fixture may give plain strings
    if (rrtype.toUpperCase() === "TXT") return r.map((x) => (Array.isArray(x) ? x : [String(x)]));
    return r;
  };
}

/** From the config value outbound.resolver ("" | "ip[:port],…" | "file:/path.json") and [dns]. */
export function createResolver(spec: string, dns: DnsConfig): OutboundResolver {
  const s = spec.trim();
  if (s === "") return processResolver(dns);
  if (s.startsWith("file:")) {
    const fixture = JSON.parse(readFileSync(s.slice(5), "utf8")) as DnsFixture;
    return fixtureResolver(fixture);
  }
  return resolverFromConfig(dns, dnsServers(s)).lookup;
}

export function dnsCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}
