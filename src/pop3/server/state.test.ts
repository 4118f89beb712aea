import assert from "node:assert/strict";
import { test } from "node:test";
import type { Lease } from "../../store/types.ts";
import { MaildropLock } from "./state.ts";

function fakeLease(renewOk: boolean | Error = true) {
  const calls = { renew: 0, release: 0 };
  const lease: Lease = {
    name: "pop3/1",
    owner: "test",
    expiresAt: Date.now() + 60_000,
    renew: async () => {
      calls.renew++;
      if (renewOk instanceof Error) throw renewOk;
      return renewOk;
    },
    release: async () => {
      calls.release++;
    },
  };
  return { lease, calls };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("MaildropLock renews every third of its time until released; release is idempotent", async () => {
  const { lease, calls } = fakeLease();
  const warnings: string[] = [];
  const lock = new MaildropLock(lease, 30, (_e, m) => warnings.push(m));
  lock.keep();
  await sleep(80);
  assert.ok(calls.renew >= 2, `renewed ${calls.renew} times`);
  lock.release();
  lock.release();
  assert.equal(calls.release, 1);
  const after = calls.renew;
  await sleep(60);
  assert.ok(calls.renew <= after + 1, "no renewal cycle after release"); // at most one in flight
  assert.deepEqual(warnings, []);
});

test("MaildropLock warns once and stops when the lease was taken over", async () => {
  const { lease, calls } = fakeLease(false);
  const warnings: string[] = [];
  const lock = new MaildropLock(lease, 15, (_e, m) => warnings.push(m));
  lock.keep();
  await sleep(60);
  assert.equal(calls.renew, 1);
  assert.deepEqual(warnings, ["pop3 maildrop lock lost (lease expired and taken over)"]);
  lock.release();
});

test("MaildropLock keeps renewing after a failed renewal, warning each time", async () => {
  const { lease, calls } = fakeLease(new Error("disk"));
  const warnings: string[] = [];
  const lock = new MaildropLock(lease, 15, (_e, m) => warnings.push(m));
  lock.keep();
  await sleep(60);
  lock.release();
  assert.ok(calls.renew >= 2);
  assert.ok(warnings.every((w) => w === "pop3 maildrop lock renewal failed"));
});
