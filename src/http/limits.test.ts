/** The HTTP request limits with a fake clock: per-IP windows, Retry-After, requests in flight. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConcurrencyGate, RateLimiter } from "./limits.ts";

describe("HTTP limits", () => {
  it("RateLimiter: n per window per IP, Retry-After until the window ends, a new window starts over", () => {
    let t = 60_000 * 10 + 15_000; // 15 s into a window
    const r = new RateLimiter(3, () => t);
    for (let i = 0; i < 3; i++) assert.equal(r.take("192.0.2.1"), 0);
    assert.equal(r.take("192.0.2.1"), 45);
    assert.equal(r.take("::ffff:192.0.2.1"), 45, "an IPv4-mapped address is the same client");
    assert.equal(r.take("192.0.2.2"), 0, "other clients have their own count");
    t += 45_000;
    assert.equal(r.take("192.0.2.1"), 0);
    assert.equal(new RateLimiter(0, () => t).take("192.0.2.1"), 0, "0 = unlimited");
  });

  it("ConcurrencyGate: at most max in flight; 0 = unlimited", () => {
    const g = new ConcurrencyGate(2);
    assert.equal(g.enter(), true);
    assert.equal(g.enter(), true);
    assert.equal(g.enter(), false);
    g.leave();
    assert.equal(g.enter(), true);
    assert.equal(g.inFlight, 2);
    const u = new ConcurrencyGate(0);
    for (let i = 0; i < 1000; i++) assert.equal(u.enter(), true);
  });
});
