/**
 * The server's own DNS resolver (src/net/dns) against a local DNS server that drops, delays,
 * truncates and holds queries: loss and retry (UDP, then TCP), truncation → TCP, coalescing,
 * the TTL cache with an injectable clock, negative caching, the concurrency bound with its queue,
 * CNAME following and the per-message time budget.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { createDnsResolver, type DnsResolverOptions, withBudget } from "../../src/net/dns/index.ts";
import { parseServer } from "../../src/net/dns/transport.ts";
import { startDnsServer, type TestDnsServer } from "../kit/dns-server.ts";

const ZONE = {
  "example.test": [
    { type: "A", ttl: 60, data: "192.0.2.10" },
    { type: "TXT", ttl: 60, data: ["v=spf1 ", "-all"] },
    { type: "MX", ttl: 60, data: { priority: 10, exchange: "mx.example.test" } },
  ],
  "mx.example.test": [{ type: "A", ttl: 60, data: "192.0.2.25" }],
  "v6.example.test": [{ type: "AAAA", ttl: 60, data: "2001:db8::1" }],
  "alias.example.test": [{ type: "CNAME", ttl: 30, data: "example.test" }],
  "10.2.0.192.in-addr.arpa": [{ type: "PTR", ttl: 60, data: "example.test" }],
};

let dns: TestDnsServer;
let clock = 1_000_000;

function resolver(over: Partial<DnsResolverOptions> = {}) {
  return createDnsResolver({
    servers: [parseServer(dns.address)],
    timeoutMs: 150,
    attempts: 3,
    maxConcurrent: 16,
    maxQueued: 100,
    cacheEntries: 1000,
    maxTtlMs: 86_400_000,
    negativeTtlMs: 900_000,
    now: () => clock,
    ...over,
  });
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return String((e as { code?: string }).code);
  }
}

describe("DNS resolver", () => {
  before(async () => {
    dns = await startDnsServer(structuredClone(ZONE), { negativeTtl: 120 });
  });
  after(async () => {
    await dns.close();
  });
  beforeEach(() => {
    dns.queries.length = 0;
    dns.policy = () => "answer";
    dns.zone = structuredClone(ZONE);
    clock = 1_000_000;
  });

  test("answers A, AAAA, MX, TXT (chunks) and PTR in node:dns shapes", async () => {
    const r = resolver();
    assert.deepEqual(await r.lookup("Example.TEST.", "A"), ["192.0.2.10"]);
    assert.deepEqual(await r.lookup("v6.example.test", "AAAA"), ["2001:db8::1"]);
    assert.deepEqual(await r.lookup("example.test", "MX"), [{ priority: 10, exchange: "mx.example.test" }]);
    assert.deepEqual(await r.lookup("example.test", "TXT"), [["v=spf1 ", "-all"]]);
    assert.deepEqual(await r.lookup("10.2.0.192.in-addr.arpa", "PTR"), ["example.test"]);
  });

  test("NXDOMAIN is ENOTFOUND, no records of the type is ENODATA", async () => {
    const r = resolver();
    assert.equal(await code(r.lookup("nothing.example.test", "A")), "ENOTFOUND");
    assert.equal(await code(r.lookup("mx.example.test", "TXT")), "ENODATA");
  });

  test("follows a CNAME to the records of its target", async () => {
    const r = resolver();
    assert.deepEqual(await r.lookup("alias.example.test", "A"), ["192.0.2.10"]);
    assert.deepEqual(await r.lookup("alias.example.test", "CNAME"), ["example.test"]);
  });

  test("lost UDP answers are retried; the last attempt goes over TCP", async () => {
    dns.policy = (q) => (q.tcp ? "answer" : "drop");
    const r = resolver();
    assert.deepEqual(await r.lookup("example.test", "A"), ["192.0.2.10"]);
    assert.deepEqual(
      dns.queries.map((q) => q.tcp),
      [false, false, true],
    );
  });

  test("one lost UDP answer: the retry over UDP gets it", async () => {
    dns.policy = (q) => (q.n === 1 ? "drop" : "answer");
    const r = resolver();
    assert.deepEqual(await r.lookup("example.test", "A"), ["192.0.2.10"]);
    assert.equal(dns.queries.length, 2);
    assert.equal(dns.queries[1]!.tcp, false);
  });

  test("a truncated UDP answer is asked again over TCP (RFC 7766 §5)", async () => {
    dns.policy = () => "truncate";
    const r = resolver();
    assert.deepEqual(await r.lookup("example.test", "TXT"), [["v=spf1 ", "-all"]]);
    assert.deepEqual(
      dns.queries.map((q) => q.tcp),
      [false, true],
    );
  });

  test("a delayed answer within the timeout is taken", async () => {
    dns.policy = () => ({ delayMs: 50 });
    const r = resolver({ timeoutMs: 1000 });
    assert.deepEqual(await r.lookup("example.test", "A"), ["192.0.2.10"]);
    assert.equal(dns.queries.length, 1);
  });

  test("once the server has answered, a retry goes out after a few round trips; the slow first answer still counts", async () => {
    const r = resolver({ timeoutMs: 5000, attempts: 2 });
    assert.deepEqual(await r.lookup("example.test", "A"), ["192.0.2.10"]); // one round trip measured
    // the next query's answer comes late (far beyond MIN_RETRY_MS, far within the timeout), its retry's never
    dns.policy = (q) => (q.n === 2 ? { delayMs: 400 } : "hold");
    const mx = await r.lookup("example.test", "MX");
    dns.release();
    assert.deepEqual(mx, [{ priority: 10, exchange: "mx.example.test" }]);
    assert.deepEqual(
      dns.queries.map((q) => [q.type, q.tcp]),
      [
        ["A", false],
        ["MX", false],
        ["MX", true], // the last attempt after an unanswered one: TCP
      ],
      "the retry went out before the first answer came",
    );
  });

  test("a server not heard from yet gets the whole timeout before a retry", async () => {
    dns.policy = () => ({ delayMs: 100 });
    const r = resolver({ timeoutMs: 2000 });
    assert.deepEqual(await r.lookup("example.test", "A"), ["192.0.2.10"]);
    assert.equal(dns.queries.length, 1);
  });

  test("every attempt lost: ETIMEOUT, a temporary error", async () => {
    dns.policy = () => "drop";
    const r = resolver({ attempts: 2 });
    assert.equal(await code(r.lookup("example.test", "A")), "ETIMEOUT");
    assert.equal(dns.queries.length, 2);
  });

  test("identical questions in flight share one query", async () => {
    dns.policy = () => "hold";
    const r = resolver();
    const all = Array.from({ length: 10 }, () => r.lookup("example.test", "MX"));
    while (dns.held() < 1) await new Promise((res) => setTimeout(res, 5));
    dns.release();
    for (const a of await Promise.all(all))
      assert.deepEqual(a, [{ priority: 10, exchange: "mx.example.test" }]);
    assert.equal(dns.queries.length, 1);
    assert.equal(r.stats().coalesced, 9);
  });

  test("answers are cached for their TTL (injectable clock)", async () => {
    const r = resolver();
    await r.lookup("example.test", "A");
    dns.zone["example.test"] = [{ type: "A", ttl: 60, data: "192.0.2.99" }];
    clock += 59_000;
    assert.deepEqual(await r.lookup("example.test", "A"), ["192.0.2.10"]);
    assert.equal(dns.queries.length, 1);
    clock += 2_000;
    assert.deepEqual(await r.lookup("example.test", "A"), ["192.0.2.99"]);
    assert.equal(dns.queries.length, 2);
  });

  test("a CNAME chain is cached for the smallest TTL in it", async () => {
    const r = resolver();
    await r.lookup("alias.example.test", "A");
    clock += 31_000; // past the CNAME's 30 s, within the A's 60 s
    await r.lookup("alias.example.test", "A");
    assert.equal(dns.queries.length, 2);
  });

  test("max_ttl caps a long TTL", async () => {
    const r = resolver({ maxTtlMs: 10_000 });
    await r.lookup("example.test", "A");
    clock += 11_000;
    await r.lookup("example.test", "A");
    assert.equal(dns.queries.length, 2);
  });

  test("NXDOMAIN and NODATA are cached for the SOA minimum (RFC 2308 §5), capped by negative_ttl", async () => {
    const r = resolver();
    assert.equal(await code(r.lookup("new.example.test", "A")), "ENOTFOUND");
    assert.equal(await code(r.lookup("mx.example.test", "TXT")), "ENODATA");
    dns.zone["new.example.test"] = [{ type: "A", data: "192.0.2.1" }];
    clock += 119_000;
    assert.equal(await code(r.lookup("new.example.test", "A")), "ENOTFOUND");
    assert.equal(await code(r.lookup("mx.example.test", "TXT")), "ENODATA");
    assert.equal(dns.queries.length, 2);
    clock += 2_000;
    assert.deepEqual(await r.lookup("new.example.test", "A"), ["192.0.2.1"]);
    assert.equal(dns.queries.length, 3);

    const capped = resolver({ negativeTtlMs: 5_000 });
    dns.queries.length = 0;
    await code(capped.lookup("gone.example.test", "A"));
    clock += 6_000;
    await code(capped.lookup("gone.example.test", "A"));
    assert.equal(dns.queries.length, 2);
  });

  test("timeouts are not cached", async () => {
    dns.policy = () => "drop";
    const r = resolver({ attempts: 1 });
    assert.equal(await code(r.lookup("example.test", "A")), "ETIMEOUT");
    dns.policy = () => "answer";
    assert.deepEqual(await r.lookup("example.test", "A"), ["192.0.2.10"]);
  });

  test("at most max_concurrent queries on the wire; the rest wait in the queue", async () => {
    dns.policy = () => "hold";
    const r = resolver({ maxConcurrent: 3, timeoutMs: 5000 });
    const names = Array.from({ length: 8 }, (_, i) => `n${i}.example.test`);
    for (const n of names) dns.zone[n] = [{ type: "A", data: "192.0.2.1" }];
    const all = names.map((n) => r.lookup(n, "A"));
    while (dns.held() < 3) await new Promise((res) => setTimeout(res, 5));
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(dns.held(), 3);
    assert.equal(r.stats().queued, 5);
    // from now on every query is answered at once; the queued ones go out as slots free up
    dns.policy = () => "answer";
    dns.release();
    assert.equal((await Promise.all(all)).length, 8);
    assert.equal(r.stats().peakInFlight, 3);
  });

  test("a full queue fails at once with a temporary error", async () => {
    dns.policy = () => "hold";
    const r = resolver({ maxConcurrent: 1, maxQueued: 1, timeoutMs: 5000 });
    const a = r.lookup("example.test", "A");
    const b = r.lookup("example.test", "MX");
    assert.equal(await code(r.lookup("example.test", "TXT")), "ETIMEOUT");
    dns.policy = () => "answer";
    dns.release();
    await Promise.all([a, b]);
  });

  test("time budget: lookups still open when it is spent fail as ETIMEOUT; later ones at once", async () => {
    dns.policy = () => "hold";
    const r = resolver({ timeoutMs: 5000 });
    const budgeted = withBudget(r.lookup, 100);
    assert.equal(await code(budgeted("example.test", "A")), "ETIMEOUT");
    assert.equal(await code(budgeted("example.test", "MX")), "ETIMEOUT");
    assert.equal(dns.queries.length, 1, "the spent budget sends no new query");
    // the query itself goes on and fills the cache for the next message
    dns.release();
    while (r.stats().inFlight > 0) await new Promise((res) => setTimeout(res, 5));
    assert.deepEqual(await withBudget(r.lookup, 100)("example.test", "A"), ["192.0.2.10"]);
  });
});

describe("DNS names", () => {
  test("names outside printable ASCII are refused before any query (EBADNAME)", async () => {
    const r = createDnsResolver({
      servers: [{ host: "127.0.0.1", port: 9 }],
      timeoutMs: 50,
      attempts: 1,
      maxConcurrent: 1,
      maxQueued: 1,
      cacheEntries: 1,
      maxTtlMs: 1000,
      negativeTtlMs: 1000,
    });
    for (const bad of ["exämple.test", "a b.test", "a..b.test", `${"x".repeat(64)}.test`]) {
      await assert.rejects(r.lookup(bad, "A"), (e: { code?: string }) => e.code === "EBADNAME");
    }
    assert.equal(r.stats().queries, 0);
  });
});
