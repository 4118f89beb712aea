/**
 * REQUIRETLS (RFC 8689) in delivery and lease renewal, against real SMTP receivers on 127.0.0.2
 * reached through a DNS fixture: validated STARTTLS + the REQUIRETLS keyword → delivered with
 * MAIL FROM … REQUIRETLS; a missing keyword, an untrusted certificate or no STARTTLS → bounce
 * 5.7.10 in the sender's INBOX, nothing sent. A slow delivery keeps its lease: a second runner
 * never claims (and resends) it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { generateSelfSigned } from "../../src/net/index.ts";
import { createQueueRunner, fixtureResolver, type QueueRunnerOptions } from "../../src/smtp/queue/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { silentLogger as silent } from "../kit/logs.ts";
import { tempDir } from "../kit/temp.ts";
import { dnsFixture, type Receiver, type ReceiverOpts, startReceiver } from "./helpers.ts";

function message(id: string): Buffer {
  return Buffer.from(
    `From: <alice@example.org>\r\nTo: <bob@remote.test>\r\nSubject: ${id}\r\nMessage-ID: <${id}@example.org>\r\n\r\nsecret ${id}\r\n`,
  );
}

async function inbox(store: Store, address: string): Promise<string[]> {
  const acc = await store.getAccount(address);
  const mb = await store.getMailbox(acc!.id, "INBOX");
  const out: string[] = [];
  for (const m of await store.listMessages(mb!.id))
    out.push(Buffer.from(await store.readMessage(mb!.id, m.uid)).toString("utf8"));
  return out;
}

describe("REQUIRETLS delivery (RFC 8689)", () => {
  let dir: { dir: string; cleanup(): void };
  let store: Store;
  let mxCert: { cert: string; key: string };
  const receivers: Receiver[] = [];
  before(async () => {
    dir = tempDir("pk-requiretls-");
    store = await openStore({ dataDir: dir.dir, feedSocketPath: null });
    await store.addDomain("example.org");
    await store.createAccount("alice@example.org", "x");
    mxCert = await generateSelfSigned("mx.remote.test");
  });
  after(async () => {
    for (const r of receivers) await r.close();
    await store.close();
    dir.cleanup();
  });

  async function receiver(o: ReceiverOpts): Promise<Receiver> {
    const r = await startReceiver(o);
    receivers.push(r);
    return r;
  }

  function runner(r: Receiver, extra: Partial<QueueRunnerOptions> = {}) {
    return createQueueRunner({
      store,
      logger: silent,
      hostname: "mail.example.org",
      resolver: fixtureResolver(dnsFixture("remote.test", r.host)),
      port: r.port,
      pollIntervalMs: 50,
      concurrency: 4,
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
      lifetimeMs: 3_600_000,
      leaseMs: 60_000,
      connectTimeoutMs: 5000,
      timeoutMs: 10_000,
      dkim: null,
      ca: [mxCert.cert],
      ...extra,
    });
  }

  async function attempt(r: Receiver, id: string, requireTls = true) {
    const q = await store.enqueueOutbound({
      accountId: null,
      mailFrom: "alice@example.org",
      recipients: [{ address: "bob@remote.test", ...(requireTls ? { requireTls: true } : {}) }],
      message: message(id),
    });
    assert.equal(await runner(r).runOnce(), 1);
    return store.getQueueEntry(q.id);
  }

  test("valid certificate + REQUIRETLS keyword → delivered with MAIL FROM … REQUIRETLS", async () => {
    const r = await receiver({ tls: mxCert, requireTls: true });
    assert.equal(await attempt(r, "ok"), null, "entry finished");
    assert.equal(r.received.length, 1);
    assert.equal(r.received[0]!.secure, true);
    assert.ok(r.received[0]!.mailArgs.REQUIRETLS, "MAIL FROM carried REQUIRETLS");
  });

  test("a normal message to the same host does not send REQUIRETLS", async () => {
    const r = await receiver({ tls: mxCert, requireTls: true });
    assert.equal(await attempt(r, "plain", false), null);
    assert.equal(r.received[0]!.mailArgs.REQUIRETLS, undefined);
  });

  // options are built when the test runs (mxCert exists only after before())
  for (const [name, opts, why] of [
    ["MX without the REQUIRETLS keyword", () => ({ tls: mxCert }), /does not offer REQUIRETLS/],
    [
      "untrusted certificate (smtp-server's own self-signed one)",
      () => ({ requireTls: true }),
      /certificate/i,
    ],
    ["no STARTTLS at all", () => ({ hideSTARTTLS: true, requireTls: true }), /STARTTLS/],
  ] as Array<[string, () => ReceiverOpts, RegExp]>) {
    test(`${name} → bounce 5.7.10 to the sender, nothing sent`, async () => {
      const before = (await inbox(store, "alice@example.org")).length;
      const r = await receiver(opts());
      assert.equal(await attempt(r, `fail-${receivers.length}`), null, "failed recipients end the entry");
      assert.equal(r.received.length, 0, "the message never left");
      const box = await inbox(store, "alice@example.org");
      assert.equal(box.length, before + 1, "one DSN");
      const dsn = box[box.length - 1]!;
      assert.match(dsn, /Status: 5\.7\.10/);
      assert.match(dsn, /REQUIRETLS/);
      assert.match(dsn, why);
      // RFC 8689 §5: headers only, the secret body does not come back
      assert.doesNotMatch(dsn, /secret fail/);
      assert.match(dsn, /Subject: fail-/);
    });
  }
});

describe("lease renewal during a slow delivery", () => {
  test("a second runner cannot claim an entry whose delivery outlasts the lease; one copy sent", async () => {
    const t = tempDir("pk-lease-");
    const store = await openStore({ dataDir: t.dir, feedSocketPath: null });
    let release: () => void = () => {};
    const gate = new Promise<null>((r) => {
      release = () => r(null);
    });
    const r = await startReceiver({ onData: () => gate });
    try {
      const mk = () =>
        createQueueRunner({
          store,
          logger: silent,
          hostname: "mail.example.org",
          resolver: fixtureResolver(dnsFixture("remote.test", r.host)),
          port: r.port,
          pollIntervalMs: 50,
          concurrency: 1,
          retryBaseMs: 60_000,
          retryMaxMs: 60_000,
          lifetimeMs: 3_600_000,
          leaseMs: 300,
          connectTimeoutMs: 5000,
          timeoutMs: 10_000,
          dkim: null,
        });
      const q = await store.enqueueOutbound({
        accountId: null,
        mailFrom: "",
        recipients: [{ address: "bob@remote.test" }],
        message: message("slow"),
      });
      const a = mk();
      const b = mk();
      const first = a.runOnce();
      // the delivery is held at DATA for 4 lease lengths; b polls all the while
      for (let i = 0; i < 12; i++) {
        await new Promise((res) => setTimeout(res, 100));
        assert.equal(await b.runOnce(), 0, `second runner claimed nothing (poll ${i})`);
        const e = await store.getQueueEntry(q.id);
        assert.equal(e?.leaseOwner, a.owner);
        assert.ok(e.leaseUntil!.getTime() > Date.now(), "lease still in the future");
      }
      release();
      assert.equal(await first, 1);
      assert.equal(r.received.length, 1);
      assert.equal(await store.getQueueEntry(q.id), null);
      assert.equal(await b.runOnce(), 0);
    } finally {
      release();
      await r.close();
      await store.close();
      t.cleanup();
    }
  });

  test("renewOutboundLease only for the owner; countOutbound per account", async () => {
    const t = tempDir("pk-lease2-");
    const store = await openStore({ dataDir: t.dir, feedSocketPath: null });
    try {
      await store.addDomain("example.org");
      const acc = await store.createAccount("alice@example.org", "x");
      const q = await store.enqueueOutbound({
        accountId: acc.id,
        mailFrom: "alice@example.org",
        recipients: [{ address: "bob@remote.test" }],
        message: message("c"),
      });
      await store.enqueueOutbound({
        accountId: null,
        mailFrom: "",
        recipients: [{ address: "bob@remote.test" }],
        message: message("d"),
      });
      assert.deepEqual(await store.countOutbound(acc.id), { total: 2, account: 1 });
      assert.deepEqual(await store.countOutbound(null), { total: 2, account: 0 });
      const [c] = await store.claimOutbound({ owner: "me", leaseMs: 1000, limit: 1 });
      assert.equal(c?.entry.id, q.id);
      assert.equal(await store.renewOutboundLease(q.id, "other", 50_000), false);
      assert.equal(await store.renewOutboundLease(q.id, "me", 50_000), true);
      const e = await store.getQueueEntry(q.id);
      assert.ok(e!.leaseUntil!.getTime() > Date.now() + 40_000);
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});
