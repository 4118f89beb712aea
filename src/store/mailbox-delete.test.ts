/**
 * DELETE of a mailbox is a metadata operation: the mailbox is gone and its name free at once;
 * its messages, blobs, usage and their Emails' change-log rows follow in the background purge
 * (domain/mailboxes.ts purgeDeleted, db/sqlite/jobs.ts), which a close and reopen resumes.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { sha256Hex } from "./blob/fs.ts";
import { openStore } from "./index.ts";
import { fixture, gcIdle, msg, tempDir } from "./testing/helpers.ts";
import type { Store } from "./types.ts";

function blobPath(dir: string, sha: string): string {
  return join(dir, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha);
}

/** octets of the FTS5 index's segments (its shadow table) */
function ftsBytes(dir: string): number {
  const db = new Database(join(dir, "store.sqlite"), { readonly: true });
  try {
    return Number(db.prepare("SELECT COALESCE(sum(length(block)), 0) FROM fts_data").pluck().get());
  } finally {
    db.close();
  }
}

/** more messages than one purge transaction takes (jobs.ts PURGE_BATCH = 500) */
const N = 1100;

async function fill(store: Store, accountId: number, mailboxId: number, tag: string): Promise<Buffer[]> {
  const raws: Buffer[] = [];
  for (let i = 0; i < N; i += 100) {
    const chunk = Array.from({ length: Math.min(100, N - i) }, (_, k) =>
      msg({ subject: `${tag} ${i + k}`, body: `${tag} body ${i + k}` }),
    );
    raws.push(...chunk);
    await store.appendMany(
      accountId,
      mailboxId,
      chunk.map((raw) => ({ raw })),
    );
  }
  return raws;
}

test("a deleted mailbox is gone at once; messages, blobs, usage and Emails follow in the background", async () => {
  const f = await fixture({ smallBlobMaxBytes: 0 });
  try {
    const { store, accountId } = f;
    const big = await store.createMailbox(accountId, "big");
    const raws = await fill(store, accountId, big.id, "old");
    const shas = raws.map((r) => sha256Hex(r));
    assert.ok(shas.every((s) => existsSync(blobPath(f.dir, s))));
    const before = (await store.getAccountById(accountId))!;
    assert.equal(before.usedMessages, N);
    await gcIdle(store);
    const indexFull = ftsBytes(f.dir);
    const state = await store.currentState(accountId);

    await store.deleteMailbox(accountId, "big");
    // gone for every reader at once
    assert.equal(await store.getMailbox(accountId, "big"), null);
    assert.equal(await store.getMailboxById(big.id), null);
    assert.ok(!(await store.listMailboxes(accountId)).some((m) => m.id === big.id || m.name === "big"));
    await assert.rejects(store.append(accountId, big.id, { raw: msg() }), { code: "NONEXISTENT" });
    const mbChanges = await store.changesSinceState(accountId, "mailbox", state);
    assert.ok(mbChanges !== "cannotCalculateChanges");
    assert.deepEqual(mbChanges.destroyed, [String(big.id)]);

    // the name works at once: a new, empty mailbox with a new UIDVALIDITY
    const again = await store.createMailbox(accountId, "big");
    assert.notEqual(again.id, big.id);
    assert.ok(again.uidValidity > big.uidValidity);
    assert.equal((await store.mailboxCounts(again.id)).messages, 0);
    const kept = msg({ subject: "kept", body: "the one that stays" });
    const r = await store.append(accountId, again.id, { raw: kept });
    assert.equal(r.uid, 1);

    await gcIdle(store);
    // the purge released the usage and the sweeper the files; the new message is untouched
    const after = (await store.getAccountById(accountId))!;
    assert.equal(after.usedMessages, 1);
    assert.equal(after.usedBytes, kept.length);
    assert.ok(
      shas.every((s) => !existsSync(blobPath(f.dir, s))),
      "old blobs collected",
    );
    assert.ok(existsSync(blobPath(f.dir, sha256Hex(kept))));
    assert.deepEqual(Buffer.from(await store.readMessage(again.id, 1)), kept);
    // every Email of the old mailbox is logged destroyed (none was created and destroyed after `state`)
    const emails = await store.changesSinceState(accountId, "email", state, 100_000);
    assert.ok(emails !== "cannotCalculateChanges");
    assert.equal(emails.destroyed.length, N);
    assert.equal(emails.created.length, 1);
    // searches of the new mailbox see only its own message
    assert.deepEqual(await store.searchText(again.id, { field: "text", value: "body" }), []);
    assert.deepEqual(await store.searchText(again.id, { field: "text", value: "stays" }), [1]);
    // and the trigram index gave its space back (FTS5 rewrote the segments whose entries died)
    const indexAfter = ftsBytes(f.dir);
    assert.ok(indexAfter < indexFull / 10, `index ${indexAfter} of ${indexFull} octets left`);
  } finally {
    await f.close();
  }
});

