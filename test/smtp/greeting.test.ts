/**
 * Per-connection cost of the SMTP greeting: the greeting delay (smtp.greeting_delay) never applies
 * to loopback clients nor to submission, and the client's reverse lookup goes through the server's
 * own resolver (src/net/dns): its PTR name reaches the Received header, and it is cached.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDnsResolver, reverseName } from "../../src/net/dns/index.ts";
import { parseServer } from "../../src/net/dns/transport.ts";
import { startDnsServer, type TestDnsServer } from "../kit/dns-server.ts";
import { mailboxMessages, RawClient, startSmtp, type TestSmtp } from "./helpers.ts";

describe("reverseName", () => {
  test("IPv4, IPv4-mapped and IPv6 addresses", () => {
    assert.equal(reverseName("192.0.2.10"), "10.2.0.192.in-addr.arpa");
    assert.equal(reverseName("::ffff:127.0.0.1"), "1.0.0.127.in-addr.arpa");
    assert.equal(
      reverseName("2001:db8::1"),
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    );
    assert.equal(reverseName("not an address"), null);
  });
});

describe("SMTP greeting: delay and reverse lookup", () => {
  let dns: TestDnsServer;
  let t: TestSmtp;
  before(async () => {
    dns = await startDnsServer({ "1.0.0.127.in-addr.arpa": [{ type: "PTR", data: "client.ptr.test" }] });
    const r = createDnsResolver({
      servers: [parseServer(dns.address)],
      timeoutMs: 1000,
      attempts: 2,
      maxConcurrent: 8,
      maxQueued: 100,
      cacheEntries: 100,
      maxTtlMs: 3_600_000,
      negativeTtlMs: 60_000,
    });
    // a greeting delay no test could wait for: loopback clients must not meet it
    t = await startSmtp({ reverseResolver: r.lookup, greetingDelayMs: 3_600_000 });
  });
  after(async () => {
    await t.close();
    await dns.close();
  });

  test("a loopback client on the MX is greeted without the delay; the PTR name is in Received", async () => {
    for (const subject of ["one", "two"]) {
      const c = await RawClient.connect(t.mxPort);
      assert.match(await c.cmd("EHLO client.test"), /^250/);
      assert.match(await c.cmd("MAIL FROM:<x@sender.example>"), /^250/);
      assert.match(await c.cmd("RCPT TO:<alice@example.com>"), /^250/);
      assert.match(await c.cmd("DATA"), /^354/);
      c.write(`Subject: ${subject}\r\n\r\nHi.\r\n`);
      assert.match(await c.cmd("."), /^250/);
      c.close();
    }
    const msgs = await mailboxMessages(t.store, "alice@example.com");
    assert.match(
      msgs.at(-1)!.toString("latin1"),
      /Received: from client\.test \(client\.ptr\.test \[127\.0\.0\.1\]\)/,
    );
    assert.equal(
      dns.queries.filter((q) => q.type === "PTR").length,
      1,
      "the second connection used the cache",
    );
  });

  test("submission is greeted without the delay", async () => {
    const c = await RawClient.connect(t.submissionPort);
    assert.match(await c.cmd("EHLO client.test"), /^250/);
    c.close();
  });
});
