import assert from "node:assert/strict";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { openStore } from "../../index.ts";
import { msg, tempDir } from "../../testing/helpers.ts";

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
