/** MX resolution (RFC 5321 §5.1, RFC 7505) and the pure helpers of outbound delivery. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { xtext } from "../../src/smtp/queue/client.ts";
import { asciiDomainAddress, buildDsn, eightBit, lookupMx, wantsNotify } from "../../src/smtp/queue/index.ts";
import { fixtureResolver } from "../../src/smtp/queue/resolver.ts";
import { backoff } from "../../src/smtp/queue/runner.ts";

const resolver = fixtureResolver({
  MX: {
    "multi.test": [
      { exchange: "b.multi.test", priority: 20 },
      { exchange: "a.multi.test", priority: 10 },
      { exchange: "noaddr.multi.test", priority: 5 },
    ],
    "nullmx.test": [{ exchange: "", priority: 0 }],
    "xn--bcher-kva.test": [{ exchange: "mx.xn--bcher-kva.test", priority: 1 }],
  },
  A: {
    "a.multi.test": ["127.0.0.10"],
    "b.multi.test": ["127.0.0.11"],
    "implicit.test": ["127.0.0.12"],
    "mx.xn--bcher-kva.test": ["127.0.0.13"],
  },
  AAAA: { "a.multi.test": ["::1"] },
  TXT: { "implicit.test": ["v=spf1 -all"] },
});

test("MX by preference, hosts without addresses skipped, IPv4 before IPv6", async () => {
  const r = await lookupMx("multi.test", resolver);
  assert.ok(r.ok);
  assert.deepEqual(r.hosts, [
    { host: "a.multi.test", ips: ["127.0.0.10", "::1"] },
    { host: "b.multi.test", ips: ["127.0.0.11"] },
  ]);
});

test("no MX → implicit MX (the domain's A record); NXDOMAIN and null MX are permanent", async () => {
  const r = await lookupMx("implicit.test", resolver);
  assert.ok(r.ok);
  assert.deepEqual(r.hosts, [{ host: "implicit.test", ips: ["127.0.0.12"] }]);
  const nx = await lookupMx("nowhere.test", resolver);
  assert.ok(!nx.ok && nx.permanent && nx.status === "5.1.2");
  const nul = await lookupMx("nullmx.test", resolver);
  assert.ok(!nul.ok && nul.permanent && nul.status === "5.1.10");
});

test("IDNA: a U-label domain is looked up as its A-label", async () => {
  const r = await lookupMx("Bücher.test", resolver);
  assert.ok(r.ok);
  assert.equal(r.hosts[0]!.ips[0], "127.0.0.13");
  assert.equal(asciiDomainAddress("jörg@bücher.test"), "jörg@xn--bcher-kva.test");
});

test("a DNS server failure is temporary", async () => {
  const failing = async () => {
    throw Object.assign(new Error("servfail"), { code: "ESERVFAIL" });
  };
  const r = await lookupMx("x.test", failing);
  assert.ok(!r.ok && !r.permanent && r.status.startsWith("4."));
});

test("helpers: 8-bit detection, xtext, NOTIFY, backoff", () => {
  assert.deepEqual(eightBit(Buffer.from("Subject: ä\r\n\r\nplain\r\n")), { headers: true, body: false });
  assert.deepEqual(eightBit(Buffer.from("Subject: a\r\n\r\nä\r\n")), { headers: false, body: true });
  assert.equal(xtext("rfc822;a+b=c@x"), "rfc822;a+2Bb+3Dc@x");
  assert.equal(wantsNotify(undefined, "FAILURE"), true);
  assert.equal(wantsNotify(["NEVER"], "FAILURE"), false);
  assert.equal(wantsNotify(["SUCCESS"], "FAILURE"), false);
  assert.equal(wantsNotify(["SUCCESS", "FAILURE"], "FAILURE"), true);
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((n) => backoff(n, 100, 500)),
    [100, 200, 400, 500, 500],
  );
});

test("DSN: RET=HDRS returns the header only; the original is embedded byte-exact otherwise", () => {
  const original = Buffer.from("From: a@x.test\r\nSubject: s\r\n\r\nbody \xff bytes\r\n", "latin1");
  const common = {
    reportingMta: "mx.local",
    mailFrom: "a@x.test",
    envid: null,
    arrivalDate: new Date(0),
    recipients: [
      {
        address: "b@y.test",
        action: "failed" as const,
        status: "5.1.1",
        remoteMta: "mx.y.test",
        diagnostic: "550 5.1.1 no",
        code: 550,
        lastAttempt: new Date(0),
      },
    ],
    original,
  };
  const hdrs = Buffer.from(buildDsn({ ...common, ret: "HDRS" }));
  assert.ok(hdrs.includes("Content-Type: text/rfc822-headers"));
  assert.ok(!hdrs.includes("body"));
  const full = Buffer.from(buildDsn({ ...common, ret: null }));
  assert.ok(full.includes(original), "original bytes unchanged");
  assert.ok(full.includes("Content-Transfer-Encoding: 8bit"));
  assert.ok(full.includes("Auto-Submitted: auto-replied"));
  assert.ok(full.includes("Final-Recipient: rfc822; b@y.test"));
});
