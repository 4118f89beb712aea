/**
 * The queue runner against a real SMTP receiver on loopback (127.0.0.2) reached through a DNS
 * fixture: delivery with DKIM and STARTTLS, DSN parameters, 4xx retry, 5xx bounce into the
 * sender's INBOX, expiry, SMTPUTF8/8BITMIME refusal, concurrent runners claiming exactly once.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dkimVerify } from "mailauth";
import { dkimTxtRecord, ensureDkimKeys } from "../../src/smtp/dkim/index.ts";
import { createQueueRunner, fixtureResolver, type QueueRunnerOptions } from "../../src/smtp/queue/index.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { silentLogger as silent } from "../kit/logs.ts";
import { tempDir } from "../kit/temp.ts";
import { dnsFixture, type Receiver, startReceiver } from "./helpers.ts";

function message(opts: { from?: string; to?: string; id: string; body?: string; subject?: string }): Buffer {
  return Buffer.from(
    [
      `From: Alice <${opts.from ?? "alice@example.org"}>`,
      `To: <${opts.to ?? "bob@remote.test"}>`,
      `Subject: ${opts.subject ?? "hello"}`,
      `Message-ID: <${opts.id}@example.org>`,
      "Date: Sun, 22 Nov 2026 10:00:00 +0000",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      opts.body ?? "hello there",
      "",
    ].join("\r\n"),
    "utf8",
  );
}

interface Env {
  dir: string;
  store: Store;
  cleanup(): Promise<void>;
  runner(
    r: Receiver,
    extra?: Partial<QueueRunnerOptions>,
    store?: Store,
  ): ReturnType<typeof createQueueRunner>;
  txt: Record<string, string[]>;
}

async function env(): Promise<Env> {
  const t = tempDir("pk-outbound-");
  const store = await openStore({ dataDir: t.dir, feedSocketPath: null });
  await store.addDomain("example.org");
  await store.createAccount("alice@example.org", "x");
  const txt: Record<string, string[]> = {};
  for (const k of await ensureDkimKeys(store.keys, "example.org"))
    txt[`${k.selector}._domainkey.example.org`] = [dkimTxtRecord(k)];
  return {
    dir: t.dir,
    store,
    txt,
    runner(r, extra = {}, s = store) {
      return createQueueRunner({
        store: s,
        logger: silent,
        hostname: "mail.example.org",
        resolver: fixtureResolver(dnsFixture("remote.test", r.host, { TXT: txt })),
        port: r.port,
        pollIntervalMs: 50,
        concurrency: 4,
        retryBaseMs: 30,
        retryMaxMs: 1000,
        lifetimeMs: 60_000,
        leaseMs: 60_000,
        connectTimeoutMs: 5000,
        timeoutMs: 10_000,
        dkim: { keys: s.keys },
        ...extra,
      });
    },
    async cleanup() {
      await store.close();
      t.cleanup();
    },
  };
}

async function inboxMessages(store: Store, address: string): Promise<string[]> {
  const acc = await store.getAccount(address);
  const inbox = await store.getMailbox(acc!.id, "INBOX");
  const rows = await store.listMessages(inbox!.id);
  const out: string[] = [];
  for (const r of rows) out.push(Buffer.from(await store.readMessage(inbox!.id, r.uid)).toString("utf8"));
  return out;
}

/** waits until the entry's next attempt is due (computed from the store, bounded) */
async function untilDue(store: Store, id: number): Promise<void> {
  const e = await store.getQueueEntry(id);
  if (!e) return;
  const ms = e.nextAttemptAt.getTime() - Date.now();
  assert.ok(ms < 5000, "next attempt scheduled within the test's backoff");
  if (ms > 0) await new Promise((r) => setTimeout(r, ms + 5));
}

