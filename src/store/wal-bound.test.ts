/**
 * The WAL file is bounded (store.wal_limit_mb): after a burst of writes — a bulk fill and the
 * deletion of the mailbox — the background jobs checkpoint it and truncate it back under the
 * bound, instead of leaving it at its largest size for ever.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fixture, gcIdle, msg } from "./testing/helpers.ts";

const LIMIT = 256 * 1024;

function walSize(dir: string): number {
  try {
    return statSync(join(dir, "store.sqlite-wal")).size;
  } catch {
    return 0;
  }
}

test("a write burst larger than the WAL bound leaves the WAL file within it", async () => {
  const f = await fixture({ walLimitBytes: LIMIT });
  try {
    const words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet ".repeat(60);
    const mb = await f.store.createMailbox(f.accountId, "burst");
    let peak = 0;
    for (let b = 0; b < 6; b++) {
      const inputs = Array.from({ length: 25 }, (_, i) => ({
        raw: msg({ subject: `burst ${b}.${i}`, body: `${words} ${b}.${i}` }),
      }));
      await f.store.appendMany(f.accountId, mb.id, inputs);
      peak = Math.max(peak, walSize(f.dir));
    }
    await f.store.deleteMailbox(f.accountId, "burst");
    peak = Math.max(peak, walSize(f.dir));
    assert.ok(peak > LIMIT, `the burst grew the WAL beyond the bound (${peak} octets)`);
    await gcIdle(f.store);
    const after = walSize(f.dir);
    assert.ok(after <= LIMIT, `WAL ${after} octets after the burst, bound ${LIMIT}`);
    // the store still works and its data is intact after the checkpoint
    const inbox = await f.store.appendMany(f.accountId, f.inbox, [{ raw: msg({ subject: "after" }) }]);
    assert.equal(inbox.length, 1);
    assert.equal(await f.store.getMailbox(f.accountId, "burst"), null);
  } finally {
    await f.close();
  }
});

test("walLimitBytes 0 leaves the WAL alone (no bound)", async () => {
  const f = await fixture({ walLimitBytes: 0 });
  try {
    const mb = await f.store.createMailbox(f.accountId, "burst");
    const body = "x".repeat(20_000);
    await f.store.appendMany(
      f.accountId,
      mb.id,
      Array.from({ length: 30 }, (_, i) => ({ raw: msg({ subject: `n${i}`, body }) })),
    );
    await gcIdle(f.store);
    assert.ok(walSize(f.dir) > LIMIT, "without a bound the file keeps its size");
  } finally {
    await f.close();
  }
});
