/**
 * DNS for outbound delivery: one function shape for every lookup, `(name, rrtype) => records`,
 * the same shape mailauth takes, so one resolver (system, explicit servers or a static fixture)
 * serves MX lookups, DKIM verification in tests and `postkontor dns --check`.
 *
 * Errors follow node:dns: an Error with `code` ENODATA (name exists, no such records) or
 * ENOTFOUND (NXDOMAIN); anything else is a temporary failure.
 */
import { Resolver } from "node:dns/promises";
import { readFileSync } from "node:fs";

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

/** node:dns, optionally with explicit servers ("1.2.3.4", "1.2.3.4:5353", "[::1]:53"). */
export function systemResolver(servers: string[] = []): OutboundResolver {
  const r = new Resolver({ timeout: 10_000, tries: 2 });
  if (servers.length > 0) r.setServers(servers);
  return async (name, rrtype) => {
    switch (rrtype.toUpperCase()) {
      case "MX":
        return r.resolveMx(name);
      case "A":
        return r.resolve4(name);
      case "AAAA":
        return r.resolve6(name);
      case "TXT":
        return r.resolveTxt(name);
      case "CNAME":
        return r.resolveCname(name);
      case "SRV":
        return r.resolveSrv(name);
      default:
        return r.resolve(name, rrtype) as Promise<unknown[]>;
    }
  };
}

/** From the config value outbound.resolver ("" | "ip[:port],…" | "file:/path.json"). */
export function createResolver(spec: string): OutboundResolver {
  const s = spec.trim();
  if (s === "") return systemResolver();
  if (s.startsWith("file:")) {
    const fixture = JSON.parse(readFileSync(s.slice(5), "utf8")) as DnsFixture;
    return fixtureResolver(fixture);
  }
  return systemResolver(
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );
}

export function dnsCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}
