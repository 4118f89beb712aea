/**
 * The DNS resolver of the whole server (sender authentication through mailauth, outbound MX
 * lookups, MTA-STS): a stub resolver asking the configured recursive servers (transport.ts), with
 * - an in-process cache honouring each answer's TTL (RFC 1035 §3.2.1; the smallest TTL of the
 *   RRset, capped by maxTtlMs),
 * - negative caching of NXDOMAIN and NODATA for the SOA's TTL/minimum (RFC 2308 §5), capped by
 *   negativeTtlMs; without an SOA in the authority section nothing is cached (RFC 2308 §5),
 * - coalescing: identical questions in flight share one query,
 * - at most maxConcurrent queries on the wire; the rest wait in a FIFO queue of at most maxQueued
 *   (beyond it: ETIMEOUT at once — a temporary failure, never a wrong answer),
 * - CNAME chains followed within the answer, and re-asked for the target when the server stopped
 *   at the alias (at most 8 links, RFC 1034 §3.6.2).
 *
 * The function shape is node:dns's and mailauth's: `(name, rrtype) => records`; errors carry
 * `code` ENOTFOUND (NXDOMAIN), ENODATA (no such records), anything else is temporary
 * (ETIMEOUT, ESERVFAIL, EREFUSED …). A per-message time budget is a wrapper (withBudget).
 */
import { type DnsServer, dnsError, exchange } from "./transport.ts";
import { type DnsResponse, normalizeName, RCODE, type SoaData } from "./wire.ts";

export type DnsLookup = (name: string, rrtype: string) => Promise<unknown[]>;

export interface DnsResolverOptions {
  servers: DnsServer[];
  timeoutMs: number;
  attempts: number;
  maxConcurrent: number;
  maxQueued: number;
  cacheEntries: number;
  maxTtlMs: number;
  negativeTtlMs: number;
  /** clock for cache expiry (tests) */
  now?: () => number;
}

export interface DnsResolverStats {
  /** queries sent (after cache and coalescing) */
  queries: number;
  cacheHits: number;
  coalesced: number;
  inFlight: number;
  queued: number;
  /** highest inFlight seen */
  peakInFlight: number;
}

interface CacheEntry {
  expires: number;
  records?: unknown[];
  code?: string;
}

interface Answer {
  records?: unknown[];
  code?: string;
  /** ms to cache; 0 = not cacheable */
  ttlMs: number;
  /** a CNAME target the server did not resolve further */
  chase?: string;
}

const MAX_CNAME = 8;

export interface DnsResolver {
  lookup: DnsLookup;
  stats(): DnsResolverStats;
  clearCache(): void;
}

