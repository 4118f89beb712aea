/**
 * Sender authentication on the MX against the server's own resolver (src/net/dns) talking to a
 * local DNS server: when the server drops every query, the per-message time budget ends the
 * checks as temperror, the message is accepted and Authentication-Results says so; when it
 * answers again, the next message gets real results.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDnsResolver, type DnsResolver } from "../../src/net/dns/index.ts";
import { parseServer } from "../../src/net/dns/transport.ts";
import { startDnsServer, type TestDnsServer } from "../kit/dns-server.ts";
import { mailboxMessages, RawClient, startSmtp, type TestSmtp } from "./helpers.ts";

function message(subject: string): Buffer {
  return Buffer.from(
    `From: news@sender.example\r\nTo: alice@example.com\r\nSubject: ${subject}\r\n` +
      `Date: Mon, 2 Jun 2025 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}@test>\r\n\r\nHello.\r\n`,
  );
}

async function send(t: TestSmtp, data: Buffer): Promise<string> {
  const c = await RawClient.connect(t.mxPort);
  await c.cmd("EHLO client.test");
  assert.match(await c.cmd("MAIL FROM:<news@sender.example>"), /^250/);
  assert.match(await c.cmd("RCPT TO:<alice@example.com>"), /^250/);
  assert.match(await c.cmd("DATA"), /^354/);
  c.write(data);
  const r = await c.cmd(".");
  c.close();
  return r;
}

function lastAr(msgs: Buffer[]): string {
  const text = msgs.at(-1)!.toString("latin1");
  const m = /Authentication-Results: [^\r\n]*(?:\r\n[ \t][^\r\n]*)*/.exec(text);
  assert.ok(m, "Authentication-Results present");
  return m[0];
}

describe("SMTP MX sender authentication with the own resolver and a dropping DNS server", () => {
  let dns: TestDnsServer;
  let t: TestSmtp;
  let r: DnsResolver;
  before(async () => {
    dns = await startDnsServer({
      "sender.example": [{ type: "TXT", data: "v=spf1 ip4:127.0.0.1 -all" }],
      "_dmarc.sender.example": [{ type: "TXT", data: "v=DMARC1; p=none" }],
    });
    r = createDnsResolver({
      servers: [parseServer(dns.address)],
      timeoutMs: 400,
      attempts: 3,
      maxConcurrent: 8,
      maxQueued: 100,
      cacheEntries: 100,
      maxTtlMs: 3_600_000,
      negativeTtlMs: 60_000,
    });
    t = await startSmtp({ authn: true, resolver: r.lookup, authnBudgetMs: 300 });
  });
  after(async () => {
    await t.close();
    await dns.close();
  });

  test("every query dropped: accepted, temperror in Authentication-Results", async () => {
    dns.policy = () => "drop";
    assert.match(await send(t, message("dropped")), /^250 2\.0\.0/);
    assert.ok(dns.queries.length > 0, "the resolver asked the DNS server");
    const ar = lastAr(await mailboxMessages(t.store, "alice@example.com"));
    assert.match(ar, /spf=temperror/);
    assert.match(ar, /dmarc=temperror/);
  });

  test("the server answers again: the retries of the open queries get answers; spf=pass", async () => {
    dns.policy = () => "answer";
    // the queries of the first message went on after its budget; their retries now get answers
    while (r.stats().inFlight > 0) await new Promise((res) => setTimeout(res, 20));
    assert.match(await send(t, message("answered")), /^250 2\.0\.0/);
    const ar = lastAr(await mailboxMessages(t.store, "alice@example.com"));
    assert.match(ar, /spf=pass/);
    assert.match(ar, /dmarc=pass/);
  });
});
