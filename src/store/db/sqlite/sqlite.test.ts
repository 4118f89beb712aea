import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { openStore } from "../../index.ts";
import { msg, tempDir } from "../../testing/helpers.ts";
import { ConnectionMutex, openSqlite } from "./sqlite.ts";

test("a writer waiting for the write lock keeps the event loop free (async BEGIN IMMEDIATE retry)", async () => {
  const t = tempDir();
  let rawA: Database.Database | null = null;
  const a = await openStore({
    dataDir: t.dir,
    feedSocketPath: null,
    sqliteHook: (d) => {
      rawA = d;
    },
  });
  // a second connection, as another worker process would have; short busy timeout
  const b = await openStore({ dataDir: t.dir, feedSocketPath: null, busyTimeoutMs: 3000 });
  try {
    await a.addDomain("example.com");
    const acct = await a.createAccount("u@example.com", "h");
    const inbox = (await a.getMailbox(acct.id, "INBOX"))!.id;
    const db = rawA as unknown as Database.Database;
    // connection A holds the write lock; only a timer on this event loop releases it
    db.exec("BEGIN IMMEDIATE");
    const order: string[] = [];
    const release = new Promise<void>((resolve) =>
      setTimeout(() => {
        order.push("released");
        db.exec("COMMIT");
        resolve();
      }, 300),
    );
    // and the loop keeps turning meanwhile: a BEGIN attempt that waited in SQLite's busy handler
    // (a busy_timeout left at 100 ms) would stop it for ~100 ms at a time
    let last = performance.now();
    let longest = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    // B must wait without blocking the loop: with a sleeping busy handler the timer above could
    // not run and B would fail with "database is locked" after its busy timeout
    const r = await b.append(acct.id, inbox, { raw: msg({ subject: "waited" }) });
    order.push("appended");
    clearInterval(ticker);
    await release;
    assert.ok(longest < 75, `the loop stood still for ${longest.toFixed(0)} ms`);
    assert.deepEqual(order, ["released", "appended"]);
    assert.equal(r.uid, 1);
    assert.equal((await a.listMessages(inbox)).length, 1);
  } finally {
    if ((rawA as Database.Database | null)?.inTransaction)
      (rawA as unknown as Database.Database).exec("ROLLBACK");
    await b.close();
    await a.close();
    t.cleanup();
  }
});

test("the connection mutex runs holders one at a time, in the order they asked, past failures", async () => {
  const m = new ConnectionMutex();
  const log: string[] = [];
  let inside = 0;
  const holder = (name: string, ticks: number, fail = false) =>
    m.run(async () => {
      inside++;
      assert.equal(inside, 1, `${name} ran while another holder was inside`);
      log.push(`${name}+`);
      for (let i = 0; i < ticks; i++) await new Promise((r) => setImmediate(r));
      log.push(`${name}-`);
      inside--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    });
  const results = await Promise.allSettled([
    holder("a", 3),
    holder("b", 0, true),
    holder("c", 2),
    m.run(() => "sync"),
  ]);
  assert.deepEqual(log, ["a+", "a-", "b+", "b-", "c+", "c-"]);
  assert.deepEqual(
    results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
    ["a", "b failed", "c", "sync"],
  );
});

test("a redoable transaction commits with synchronous = NORMAL; every other one, and the next, with FULL", async () => {
  const t = tempDir();
  const h = openSqlite(join(t.dir, "store.sqlite"));
  const sync = () => Number(h.raw.pragma("synchronous", { simple: true }));
  try {
    assert.equal(sync(), 2, "FULL");
    await h.transaction(
      () => {
        assert.equal(sync(), 1, "NORMAL while it runs");
        h.raw.exec("CREATE TABLE r (x INTEGER); INSERT INTO r VALUES (1)");
      },
      { redoable: true },
    );
    assert.equal(sync(), 2);
    await assert.rejects(
      h.transaction(
        () => {
          h.raw.exec("INSERT INTO r VALUES (2)");
          throw new Error("no");
        },
        { redoable: true },
      ),
      /no/,
    );
    assert.equal(sync(), 2, "restored after a rollback too");
    await h.transaction(() => assert.equal(sync(), 2, "a plain transaction syncs its commit"));
    assert.deepEqual(h.raw.prepare("SELECT x FROM r").pluck().all(), [1]);
  } finally {
    await h.close();
    t.cleanup();
  }
});
