import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { heartbeatIntervalMs, installStallHook, Watchdog } from "./watchdog.ts";

function fixture(stallMs = 1000) {
  let now = 0;
  const stalls: Array<[string, number]> = [];
  const wd = new Watchdog<string>({ stallMs, now: () => now, onStall: (w, ms) => stalls.push([w, ms]) });
  /** advances the clock in check-sized steps, checking after each */
  const advance = (ms: number, step = heartbeatIntervalMs(stallMs)) => {
    for (let t = 0; t < ms; t += step) {
      now += Math.min(step, ms - t);
      wd.check();
    }
  };
  return { wd, stalls, advance, beat: (w: string) => wd.beat(w) };
}

describe("Watchdog", () => {
  it("reports a watched worker silent for longer than the limit, once", () => {
    const f = fixture(1000);
    f.wd.watch("a");
    f.wd.watch("b");
    for (let i = 0; i < 10; i++) {
      f.advance(200);
      f.beat("a");
      f.beat("b");
    }
    assert.equal(f.stalls.length, 0);
    // b goes silent
    for (let i = 0; i < 6; i++) {
      f.advance(200);
      f.beat("a");
    }
    assert.equal(f.stalls.length, 1);
    assert.equal(f.stalls[0]![0], "b");
    assert.ok(f.stalls[0]![1] > 1000);
    f.advance(5000, 200);
    assert.deepEqual(
      f.stalls.map(([w]) => w),
      ["b", "a"],
      "b is reported once; a too once it stops beating",
    );
    assert.equal(f.wd.watched, 0);
  });

  it("ignores beats of workers not (yet) watched and forgets exited ones", () => {
    const f = fixture(1000);
    f.beat("starting"); // before "listening": not watched
    f.wd.watch("x");
    f.wd.forget("x");
    f.advance(3000);
    assert.equal(f.stalls.length, 0);
  });

  it("does not blame workers for the primary's own pause (beats still unread)", () => {
    const f = fixture(1000);
    f.wd.watch("a");
    f.advance(5000, 5000); // one check after 5 s: the primary itself was blocked
    assert.equal(f.stalls.length, 0);
    f.advance(1200); // then silence counted from the resumption
    assert.equal(f.stalls.length, 1);
  });

  it("heartbeat period: a few beats per limit, between 50 ms and 1 s", () => {
    assert.equal(heartbeatIntervalMs(30_000), 1000);
    assert.equal(heartbeatIntervalMs(1000), 200);
    assert.equal(heartbeatIntervalMs(100), 50);
  });

  it("the stall hook is installed only with POSTKONTOR_TEST_HOOKS=1", () => {
    const log = { warn() {} };
    const before = process.listenerCount("SIGUSR2");
    assert.equal(installStallHook(log, {}), false);
    assert.equal(installStallHook(log, { POSTKONTOR_TEST_HOOKS: "true" }), false);
    assert.equal(process.listenerCount("SIGUSR2"), before);
  });
});
