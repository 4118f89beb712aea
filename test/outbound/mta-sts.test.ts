/**
 * MTA-STS (RFC 8461): policy parsing and MX matching; delivery against a real HTTPS policy host
 * and a real SMTP receiver on 127.0.0.2, with certificates trusted through the runner's CA list.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { generateSelfSigned } from "../../src/net/index.ts";
import {
  createMtaSts,
  createQueueRunner,
  fixtureResolver,
  mxMatches,
  parsePolicy,
} from "../../src/smtp/queue/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { silentLogger } from "../kit/logs.ts";
import { tempDir } from "../kit/temp.ts";
import { dnsFixture, type Receiver, startReceiver } from "./helpers.ts";

test("policy parsing (RFC 8461 §3.2) and MX patterns (§4.1)", () => {
  const p = parsePolicy(
    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.example.net\r\nmax_age: 86400\r\n",
    "x1",
  );
  assert.deepEqual(p, { mode: "enforce", mx: ["mx1.example.com", "*.example.net"], maxAge: 86400, id: "x1" });
  assert.equal(parsePolicy("version: STSv1\nmode: enforce\nmax_age: 1\n"), null, "enforce needs mx");
  assert.equal(parsePolicy("version: STSv2\nmode: none\nmax_age: 1\n"), null);
  assert.equal(parsePolicy("version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n"), null);
  assert.equal(mxMatches("*.example.net", "mx.example.net"), true);
  assert.equal(mxMatches("*.example.net", "a.b.example.net"), false, "one label only");
  assert.equal(mxMatches("*.example.net", "example.net"), false);
  assert.equal(mxMatches("MX1.example.com.", "mx1.example.com"), true);
});

describe("MTA-STS delivery", () => {
  const silent = silentLogger;
  let store: Store;
  let cleanup: () => void;
  let https: Server;
  let httpsPort: number;
  let policy = "";
  let stsCert: { cert: string; key: string };
  let mxCert: { cert: string; key: string };

  before(async () => {
    const t = tempDir("pk-mtasts-");
    cleanup = t.cleanup;
    store = await openStore({ dataDir: t.dir, feedSocketPath: null });
    stsCert = await generateSelfSigned("mta-sts.remote.test");
    mxCert = await generateSelfSigned("mx.remote.test");
    https = createServer({ key: stsCert.key, cert: stsCert.cert }, (req, res) => {
      if (req.url !== "/.well-known/mta-sts.txt" || req.headers.host !== "mta-sts.remote.test") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" }).end(policy);
    });
    await new Promise<void>((r) => https.listen(0, "127.0.0.2", () => r()));
    httpsPort = (https.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((r) => https.close(() => r()));
    await store.close();
    cleanup();
  });

  async function attempt(r: Receiver, mode: string, mx: string, id: string): Promise<string | undefined> {
    policy = `version: STSv1\nmode: ${mode}\nmx: ${mx}\nmax_age: 86400\n`;
    const resolver = fixtureResolver(
      dnsFixture("remote.test", r.host, {
        TXT: { "_mta-sts.remote.test": [`v=STSv1; id=${id};`] },
        A: { "mta-sts.remote.test": ["127.0.0.2"] },
      }),
    );
    const q = await store.enqueueOutbound({
      accountId: null,
      mailFrom: "",
      recipients: [{ address: `u-${id}@remote.test` }],
      message: Buffer.from(`From: a@example.org\r\nSubject: ${id}\r\n\r\nx\r\n`),
    });
    const runner = createQueueRunner({
      store,
      logger: silent,
      hostname: "mail.example.org",
      resolver,
      port: r.port,
      pollIntervalMs: 50,
      concurrency: 1,
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
      lifetimeMs: 3_600_000,
      leaseMs: 60_000,
      connectTimeoutMs: 5000,
      timeoutMs: 10_000,
      dkim: null,
      mtaSts: createMtaSts({ resolver, ca: [stsCert.cert, mxCert.cert], httpsPort }),
    });
    assert.equal(await runner.runOnce(), 1);
    const e = await store.getQueueEntry(q.id);
    if (e) await store.deleteOutbound(q.id);
    return e ? e.recipients[0]?.status : "delivered";
  }

  test("enforce + valid certificate for the MX name → delivered over TLS", async () => {
    const r = await startReceiver({ tls: mxCert });
    try {
      assert.equal(await attempt(r, "enforce", "*.remote.test", "a1"), "delivered");
      assert.equal(r.received.length, 1);
      assert.equal(r.received[0]!.secure, true);
    } finally {
      await r.close();
    }
  });

  test("enforce + certificate not valid for the MX → deferred 4.7.5, nothing sent", async () => {
    const r = await startReceiver(); // smtp-server's own self-signed certificate
    try {
      assert.equal(await attempt(r, "enforce", "mx.remote.test", "a2"), "4.7.5");
      assert.equal(r.received.length, 0);
    } finally {
      await r.close();
    }
  });

  test("enforce + MX outside the policy → deferred 4.7.5", async () => {
    const r = await startReceiver({ tls: mxCert });
    try {
      assert.equal(await attempt(r, "enforce", "other.remote.test", "a3"), "4.7.5");
      assert.equal(r.received.length, 0);
    } finally {
      await r.close();
    }
  });

  test("testing mode: delivered anyway (opportunistic TLS)", async () => {
    const r = await startReceiver();
    try {
      assert.equal(await attempt(r, "testing", "other.remote.test", "a4"), "delivered");
      assert.equal(r.received.length, 1);
    } finally {
      await r.close();
    }
  });
});
