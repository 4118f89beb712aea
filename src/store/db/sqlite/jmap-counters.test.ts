/**
 * Migration 23: the JMAP counters (distinct threads, duplicate Emails per mailbox) are computed
 * for messages stored before it and kept by its triggers afterwards (test/jmap/query-store-cases.ts
 * compares them with a model after mixed writes on both adapters).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { openStore } from "../../index.ts";
import { msg, tempDir } from "../../testing/helpers.ts";

test("migration 23 counts the threads and duplicates already stored; the triggers keep counting", async () => {
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
    const mid = (k: string, extra = "") =>
      Buffer.from(`Message-ID: <${k}@example.com>\r\n${extra}${msg({ body: k }).toString()}`);
    await store.append(acct.id, inbox, { raw: mid("a") });
    await store.append(acct.id, inbox, { raw: mid("b", "In-Reply-To: <a@example.com>\r\n") });
    await store.append(acct.id, inbox, { raw: mid("c") });
    await store.append(acct.id, inbox, { raw: mid("d"), flags: ["\\Deleted"] });
    await store.copy(inbox, [3], inbox); // a second copy of c in the same mailbox
    const expected = await store.jmapMailboxTotals(inbox);
    assert.deepEqual(expected, { emails: 3, threads: 2 });
    // back to a database from before migration 23 (no counters, triggers or indexes)
    const db = raw as unknown as Database.Database;
    for (const trg of ["insert", "delete", "update"]) db.exec(`DROP TRIGGER message_jmap_${trg}`);
    for (const col of ["n_threads", "n_dup_emails"]) db.exec(`ALTER TABLE mailbox DROP COLUMN ${col}`);
    db.exec("DROP INDEX message_mailbox_thread");
    db.exec("DROP INDEX message_unread");
    db.exec("DROP INDEX message_date");
    db.exec("CREATE INDEX message_date ON message (mailbox_id, internal_date DESC, email_id)");
    db.exec("DELETE FROM schema_migrations WHERE version = 23");
    await store.close();
    store = await open();
    assert.deepEqual(await store.jmapMailboxTotals(inbox), expected);
    await store.storeFlags(inbox, [4], "remove", ["\\Deleted"]); // d visible: a thread more
    await store.expunge(inbox, [5]); // the second copy of c
    assert.deepEqual(await store.jmapMailboxTotals(inbox), { emails: 4, threads: 3 });
    const counts = (await store.jmapAccountCounts(acct.id)).get(inbox);
    assert.deepEqual(counts, { emails: 4, threads: 3, unreadEmails: 4, unreadThreads: 3 });
  } finally {
    await store.close();
    t.cleanup();
  }
});
