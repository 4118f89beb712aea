/**
 * Query speed on a 100,000-message mailbox. Rows are bulk-inserted straight into SQLite (blob
 * writes are not what is measured here); timings are printed, never asserted
 * (performance is measured by `npm run bench`).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { fixture } from "./testing/helpers.ts";

test("listMessages / changesSince / getMessages / counts on 100k messages", async () => {
  let raw: Database.Database | null = null;
  const f = await fixture({
    sqliteHook: (db) => {
      raw = db;
    },
  });
  try {
    const db = raw as unknown as Database.Database;
    const N = 100_000;
    db.exec("BEGIN IMMEDIATE");
    const blob = db
      .prepare(
        "INSERT INTO blob (sha256, size, parsed, parsed_version, created_at) VALUES (?, 100, '{}', 1, 0)",
      )
      .run("ab".repeat(32)).lastInsertRowid;
    const ins = db.prepare(
      `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
         internal_date, save_date, flags, flag_bits, modseq) VALUES (?, ?, ?, ?, ?, ?, NULL, 100, 0, 0, ?, ?, ?)`,
    );
    for (let i = 1; i <= N; i++) {
      const seen = i % 3 !== 0;
      ins.run(f.inbox, i, f.accountId, `M${i}`, `T${i}`, blob, seen ? "\\Seen" : "", seen ? 1 : 0, 10 + i);
    }
    db.prepare("UPDATE mailbox SET uidnext = ?, highestmodseq = ? WHERE id = ?").run(N + 1, N + 10, f.inbox);
    db.exec("COMMIT");

    const time = async <T>(label: string, fn: () => Promise<T>): Promise<[T, number]> => {
      await fn(); // warm statement cache
      const t0 = performance.now();
      const r = await fn();
      const ms = performance.now() - t0;
      console.log(`# ${label}: ${ms.toFixed(1)} ms`);
      return [r, ms];
    };
    const [rows] = await time("listMessages 100k", () => f.store.listMessages(f.inbox));
    assert.equal(rows.length, N);
    assert.equal(rows[N - 1]!.uid, N);
    assert.equal(rows[N - 1]!.modseq, BigInt(10 + N));

    const [ch] = await time("changesSince (last 10)", () => f.store.changesSince(f.inbox, BigInt(N)));
    assert.equal(ch.changed.length, 10);

    const [metas] = await time("getMessages 1000 of 100k", () =>
      f.store.getMessages(
        f.inbox,
        Array.from({ length: 1000 }, (_, i) => 50_000 + i),
      ),
    );
    assert.equal(metas.length, 1000);

    const [counts] = await time("mailboxCounts 100k", () => f.store.mailboxCounts(f.inbox));
    assert.equal(counts.messages, N);
    assert.equal(counts.unseen, Math.floor(N / 3));
  } finally {
    await f.close();
  }
});
