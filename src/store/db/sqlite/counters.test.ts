/**
 * Migration 12: the per-mailbox counters are computed for messages stored before it, and kept by
 * its triggers afterwards (the conformance suite compares them with a scan after mixed writes).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { openStore } from "../../index.ts";
import { msg, tempDir } from "../../testing/helpers.ts";

test("migration 12 counts the messages already stored; the triggers keep counting", async () => {
  const t = tempDir();
  let raw: Database.Database | null = null;
  const open = () =>
    openStore({
      dataDir: t.dir,
      feedSocketPath: null,
      pruneDelayMs: null,
      sqliteHook: (db: Database.Database) => {
        raw = db;
      },
    });
  let store = await open();
  try {
    await store.addDomain("example.com");
    const acct = await store.createAccount("bob@example.com", "hash");
    const inbox = (await store.getMailbox(acct.id, "INBOX"))!.id;
    await store.append(acct.id, inbox, { raw: msg({ body: "a" }) });
    await store.append(acct.id, inbox, { raw: msg({ body: "bb" }), flags: ["\\Seen"] });
    await store.append(acct.id, inbox, { raw: msg({ body: "ccc" }), flags: ["\\Deleted", "\\Seen"] });
    const expected = await store.mailboxCounts(inbox);
    assert.equal(expected.messages, 3);
    assert.equal(expected.unseen, 1);
    assert.equal(expected.deleted, 1);
    // back to a database from before migration 12 (no counters, no triggers)
    const db = raw as unknown as Database.Database;
    for (const trg of ["insert", "delete", "update"]) db.exec(`DROP TRIGGER message_counters_${trg}`);
    for (const col of ["n_messages", "n_unseen", "n_deleted", "total_size"])
      db.exec(`ALTER TABLE mailbox DROP COLUMN ${col}`);
    db.exec("DELETE FROM schema_migrations WHERE version = 12");
    await store.close();
    store = await open();
    assert.deepEqual(await store.mailboxCounts(inbox), expected);
    await store.storeFlags(inbox, [1], "add", ["\\Seen"]);
    await store.expunge(inbox, [3]);
    const after = await store.mailboxCounts(inbox);
    assert.deepEqual([after.messages, after.unseen, after.deleted], [2, 0, 0]);
  } finally {
    await store.close();
    t.cleanup();
  }
});
