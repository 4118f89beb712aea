// sharedThrottle without its database: every answer comes from the local copy of the counts.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FailureCounters } from "../store/counters/port.ts";
import { sharedThrottle } from "./throttle-shared.ts";

test("a database that does not answer: the limits still hold in this process, errors reported", async () => {
  const down: FailureCounters = {
    fail: () => Promise.reject(new Error("connection refused")),
    read: () => Promise.reject(new Error("connection refused")),
    clear: () => Promise.reject(new Error("connection refused")),
  };
  const errors: unknown[] = [];
  const t = sharedThrottle(
    down,
    {
      maxFailuresPerIp: 2,
      maxFailuresPerUser: 0,
      failureWindowMs: 60_000,
      lockoutMs: 60_000,
      maxUserDelayMs: 0,
    },
    (e) => errors.push(e),
  );
  assert.deepEqual(await t.check("192.0.2.1", "alice"), { refused: null, delayMs: 0 });
  assert.equal((await t.fail("192.0.2.1", "alice")).lockout, null);
  assert.equal((await t.fail("192.0.2.1", "bob")).lockout, "ip");
  assert.equal((await t.check("192.0.2.1", "carol")).refused, "ip");
  assert.equal((await t.check("192.0.2.2", "carol")).refused, null);
  assert.ok(errors.length >= 4);
});