test("a mailbox retired but not purged before a stop (crash) is purged at the next open", async () => {
  const t = tempDir();
  try {
    let store = await openStore({ smallBlobMaxBytes: 0, dataDir: t.dir, feedSocketPath: null });
    await store.addDomain("example.com");
    const acct = await store.createAccount("u@example.com", "h");
    const mb = await store.createMailbox(acct.id, "gone");
    const raws = await fill(store, acct.id, mb.id, "gone");
    await store.close();
    // what a DELETE commits before its purge runs (ops-mailboxes.ts retire), as a crash leaves it
    const db = new Database(join(t.dir, "store.sqlite"));
    db.prepare("UPDATE mailbox SET name = ? WHERE id = ?").run(`*deleting*${mb.id}`, mb.id);
    db.close();
    store = await openStore({ smallBlobMaxBytes: 0, dataDir: t.dir, feedSocketPath: null });
    try {
      assert.equal(await store.getMailboxById(mb.id), null);
      await gcIdle(store);
      const a = (await store.getAccountById(acct.id))!;
      assert.equal(a.usedMessages, 0);
      assert.equal(a.usedBytes, 0);
      assert.ok(raws.every((r) => !existsSync(blobPath(t.dir, sha256Hex(r)))));
    } finally {
      await store.close();
    }
  } finally {
    t.cleanup();
  }
});

test("a mailbox another process retired is purged by this one while that one goes on writing", async () => {
  const t = tempDir();
  try {
    const store = await openStore({ smallBlobMaxBytes: 0, dataDir: t.dir, feedSocketPath: null });
    const other = new Database(join(t.dir, "store.sqlite"));
    try {
      await store.addDomain("example.com");
      const acct = await store.createAccount("u@example.com", "h");
      const mb = await store.createMailbox(acct.id, "gone");
      await fill(store, acct.id, mb.id, "gone");
      await gcIdle(store);
      // the other process's DELETE (ops-mailboxes.ts retire); its own jobs, too busy serving to
      // purge (load.ts PeerPacing), leave the messages; this store's jobs were not told of it
      other.pragma("busy_timeout = 5000");
      other.prepare("UPDATE mailbox SET name = ? WHERE id = ?").run(`*deleting*${mb.id}`, mb.id);
      other.exec("CREATE TABLE other_writes (x INTEGER)");
      const left = () =>
        Number(other.prepare("SELECT count(*) FROM message WHERE mailbox_id = ?").pluck().get(mb.id));
      assert.equal(left(), N);
      // it goes on committing; bounded: 400 × 25 ms
      for (let i = 0; i < 400 && left() > 0; i++) {
        other.prepare("INSERT INTO other_writes (x) VALUES (?)").run(i);
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(left(), 0, "purged by the store that was not told");
      const a = (await store.getAccountById(acct.id))!;
      assert.equal(a.usedMessages, 0);
    } finally {
      other.close();
      await store.close();
    }
  } finally {
    t.cleanup();
  }
});
