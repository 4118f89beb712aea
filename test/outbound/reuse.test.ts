/**
 * Connection reuse in the queue runner (RFC 5321 §3.3: several mail transactions per session):
 * messages to one destination share a kept-idle session; a session the server dropped while idle
 * is not used (the message goes over a fresh connection, nothing is lost or deferred).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createQueueRunner, fixtureResolver } from "../../src/smtp/queue/index.ts";
import { openStore } from "../../src/store/index.ts";
import { silentLogger as silent } from "../kit/logs.ts";
import { tempDir } from "../kit/temp.ts";
import { dnsFixture, startReceiver } from "./helpers.ts";

function msg(id: string): Buffer {
  return Buffer.from(`From: <a@example.org>\r\nTo: <b@remote.test>\r\nSubject: ${id}\r\n\r\nbody ${id}\r\n`);
}

test("reuse: 3 messages to one domain over one session; a session the MX dropped is replaced", async () => {
  const t = tempDir("pk-reuse-");
  const store = await openStore({ dataDir: t.dir, feedSocketPath: null });
  const r = await startReceiver();
  const runner = createQueueRunner({
    store,
    logger: silent,
    hostname: "mail.example.org",
    resolver: fixtureResolver(dnsFixture("remote.test", r.host)),
    port: r.port,
    pollIntervalMs: 50,
    concurrency: 1, // one entry at a time: each finds the previous session idle
    retryBaseMs: 60_000,
    retryMaxMs: 60_000,
    lifetimeMs: 3_600_000,
    leaseMs: 60_000,
    connectTimeoutMs: 5000,
    timeoutMs: 10_000,
    dkim: null,
    reuseIdleMs: 5_000,
  });
  try {
    for (const id of ["m1", "m2", "m3"])
      await store.enqueueOutbound({
        accountId: null,
        mailFrom: "a@example.org",
        recipients: [{ address: `${id}@remote.test` }],
        message: msg(id),
      });
    assert.equal(await runner.runOnce(), 3);
    assert.equal(r.received.length, 3);
    assert.equal(r.connections, 1, "one TCP session carried all three transactions");
    assert.equal(new Set(r.received.map((x) => x.connection)).size, 1);
    assert.deepEqual(
      r.received.map((x) => x.rcpts[0]!.address),
      ["m1@remote.test", "m2@remote.test", "m3@remote.test"],
    );
    assert.equal((await store.listQueue()).length, 0);

    // the MX drops the idle session: it is not reused; the next message goes over a new one
    r.dropConnections();
    await new Promise((res) => setTimeout(res, 100));
    await store.enqueueOutbound({
      accountId: null,
      mailFrom: "a@example.org",
      recipients: [{ address: "m4@remote.test" }],
      message: msg("m4"),
    });
    assert.equal(await runner.runOnce(), 1);
    assert.equal(r.received.length, 4);
    assert.equal(r.connections, 2);
    assert.equal((await store.listQueue()).length, 0, "delivered at once, not deferred");
  } finally {
    await runner.stop(); // QUITs the kept session
    await r.close();
    await store.close();
    t.cleanup();
  }
});
