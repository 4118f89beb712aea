import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { throttleIpKey, throttleUserKey } from "../auth/throttle.ts";
import { ipKey, localSlots } from "../net/conn-limits.ts";
import { createLimitsClient, type LimitsChannel, LimitsHub, type LimitsRequest } from "./limits-ipc.ts";

const throttle = {
  maxFailuresPerIp: 5,
  maxFailuresPerUser: 3,
  failureWindowMs: 60_000,
  lockoutMs: 60_000,
  maxUserDelayMs: 1000,
};
const quiet = { warn() {}, info() {} };

/** A worker's channel to the hub, with cluster IPC's JSON round trip and asynchrony. */
function channelTo(hub: LimitsHub, workerId: number, opts: { deaf?: boolean } = {}) {
  let deliver: (m: unknown) => void = () => {};
  const sent: LimitsRequest[] = [];
  const ch: LimitsChannel = {
    send(m) {
      sent.push(m);
      if (opts.deaf) return true; // primary stuck: nothing comes back
      const req = JSON.parse(JSON.stringify(m)) as LimitsRequest;
      setImmediate(() => {
        const r = hub.handle(workerId, req);
        if (r) setImmediate(() => deliver(JSON.parse(JSON.stringify(r))));
      });
      return true;
    },
    onMessage(cb) {
      deliver = cb;
    },
  };
  return { ch, sent };
}

function worker(hub: LimitsHub, id: number, opts: { deaf?: boolean; timeoutMs?: number } = {}) {
  const { ch, sent } = channelTo(hub, id, opts);
  return { ...createLimitsClient({ channel: ch, throttle, logger: quiet, timeoutMs: opts.timeoutMs }), sent };
}

describe("connection slots over IPC (one count for all workers)", () => {
  it("a per-IP limit holds over two workers; a release frees the slot for either", async () => {
    const hub = new LimitsHub(throttle);
    const a = worker(hub, 1);
    const b = worker(hub, 2);
    const want = [{ key: "imap ip 192.0.2.1", limit: 3 }];
    const l1 = await a.slots.acquire(want);
    const l2 = await b.slots.acquire(want);
    const l3 = await a.slots.acquire(want);
    assert.ok(l1 && l2 && l3);
    assert.equal(await b.slots.acquire(want), null, "the 4th, on the other worker, is refused");
    assert.equal(await a.slots.acquire(want), null);
    assert.ok(await b.slots.acquire([{ key: "imap ip 192.0.2.2", limit: 3 }]), "another IP is counted apart");
    l2.release();
    l2.release(); // idempotent
    await new Promise((r) => setImmediate(r));
    assert.equal(hub.slots.held("imap ip 192.0.2.1"), 2);
    assert.ok(await a.slots.acquire(want));
    assert.equal(await b.slots.acquire(want), null);
  });

  it("all or nothing over several keys; limit 0 is not counted and needs no round trip", async () => {
    const hub = new LimitsHub(throttle);
    const a = worker(hub, 1);
    assert.ok(await a.slots.acquire([{ key: "u", limit: 1 }]));
    assert.equal(
      await a.slots.acquire([
        { key: "v", limit: 5 },
        { key: "u", limit: 1 },
      ]),
      null,
    );
    assert.equal(hub.slots.held("v"), 0, "nothing taken when one key is full");
    const before = a.sent.length;
    assert.ok(await a.slots.acquire([{ key: "w", limit: 0 }]));
    assert.equal(a.sent.length, before, "unlimited: not asked");
  });

  it("a worker that exits gives back every slot it held", async () => {
    const hub = new LimitsHub(throttle);
    const a = worker(hub, 1);
    const b = worker(hub, 2);
    const want = [{ key: "smtp ip 192.0.2.9", limit: 3 }];
    await a.slots.acquire(want);
    await a.slots.acquire(want);
    await b.slots.acquire(want);
    assert.equal(await b.slots.acquire(want), null);
    assert.equal(hub.dropWorker(1), 2);
    assert.equal(hub.slots.held("smtp ip 192.0.2.9"), 1);
    assert.ok(await b.slots.acquire(want));
    assert.ok(await b.slots.acquire(want));
    assert.equal(await b.slots.acquire(want), null);
    assert.equal(hub.dropWorker(1), 0, "dropping twice does nothing");
  });

  it("no answer from the primary: the connection is let in, and its release is still sent", async () => {
    const hub = new LimitsHub(throttle);
    const a = worker(hub, 1, { deaf: true, timeoutMs: 30 });
    const t0 = Date.now();
    const lease = await a.slots.acquire([{ key: "imap ip 192.0.2.1", limit: 1 }]);
    assert.ok(lease, "fail open");
    assert.ok(Date.now() - t0 >= 25, "waited for the timeout");
    lease.release();
    assert.deepEqual(
      a.sent.map((m) => m.type),
      ["limits:acquire", "limits:release"],
    );
  });

  it("the local implementation counts the same way", async () => {
    const s = localSlots();
    const want = [{ key: "pop3 ip ::1", limit: 1 }];
    const l = await s.acquire(want);
    assert.ok(l);
    assert.equal(await s.acquire(want), null);
    l.release();
    assert.equal(s.counter.size, 0);
    assert.ok(await s.acquire(want));
  });
});

