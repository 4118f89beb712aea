/**
 * Prometheus /metrics with two worker processes: after IMAP logins (ok and failed), IMAP commands
 * and SMTP deliveries (accepted and refused), the scrape shows the sums over both workers; the
 * page answers only the configured networks.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { imapClient } from "../e2e/helpers.ts";
import { SmtpClient } from "../kit/smtp-client.ts";
import { type HttpE2E, request, startHttpE2E, USER_A } from "./helpers.ts";

/** `name{labels} value` lines → map (comments skipped). */
function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return m;
}

async function scrape(e: HttpE2E): Promise<Map<string, number>> {
  const r = await request(e.httpsPort, { tls: true, path: "/metrics" });
  assert.equal(r.status, 200, r.body);
  assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  return parseMetrics(r.body);
}

async function smtpDelivery(port: number, rcpts: string[]): Promise<string[]> {
  const c = await SmtpClient.connect(port);
  const replies: string[] = [];
  try {
    await c.cmd("EHLO client.test");
    await c.cmd("MAIL FROM:<sender@remote.test>");
    for (const r of rcpts) replies.push(await c.cmd(`RCPT TO:<${r}>`));
    if (replies.some((r) => r.startsWith("250"))) {
      await c.cmd("DATA");
      replies.push(await c.cmd("Subject: metrics\r\n\r\nhello\r\n."));
    }
    await c.cmd("QUIT");
  } finally {
    c.close();
  }
  return replies;
}

describe("HTTP /metrics over two workers", () => {
  let e: HttpE2E;
  before(async () => {
    e = await startHttpE2E({ workers: 2 });
  });
  after(async () => {
    await e?.close();
  });

  it("sums connections, logins, commands and deliveries of every worker", async () => {
    const before = await scrape(e);
    assert.equal(before.get("postkontor_processes_scraped"), 2);
    assert.equal(before.get("postkontor_store_up"), 1);
    assert.ok((before.get("postkontor_store_probe_seconds") ?? -1) >= 0);
    assert.equal(before.get("postkontor_queue_size"), 0);

    // several IMAP sessions, so both workers are likely to serve some (the sums must hold either way)
    const n = 4;
    for (let i = 0; i < n; i++) {
      const { client } = imapClient(e);
      await client.connect();
      await client.mailboxOpen("INBOX");
      await client.logout();
    }
    const bad = imapClient(e, { pass: "wrong password" });
    await assert.rejects(bad.client.connect());
    const ok = await smtpDelivery(e.server.smtpPort, [USER_A, "nobody@example.test"]);
    assert.match(ok[0]!, /^250/);
    assert.match(ok[1]!, /^550 5\.1\.1/);
    assert.match(ok[2]!, /^250/);

    const m = await scrape(e);
    const d = (k: string) => (m.get(k) ?? 0) - (before.get(k) ?? 0);
    assert.equal(m.get("postkontor_processes_scraped"), 2);
    assert.equal(d('postkontor_connections_total{protocol="imap"}'), n + 1);
    assert.equal(d('postkontor_connections_total{protocol="smtp"}'), 1);
    assert.equal(d('postkontor_logins_total{protocol="imap",result="ok"}'), n);
    assert.equal(d('postkontor_logins_total{protocol="imap",result="failed"}'), 1);
    assert.ok(d('postkontor_commands_total{protocol="imap",command="SELECT"}') >= n);
    assert.equal(d('postkontor_commands_total{protocol="smtp",command="RCPT"}'), 2);
    assert.equal(d('postkontor_deliveries_total{result="accepted"}'), 1);
    assert.equal(d('postkontor_deliveries_total{result="refused",command="RCPT",reason="5.1.1"}'), 1);
    assert.ok(d('postkontor_http_requests_total{status="2xx"}') >= 1);
  });
});
