import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { loadConfig } from "../config/index.ts";
import { heartbeatIntervalMs, installStallHook, trackHandoffs, Watchdog } from "./watchdog.ts";

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

  it("server.worker_stall_s: default 30 s, fractions allowed (environment too), 0 = off, no negatives", () => {
    const cwd = "/nonexistent-postkontor-dir";
    assert.equal(loadConfig(undefined, { env: {}, cwd }).server.worker_stall_s, 30);
    const half = loadConfig(undefined, { env: { POSTKONTOR__SERVER__WORKER_STALL_S: "0.5" }, cwd });
    assert.equal(half.server.worker_stall_s, 0.5);
    const off = loadConfig(undefined, { env: { POSTKONTOR__SERVER__WORKER_STALL_S: "0" }, cwd });
    assert.equal(off.server.worker_stall_s, 0);
    assert.throws(
      () => loadConfig(undefined, { env: { POSTKONTOR__SERVER__WORKER_STALL_S: "-1" }, cwd }),
      /worker_stall_s/,
    );
  });

  it("trackHandoffs closes the connections a dead worker never acknowledged", () => {
    const child = Object.assign(new EventEmitter(), { sent: 0, send: (..._a: never[]) => true });
    child.send = (() => {
      child.sent++;
      return true;
    }) as never;
    const t = trackHandoffs(child);
    const closed: string[] = [];
    const handle = (name: string) => ({ close: () => closed.push(name) });
    const send = child.send as unknown as (m: object, h?: object) => boolean;
    send({ cmd: "NODE_CLUSTER", act: "newconn", seq: 1 }, handle("one"));
    send({ cmd: "NODE_CLUSTER", act: "newconn", seq: 2 }, handle("two"));
    send({ cmd: "NODE_CLUSTER", act: "other", seq: 3 }, handle("not a connection"));
    send({ type: "shutdown" });
    assert.equal(child.sent, 4, "every message still goes out");
    child.emit("internalMessage", { cmd: "NODE_CLUSTER", ack: 1, accepted: true });
    assert.equal(t.drop(), 1);
    assert.deepEqual(closed, ["two"]);
    assert.equal(t.drop(), 0);
  });
});