describe("login throttle over IPC", () => {
  it("failures on two workers add up; lockouts are per IP + username, delays per username", async () => {
    const hub = new LimitsHub(throttle);
    const a = worker(hub, 1);
    const b = worker(hub, 2);
    await a.throttle.fail("192.0.2.1", "alice");
    await b.throttle.fail("192.0.2.1", "alice");
    assert.deepEqual(await a.throttle.check("192.0.2.1", "alice"), { refused: null, delayMs: 0 });
    const third = await a.throttle.fail("192.0.2.1", "alice");
    assert.deepEqual(third, { lockout: "ip+user", userDelayStarted: true });
    // neither worker alone saw 3 failures; the primary did
    assert.equal((await b.throttle.check("192.0.2.1", "alice")).refused, "ip+user");
    assert.deepEqual(await b.throttle.check("192.0.2.2", "alice"), { refused: null, delayMs: 200 });
    assert.deepEqual(await b.throttle.check("192.0.2.1", "bob"), { refused: null, delayMs: 0 });
    // the IP limit (5) over usernames
    await a.throttle.fail("192.0.2.1", "x");
    const fifth = await b.throttle.fail("192.0.2.1", "y");
    assert.equal(fifth.lockout, "ip");
    assert.equal((await a.throttle.check("192.0.2.1", "bob")).refused, "ip");
  });

  it("a success clears the IP + username counter on the primary", async () => {
    const hub = new LimitsHub(throttle);
    const a = worker(hub, 1);
    const b = worker(hub, 2);
    await a.throttle.fail("192.0.2.1", "alice");
    await b.throttle.fail("192.0.2.1", "alice");
    a.throttle.succeed("192.0.2.1", "alice");
    await b.throttle.fail("192.0.2.1", "alice");
    assert.equal((await b.throttle.check("192.0.2.1", "alice")).refused, null);
  });

  it("no answer from the primary: falls back to this worker's own counts", async () => {
    const hub = new LimitsHub(throttle);
    const a = worker(hub, 1, { deaf: true, timeoutMs: 20 });
    for (let i = 0; i < 3; i++) await a.throttle.fail("192.0.2.1", "alice");
    assert.equal((await a.throttle.check("192.0.2.1", "alice")).refused, "ip+user");
    assert.equal((await a.throttle.check("192.0.2.3", "alice")).refused, null);
  });

  it("throttle keys: IPv4-mapped counts as IPv4, IPv6 by its /64, long usernames hashed", () => {
    assert.equal(throttleIpKey("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(throttleIpKey("192.0.2.1"), "192.0.2.1");
    assert.equal(throttleIpKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert.equal(throttleIpKey("2001:0db8:0001:0002:ffff:1:2:3"), "2001:db8:1:2::/64");
    assert.equal(throttleIpKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(throttleIpKey("::1"), "0:0:0:0::/64");
    assert.equal(throttleIpKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(throttleIpKey("64:ff9b::192.0.2.1"), "64:ff9b:0:0::/64");
    assert.equal(throttleUserKey("alice@example.com"), "alice@example.com");
    const long = throttleUserKey("a".repeat(5000));
    assert.ok(long.startsWith("#") && long.length < 60);
    assert.equal(ipKey("::ffff:127.0.0.1"), "127.0.0.1");
    assert.equal(ipKey("::1"), "::1");
  });
});