describe("outbound queue runner", () => {
  let e: Env;
  before(async () => {
    e = await env();
  });
  after(async () => {
    await e.cleanup();
  });

  test("delivers over STARTTLS with DKIM (ed25519 + rsa) and passes DSN parameters on", async () => {
    const r = await startReceiver();
    try {
      const q = await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        recipients: [
          { address: "bob@remote.test", notify: ["FAILURE", "DELAY"], orcpt: "rfc822;bob@remote.test" },
          { address: "carol@remote.test", notify: ["FAILURE", "DELAY"], orcpt: "rfc822;carol@remote.test" },
        ],
        envid: "env-1",
        ret: "HDRS",
        message: message({ id: "m1" }),
      });
      const runner = e.runner(r);
      assert.equal(await runner.runOnce(), 1);
      assert.equal(r.received.length, 1, "one transaction for the domain's recipients");
      assert.equal(r.connections, 1);
      const got = r.received[0]!;
      assert.equal(got.secure, true, "STARTTLS was used");
      assert.equal(got.mailFrom, "alice@example.org");
      assert.deepEqual(got.rcpts.map((x) => x.address).sort(), ["bob@remote.test", "carol@remote.test"]);
      assert.equal(got.mailArgs.ENVID, "env-1");
      assert.equal(got.mailArgs.RET, "HDRS");
      // per-recipient DSN parameters (RFC 3461 §4.1, §4.2)
      const bob = got.rcpts.find((x) => x.address === "bob@remote.test")!;
      const carol = got.rcpts.find((x) => x.address === "carol@remote.test")!;
      assert.equal(bob.args.NOTIFY, "FAILURE,DELAY");
      assert.equal(bob.args.ORCPT, "rfc822;bob@remote.test");
      assert.equal(carol.args.ORCPT, "rfc822;carol@remote.test");
      const v = await dkimVerify(got.data, { resolver: fixtureResolver({ TXT: e.txt }) as never });
      assert.deepEqual(v.results.map((x) => [x.signingDomain, x.status.result, x.algo]).sort(), [
        ["example.org", "pass", "ed25519-sha256"],
        ["example.org", "pass", "rsa-sha256"],
      ]);
      assert.ok(
        got.data.includes(message({ id: "m1" })),
        "the submitted bytes arrive unchanged after the signatures",
      );
      assert.equal(await e.store.getQueueEntry(q.id), null, "delivered entries leave the queue");
    } finally {
      await r.close();
    }
  });

  test("4xx is retried with backoff, then delivered", async () => {
    let refusals = 0;
    const r = await startReceiver({
      onRcpt: () => (refusals++ < 2 ? { code: 451, text: "4.7.1 greylisted, try again" } : null),
    });
    try {
      const q = await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        recipients: [{ address: "bob@remote.test" }],
        message: message({ id: "m2" }),
      });
      const runner = e.runner(r, { retryBaseMs: 400, retryMaxMs: 800 });
      assert.equal(await runner.runOnce(), 1);
      let entry = await e.store.getQueueEntry(q.id);
      assert.equal(entry?.recipients[0]?.state, "deferred");
      assert.equal(entry?.recipients[0]?.status, "4.7.1");
      assert.equal(entry?.attempts, 1);
      assert.equal(await runner.runOnce(), 0, "not due yet: backoff");
      await untilDue(e.store, q.id);
      assert.equal(await runner.runOnce(), 1);
      entry = await e.store.getQueueEntry(q.id);
      assert.equal(entry?.attempts, 2);
      const firstGap = entry!.nextAttemptAt.getTime();
      assert.ok(firstGap > Date.now() - 1000);
      await untilDue(e.store, q.id);
      assert.equal(await runner.runOnce(), 1);
      assert.equal(r.received.length, 1);
      assert.equal(await e.store.getQueueEntry(q.id), null);
    } finally {
      await r.close();
    }
  });

  test("5xx → RFC 3464 DSN in the local sender's INBOX; other recipients still delivered", async () => {
    const r = await startReceiver({
      onRcpt: (a) => (a.startsWith("nobody@") ? { code: 550, text: "5.1.1 no such user here" } : null),
    });
    try {
      const before = (await inboxMessages(e.store, "alice@example.org")).length;
      await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        recipients: [{ address: "nobody@remote.test" }, { address: "bob@remote.test" }],
        envid: "env-x",
        message: message({ id: "m3", subject: "the original subject" }),
      });
      assert.equal(await e.runner(r).runOnce(), 1);
      assert.equal(r.received.length, 1);
      assert.deepEqual(
        r.received[0]!.rcpts.map((x) => x.address),
        ["bob@remote.test"],
      );
      const inbox = await inboxMessages(e.store, "alice@example.org");
      assert.equal(inbox.length, before + 1, "one bounce");
      const dsn = inbox[inbox.length - 1]!;
      assert.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status/);
      assert.match(dsn, /Content-Type: message\/delivery-status/);
      assert.match(dsn, /Reporting-MTA: dns; mail\.example\.org/);
      assert.match(dsn, /Original-Envelope-Id: env-x/);
      assert.match(dsn, /Final-Recipient: rfc822; nobody@remote\.test\r\nAction: failed\r\nStatus: 5\.1\.1/);
      assert.match(dsn, /Diagnostic-Code: smtp; 550 5\.1\.1 no such user here/);
      assert.match(dsn, /Remote-MTA: dns; mx\.remote\.test/);
      assert.doesNotMatch(dsn, /Final-Recipient: rfc822; bob@/);
      assert.match(dsn, /Subject: the original subject/, "the original is returned");
      assert.equal((await e.store.listQueue()).length, 0);
    } finally {
      await r.close();
    }
  });

  test("null sender: a failure produces no bounce; NOTIFY=NEVER neither", async () => {
    const r = await startReceiver({ onRcpt: () => ({ code: 550, text: "5.1.1 unknown" }) });
    try {
      const before = (await inboxMessages(e.store, "alice@example.org")).length;
      await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "",
        recipients: [{ address: "x@remote.test" }],
        message: message({ id: "m4" }),
      });
      await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        recipients: [{ address: "y@remote.test", notify: ["NEVER"] }],
        message: message({ id: "m5" }),
      });
      assert.equal(await e.runner(r).runOnce(), 2);
      assert.equal((await inboxMessages(e.store, "alice@example.org")).length, before);
      assert.equal((await e.store.listQueue()).length, 0);
    } finally {
      await r.close();
    }
  });

  test("deferred past the lifetime → failed with 4.4.7 and a bounce", async () => {
    const r = await startReceiver({ onRcpt: () => ({ code: 421, text: "4.3.2 go away" }) });
    try {
      const before = (await inboxMessages(e.store, "alice@example.org")).length;
      await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        recipients: [{ address: "bob@remote.test" }],
        message: message({ id: "m6" }),
      });
      // lifetime 0: the first temporary failure is already past it
      assert.equal(await e.runner(r, { lifetimeMs: 0 }).runOnce(), 1);
      const inbox = await inboxMessages(e.store, "alice@example.org");
      assert.equal(inbox.length, before + 1);
      assert.match(inbox[inbox.length - 1]!, /Status: 4\.4\.7/);
      assert.equal((await e.store.listQueue()).length, 0);
    } finally {
      await r.close();
    }
  });

  test("still deferred after delay_warning → one delay DSN (Action: delayed), not repeated", async () => {
    const r = await startReceiver({ onRcpt: () => ({ code: 452, text: "4.2.2 mailbox full" }) });
    try {
      const before = (await inboxMessages(e.store, "alice@example.org")).length;
      const q = await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        recipients: [{ address: "full@remote.test" }],
        message: message({ id: "m12" }),
      });
      const runner = e.runner(r, { delayWarningMs: 1, retryBaseMs: 200, retryMaxMs: 200 });
      await new Promise((res) => setTimeout(res, 2)); // older than delay_warning (1 ms)
      assert.equal(await runner.runOnce(), 1);
      let inbox = await inboxMessages(e.store, "alice@example.org");
      assert.equal(inbox.length, before + 1);
      const dsn = inbox[inbox.length - 1]!;
      assert.match(dsn, /Subject: Delivery Status Notification \(Delay\)/);
      assert.match(dsn, /Final-Recipient: rfc822; full@remote\.test\r\nAction: delayed\r\nStatus: 4\.2\.2/);
      assert.match(dsn, /Will-Retry-Until: /);
      await untilDue(e.store, q.id);
      assert.equal(await runner.runOnce(), 1);
      inbox = await inboxMessages(e.store, "alice@example.org");
      assert.equal(inbox.length, before + 1, "only one delay notice per recipient");
      assert.equal((await e.store.getQueueEntry(q.id))?.recipients[0]?.delayNotified, true);
      await e.store.deleteOutbound(q.id);
    } finally {
      await r.close();
    }
  });

  test("no SMTPUTF8 at the peer for a message that needs it → 5.6.7 bounce, nothing sent", async () => {
    const r = await startReceiver({ hideSMTPUTF8: true });
    try {
      await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        recipients: [{ address: "jörg@remote.test" }],
        message: message({ id: "m7", to: "jörg@remote.test" }),
      });
      assert.equal(await e.runner(r).runOnce(), 1);
      assert.equal(r.received.length, 0);
      const inbox = await inboxMessages(e.store, "alice@example.org");
      assert.match(inbox[inbox.length - 1]!, /Status: 5\.6\.7/);
    } finally {
      await r.close();
    }
  });

  test("a domain without any reachable MX is deferred (connection failure), not lost", async () => {
    const r = await startReceiver();
    const port = r.port;
    await r.close(); // nothing listens there any more
    const q = await e.store.enqueueOutbound({
      accountId: null,
      mailFrom: "alice@example.org",
      recipients: [{ address: "bob@remote.test" }],
      message: message({ id: "m8" }),
    });
    const runner = e.runner({ ...r, port } as Receiver);
    assert.equal(await runner.runOnce(), 1);
    const entry = await e.store.getQueueEntry(q.id);
    assert.equal(entry?.recipients[0]?.state, "deferred");
    assert.equal(entry?.recipients[0]?.status, "4.4.1");
    assert.equal(await e.store.deleteOutbound(q.id), true);
  });

  test("a remote sender's bounce is queued with the null sender to the sender's address", async () => {
    const r = await startReceiver({
      onRcpt: (a) => (a.startsWith("nobody@") ? { code: 550, text: "5.1.1 unknown" } : null),
    });
    try {
      await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "someone@remote.test",
        recipients: [{ address: "nobody@remote.test" }],
        message: message({ id: "m9", from: "someone@remote.test" }),
      });
      assert.equal(await e.runner(r).runOnce(), 1);
      const q = await e.store.listQueue();
      assert.equal(q.length, 1);
      assert.equal(q[0]!.mailFrom, "", "RFC 5321 §4.5.5: DSNs use the null reverse-path");
      assert.deepEqual(
        q[0]!.recipients.map((x) => x.address),
        ["someone@remote.test"],
      );
      // the bounce itself is delivered by the next pass
      assert.equal(await e.runner(r).runOnce(), 1);
      assert.equal(r.received.length, 1);
      assert.equal(r.received[0]!.mailFrom, "");
      assert.match(r.received[0]!.data.toString(), /Final-Recipient: rfc822; nobody@remote\.test/);
      assert.equal((await e.store.listQueue()).length, 0);
    } finally {
      await r.close();
    }
  });

  test("smarthost: everything goes through the relay, authenticated after STARTTLS", async () => {
    const r = await startReceiver({ auth: { user: "relay-user", pass: "relay-pass" } });
    try {
      await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        // no DNS for this domain at all: the relay is used, not the MX
        recipients: [{ address: "x@no-dns.test" }],
        message: message({ id: "m10", to: "x@no-dns.test" }),
      });
      const runner = e.runner(r, {
        smarthost: { host: r.host, port: r.port, user: "relay-user", password: "relay-pass" },
      });
      assert.equal(await runner.runOnce(), 1);
      assert.equal(r.received.length, 1);
      assert.equal(r.received[0]!.user, "relay-user");
      assert.equal(r.received[0]!.secure, true);
      assert.equal((await e.store.listQueue()).length, 0);
      // wrong password: deferred, not bounced
      await e.store.enqueueOutbound({
        accountId: null,
        mailFrom: "alice@example.org",
        recipients: [{ address: "y@no-dns.test" }],
        message: message({ id: "m11", to: "y@no-dns.test" }),
      });
      const bad = e.runner(r, {
        smarthost: { host: r.host, port: r.port, user: "relay-user", password: "nope" },
      });
      assert.equal(await bad.runOnce(), 1);
      const q = await e.store.listQueue();
      assert.equal(q[0]?.recipients[0]?.state, "deferred");
      await e.store.deleteOutbound(q[0]!.id);
    } finally {
      await r.close();
    }
  });

  test("held entries are skipped until released; two runners never send one entry twice", async () => {
    const r = await startReceiver();
    try {
      const ids: number[] = [];
      for (let i = 0; i < 24; i++) {
        const q = await e.store.enqueueOutbound({
          accountId: null,
          mailFrom: "alice@example.org",
          recipients: [{ address: `r${i}@remote.test` }],
          message: message({ id: `c${i}` }),
        });
        ids.push(q.id);
      }
      assert.equal(await e.store.updateOutbound(ids[0]!, "hold"), true);
      const a = e.runner(r);
      // two runners interleaving on one store (separate processes are covered by the e2e test)
      const b = e.runner(r);
      const [na, nb] = await Promise.all([a.runOnce(), b.runOnce()]);
      assert.equal(na + nb, 23);
      assert.equal(r.received.length, 23);
      const mids = r.received.map((x) => /Message-ID: <([^>]+)>/.exec(x.data.toString())?.[1]);
      assert.equal(new Set(mids).size, 23, "each message exactly once");
      assert.equal((await e.store.getQueueEntry(ids[0]!))?.held, true);
      assert.equal(await a.runOnce(), 0);
      assert.equal(await e.store.updateOutbound(ids[0]!, "release"), true);
      assert.equal(await a.runOnce(), 1);
      assert.equal(r.received.length, 24);
    } finally {
      await r.close();
    }
  });
});
