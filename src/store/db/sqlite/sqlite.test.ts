import assert from "node:assert/strict";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { openStore } from "../../index.ts";
import { msg, tempDir } from "../../testing/helpers.ts";
import { ConnectionMutex } from "./sqlite.ts";

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
      }, 150),
    );
    // B must wait without blocking the loop: with a sleeping busy handler the timer above could
    // not run and B would fail with "database is locked" after its busy timeout
    const r = await b.append(acct.id, inbox, { raw: msg({ subject: "waited" }) });
    order.push("appended");
    await release;
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
