/**
 * The background jobs' pacing (load.ts): which process does the work (PeerPacing, the heartbeat
 * file) and how long a job pauses after a batch; and that every job's own time counts as work of
 * the jobs, not as serving, for every job's load check.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../testing/helpers.ts";
import { claimJob } from "./jobs.ts";
import { BUSY_PAUSE_FACTOR, LoopLoad, PeerPacing } from "./load.ts";
import { openSqlite } from "./sqlite.ts";

const busy = { busy: () => true };
const idle = { busy: () => false };

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // keeps the event loop busy
  }
}

test("a busy process leaves the background work to one that is not, while that one beats", async () => {
  const t = tempDir();
  const h = openSqlite(join(t.dir, "store.sqlite"));
  const other = openSqlite(join(t.dir, "store.sqlite"));
  try {
    const path = join(t.dir, "run", "jobs-heartbeat");
    const a = new PeerPacing(h, path, 300);
    const b = new PeerPacing(h, path, 300);
    // nobody beats yet: busy paces at its bounded share, not busy at the job's idle factor
    assert.deepEqual(b.turn(busy, 1), { defer: false, busy: true, pause: BUSY_PAUSE_FACTOR });
    // a (not busy) works and beats; b, busy, defers to it; a does not defer to its own beat
    assert.deepEqual(a.turn(idle, 0), { defer: false, busy: false, pause: 0 });
    assert.deepEqual(b.turn(busy, 1), { defer: true, busy: true, pause: 0 });
    assert.deepEqual(a.turn(idle, 1), { defer: false, busy: false, pause: 1 });
    // another connection writes: the one doing the work pauses as long as its batch took
    await other.transaction(() => other.raw.exec("CREATE TABLE w (x INTEGER)"));
    assert.equal(a.turn(idle, 0).pause, 1);
    // a gets busy too: it does not defer to its own beat, and stops beating; once its beat is
    // stale, b goes on at its bounded share
    assert.deepEqual(a.turn(busy, 0), { defer: false, busy: true, pause: BUSY_PAUSE_FACTOR });
    assert.equal(b.turn(busy, 1).defer, true);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(b.turn(busy, 1), { defer: false, busy: true, pause: BUSY_PAUSE_FACTOR });
    // whenIdle: back to back, never deferred
    b.fast = true;
    assert.deepEqual(b.turn(busy, 1), { defer: false, busy: false, pause: 0 });
  } finally {
    await other.close();
    await h.close();
    t.cleanup();
  }
});

test("one job's own time is not counted as serving by another job's load check", () => {
  const serving = new LoopLoad();
  const checkpointer = new LoopLoad();
  const sweeper = new LoopLoad();
  serving.busy();
  checkpointer.busy();
  spin(120);
  // the loop was busy and no job said the time was its own
  assert.equal(serving.busy(), true);
  spin(120);
  // the sweeper's batch took that time: the checkpointer sees a loop that did not serve
  sweeper.own(200);
  assert.equal(checkpointer.busy(), false);
});

test("an hourly job is claimed by one process of those sharing the store, and by another once due", async () => {
  const t = tempDir();
  // two connections: two processes whose timers fire at about the same time
  const a = openSqlite(join(t.dir, "store.sqlite"));
  const b = openSqlite(join(t.dir, "store.sqlite"));
  try {
    const hour = 3_600_000;
    const now = Date.now();
    assert.equal(await claimJob(a, "prune", hour, now), true);
    assert.equal(await claimJob(b, "prune", hour, now + 5), false);
    assert.equal(await claimJob(a, "other", hour, now + 5), true, "each job has its own time");
    // an hour on (its timer fires a little late): due again, for whichever comes first
    assert.equal(await claimJob(b, "prune", hour, now + hour), true);
    assert.equal(await claimJob(a, "prune", hour, now + hour + 10), false);
  } finally {
    await b.close();
    await a.close();
    t.cleanup();
  }
});