export function createDnsResolver(o: DnsResolverOptions): DnsResolver {
  const now = o.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const transport = { servers: o.servers, timeoutMs: o.timeoutMs, attempts: o.attempts, rtt: new Map() };
  const inflight = new Map<string, Promise<Answer>>();
  const waiting: Array<() => void> = [];
  const st: DnsResolverStats = {
    queries: 0,
    cacheHits: 0,
    coalesced: 0,
    inFlight: 0,
    queued: 0,
    peakInFlight: 0,
  };

  const acquire = (name: string, rrtype: string): Promise<void> | null => {
    if (st.inFlight < o.maxConcurrent) {
      st.inFlight++;
      if (st.inFlight > st.peakInFlight) st.peakInFlight = st.inFlight;
      return null;
    }
    if (waiting.length >= o.maxQueued) throw dnsError("ETIMEOUT", name, rrtype, "DNS query queue full");
    st.queued++;
    return new Promise((resolve) =>
      waiting.push(() => {
        st.queued--;
        st.inFlight++;
        if (st.inFlight > st.peakInFlight) st.peakInFlight = st.inFlight;
        resolve();
      }),
    );
  };
  const release = (): void => {
    st.inFlight--;
    const next = waiting.shift();
    if (next) next();
  };

  const remember = (key: string, a: Answer): void => {
    if (a.ttlMs <= 0 || o.cacheEntries <= 0) return;
    if (cache.size >= o.cacheEntries) {
      // drop the oldest insertion (Map order); expired entries go first when found on read
      const first = cache.keys().next();
      if (!first.done) cache.delete(first.value);
    }
    cache.set(key, { expires: now() + a.ttlMs, ...(a.records ? { records: a.records } : { code: a.code! }) });
  };

  const interpret = (res: DnsResponse, name: string, rrtype: string): Answer => {
    if (res.rcode === RCODE.NXDOMAIN || res.rcode === RCODE.NOERROR) {
      // follow the CNAME chain the server gave (RFC 1034 §4.3.2 step 3a)
      let owner = name;
      for (let i = 0; i <= MAX_CNAME; i++) {
        if (rrtype === "CNAME") break;
        const alias = res.answers.find((r) => r.type === "CNAME" && r.name === owner);
        if (!alias) break;
        owner = alias.data as string;
      }
      const rrs = res.answers.filter((r) => r.type === rrtype && r.name === owner);
      if (rrs.length > 0) {
        const ttl = Math.min(
          ...rrs.map((r) => r.ttl),
          ...res.answers.filter((r) => r.type === "CNAME").map((r) => r.ttl),
        );
        return { records: rrs.map((r) => r.data), ttlMs: Math.min(ttl * 1000, o.maxTtlMs) };
      }
      if (owner !== name && res.rcode === RCODE.NOERROR && !res.authority.some((r) => r.type === "SOA"))
        return { ttlMs: 0, chase: owner };
      // RFC 2308 §5: negative answers are cached for min(SOA TTL, SOA MINIMUM)
      const soa = res.authority.find((r) => r.type === "SOA");
      const negTtl = soa ? Math.min(soa.ttl, (soa.data as SoaData).minimum) * 1000 : 0;
      return {
        code: res.rcode === RCODE.NXDOMAIN ? "ENOTFOUND" : "ENODATA",
        ttlMs: Math.min(negTtl, o.negativeTtlMs),
      };
    }
    // SERVFAIL, REFUSED, …: temporary; not cached
    const code =
      res.rcode === RCODE.SERVFAIL ? "ESERVFAIL" : res.rcode === RCODE.REFUSED ? "EREFUSED" : "EBADRESP";
    return { code, ttlMs: 0 };
  };

  const ask = async (key: string, name: string, rrtype: string): Promise<Answer> => {
    const wait = acquire(name, rrtype);
    if (wait) await wait;
    try {
      st.queries++;
      const res = await exchange(transport, name, rrtype);
      const a = interpret(res, name, rrtype);
      remember(key, a);
      return a;
    } finally {
      release();
    }
  };

  const lookupOnce = async (name: string, rrtype: string): Promise<Answer> => {
    const key = `${rrtype} ${name}`;
    const hit = cache.get(key);
    if (hit) {
      if (hit.expires > now()) {
        st.cacheHits++;
        return { ttlMs: 0, ...(hit.records ? { records: hit.records } : { code: hit.code! }) };
      }
      cache.delete(key);
    }
    const running = inflight.get(key);
    if (running) {
      st.coalesced++;
      return running;
    }
    const p = ask(key, name, rrtype).finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  };

  const lookup: DnsLookup = async (qname, type) => {
    const rrtype = type.toUpperCase();
    let name: string;
    try {
      name = normalizeName(qname);
    } catch {
      throw dnsError("EBADNAME", qname, rrtype);
    }
    for (let i = 0; i <= MAX_CNAME; i++) {
      const a = await lookupOnce(name, rrtype);
      if (a.chase) {
        name = a.chase;
        continue;
      }
      // copies: callers may change what they get, the cache keeps its own
      if (a.records)
        return a.records.map((r) => (Array.isArray(r) ? [...r] : typeof r === "object" ? { ...r } : r));
      throw dnsError(a.code!, qname, rrtype);
    }
    throw dnsError("ESERVFAIL", qname, rrtype, "CNAME chain too long");
  };

  return {
    lookup,
    stats: () => ({ ...st }),
    clearCache: () => cache.clear(),
  };
}

/**
 * A per-use time budget over a lookup function: once `budgetMs` has passed since the wrapper was
 * made, every pending and later lookup fails with ETIMEOUT (so mailauth ends the check as
 * temperror, RFC 7208 §2.6.6 / RFC 8601 §2.7) instead of holding the SMTP connection. The
 * underlying query keeps running and fills the cache for the next message.
 */
export function withBudget(lookup: DnsLookup, budgetMs: number, now: () => number = Date.now): DnsLookup {
  const deadline = now() + budgetMs;
  return (name, rrtype) => {
    const left = deadline - now();
    if (left <= 0) return Promise.reject(dnsError("ETIMEOUT", name, rrtype, "time budget spent"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(dnsError("ETIMEOUT", name, rrtype, "time budget spent")), left);
      lookup(name, rrtype).then(
        (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  };
}
