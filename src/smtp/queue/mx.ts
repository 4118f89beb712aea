/**
 * Where mail for a domain goes (RFC 5321 §5.1): its MX hosts by preference, else the domain
 * itself (implicit MX); each host's IPv4 then IPv6 addresses. A null MX (RFC 7505) means the
 * domain accepts no mail: a permanent failure.
 */
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { dnsCode, type MxRecord, type OutboundResolver } from "./resolver.ts";

export interface MxHost {
  host: string;
  ips: string[];
}

export type MxResult =
  | { ok: true; hosts: MxHost[] }
  | { ok: false; permanent: boolean; status: string; message: string };

const MAX_MX_HOSTS = 10;

async function addresses(resolver: OutboundResolver, host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  const out: string[] = [];
  for (const rr of ["A", "AAAA"] as const) {
    try {
      for (const ip of await resolver(host, rr)) if (typeof ip === "string" && isIP(ip)) out.push(ip);
    } catch {
      // a missing family is normal; a host with neither is skipped by the caller
    }
  }
  return out;
}

export async function lookupMx(domain: string, resolver: OutboundResolver): Promise<MxResult> {
  // RFC 5890: DNS names are looked up as A-labels
  const ascii = domainToASCII(domain.toLowerCase());
  if (!ascii) return { ok: false, permanent: true, status: "5.1.2", message: `invalid domain ${domain}` };
  // RFC 5321 §4.1.3: an address literal [1.2.3.4] is delivered to that address
  const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain);
  if (literal && isIP(literal[1]!)) return { ok: true, hosts: [{ host: literal[1]!, ips: [literal[1]!] }] };
  let mx: MxRecord[] = [];
  try {
    mx = (await resolver(ascii, "MX")) as MxRecord[];
  } catch (e) {
    const code = dnsCode(e);
    if (code === "ENOTFOUND")
      return { ok: false, permanent: true, status: "5.1.2", message: `domain ${ascii} does not exist` };
    if (code !== "ENODATA")
      return {
        ok: false,
        permanent: false,
        status: "4.4.3",
        message: `MX lookup for ${ascii} failed: ${code ?? e}`,
      };
    mx = [];
  }
  // RFC 7505 §3: one MX with an empty exchange ("." in zone files) = the domain takes no mail
  if (mx.length === 1 && (mx[0]!.exchange === "" || mx[0]!.exchange === ".")) {
    return {
      ok: false,
      permanent: true,
      status: "5.1.10",
      message: `domain ${ascii} accepts no mail (null MX)`,
    };
  }
  let names: string[];
  if (mx.length === 0) {
    names = [ascii]; // RFC 5321 §5.1: no MX → the domain itself is the implicit MX
  } else {
    // lowest preference first; equal preferences in random order (RFC 5321 §5.1)
    const shuffled = mx.map((m) => ({ m, r: Math.random() }));
    shuffled.sort((a, b) => a.m.priority - b.m.priority || a.r - b.r);
    names = shuffled.map((x) => x.m.exchange.replace(/\.$/, "").toLowerCase()).slice(0, MAX_MX_HOSTS);
  }
  const hosts: MxHost[] = [];
  for (const host of names) {
    const ips = await addresses(resolver, host);
    if (ips.length > 0) hosts.push({ host, ips });
  }
  if (hosts.length === 0)
    return {
      ok: false,
      // implicit MX without an address is permanent; MX hosts without addresses may be a DNS hiccup
      permanent: mx.length === 0,
      status: mx.length === 0 ? "5.1.2" : "4.4.3",
      message: `no address for the mail hosts of ${ascii}`,
    };
  return { ok: true, hosts };
}
