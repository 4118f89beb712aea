/**
 * MTA-STS (RFC 8461): a domain publishes `_mta-sts.<domain> TXT "v=STSv1; id=…"` and a policy at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt naming its MX hosts and a mode. In mode
 * "enforce" mail goes only to MX hosts that match the policy, over STARTTLS with a certificate
 * valid for the host name; otherwise delivery is deferred (RFC 8461 §5, §5.1). "testing" only logs.
 *
 * - Policies are cached in memory per runner for max_age (§3.3) and refreshed when the TXT id
 *   changes; a cached enforce policy stays in force when the TXT record or the fetch fails
 *   (§5.1: this is what defeats a downgrade by DNS or HTTPS blocking).
 * - The fetch uses our resolver for the address of mta-sts.<domain>, no redirects (§3.3), at
 *   most 64 KiB, text/plain, HTTPS with certificate checks (system CAs plus outbound.tls_ca).
 */
import { request } from "node:https";
import { isIP } from "node:net";
import type { OutboundResolver } from "./resolver.ts";

export interface MtaStsPolicy {
  mode: "enforce" | "testing" | "none";
  mx: string[];
  maxAge: number;
  id: string;
}

/** RFC 8461 §3.2: "key: value" lines; version STSv1, mode, one or more mx, max_age. */
export function parsePolicy(text: string, id = ""): MtaStsPolicy | null {
  let version = "";
  let mode = "";
  let maxAge = -1;
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    // RFC 8461 §3.2 "key: value" lines; split by hand, not with a RegExp: `[ \t]*(.*?)[ \t]*$`
    // is quadratic on a long run of blanks inside a value (the policy is remote input)
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const k = line.slice(0, colon);
    if (!/^[A-Za-z0-9_]+$/.test(k)) continue;
    let a = colon + 1;
    let b = line.length;
    while (a < b && (line[a] === " " || line[a] === "\t")) a++;
    while (b > a && (line[b - 1] === " " || line[b - 1] === "\t")) b--;
    const v = line.slice(a, b);
    if (k === "version") version = v;
    else if (k === "mode") mode = v;
    else if (k === "max_age" && /^\d{1,10}$/.test(v)) maxAge = Number(v);
    else if (k === "mx") mx.push(v.toLowerCase().replace(/\.$/, ""));
  }
  if (version !== "STSv1" || maxAge < 0) return null;
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") return null;
  if (mode !== "none" && mx.length === 0) return null;
  return { mode, mx, maxAge: Math.min(maxAge, 31_557_600), id };
}

/** RFC 8461 §4.1: exact match, or "*.example.com" matching exactly one leftmost label. */
export function mxMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, "");
  const h = host.toLowerCase().replace(/\.$/, "");
  if (p.startsWith("*.")) {
    const rest = p.slice(1); // ".example.com"
    if (!h.endsWith(rest)) return false;
    const label = h.slice(0, h.length - rest.length);
    return label.length > 0 && !label.includes(".");
  }
  return p === h;
}

export interface MtaStsOptions {
  resolver: OutboundResolver;
  /** extra trusted CA certificates (PEM) for the policy fetch and enforced SMTP TLS */
  ca?: string[];
  /** @internal tests: HTTPS port of the policy host (443) */
  httpsPort?: number;
  timeoutMs?: number;
  now?: () => number;
}

export interface MtaSts {
  /** the domain's policy, or null when it has none (or only mode none) */
  policyFor(domain: string): Promise<MtaStsPolicy | null>;
  readonly ca: string[] | undefined;
}

const MAX_POLICY = 64 * 1024;

function txtId(records: unknown[]): string | null {
  // §3.1: exactly one record starting with v=STSv1; otherwise as if none
  const sts = records
    .map((r) => (Array.isArray(r) ? r.join("") : String(r)))
    .filter((t) => /^v=STSv1;/i.test(t.trim()));
  if (sts.length !== 1) return null;
  const m = /(?:^|;)\s*id=([A-Za-z0-9]{1,32})\s*(?:;|$)/.exec(sts[0]!);
  return m ? m[1]! : null;
}

export function createMtaSts(o: MtaStsOptions): MtaSts {
  const cache = new Map<string, { policy: MtaStsPolicy; expires: number }>();
  const now = o.now ?? Date.now;

  async function fetchPolicy(domain: string): Promise<string | null> {
    const host = `mta-sts.${domain}`;
    let ip = host;
    if (!isIP(host)) {
      const ips = [];
      for (const rr of ["A", "AAAA"]) {
        try {
          ips.push(...((await o.resolver(host, rr)) as string[]));
        } catch {
          // next family
        }
      }
      if (ips.length === 0) return null;
      ip = ips[0]!;
    }
    return new Promise((resolve) => {
      const req = request(
        {
          host: ip,
          servername: host,
          port: o.httpsPort ?? 443,
          path: "/.well-known/mta-sts.txt",
          method: "GET",
          headers: { host },
          timeout: o.timeoutMs ?? 30_000,
          ...(o.ca ? { ca: o.ca } : {}),
          // default checkServerIdentity against servername (the policy host)
        },
        (res) => {
          // §3.3: no redirects; only 200 with text/plain
          const type = String(res.headers["content-type"] ?? "");
          if (res.statusCode !== 200 || !/^text\/plain/i.test(type)) {
            res.resume();
            return resolve(null);
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_POLICY) {
              req.destroy();
              resolve(null);
            } else chunks.push(c);
          });
          res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
          res.on("error", () => resolve(null));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => resolve(null));
      req.end();
    });
  }

  return {
    ca: o.ca,
    async policyFor(domain) {
      const d = domain.toLowerCase();
      const cached = cache.get(d);
      const t = now();
      let id: string | null = null;
      try {
        id = txtId(await o.resolver(`_mta-sts.${d}`, "TXT"));
      } catch {
        id = null;
      }
      if (cached && cached.expires > t && (id === null || id === cached.policy.id)) {
        return cached.policy.mode === "none" ? null : cached.policy;
      }
      if (id === null) {
        // no (valid) record: a cached unexpired policy still applies (§5.1)
        if (cached && cached.expires > t) return cached.policy.mode === "none" ? null : cached.policy;
        return null;
      }
      const text = await fetchPolicy(d);
      const policy = text ? parsePolicy(text, id) : null;
      if (!policy) {
        if (cached && cached.expires > t) return cached.policy.mode === "none" ? null : cached.policy;
        return null;
      }
      cache.set(d, { policy, expires: t + policy.maxAge * 1000 });
      return policy.mode === "none" ? null : policy;
    },
  };
}
