/**
 * The blob-GC barrier a backup holds while it copies blobs (store/db/sqlite/gc-barrier.ts): an
 * expunged message's blob stays on disk while a barrier is held and is swept after its release.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "../../src/backup/manifest.ts";
import { holdGcBarrier } from "../../src/store/db/sqlite/gc-barrier.ts";
import type { SqlStore } from "../../src/store/store.ts";
import type { Store } from "../../src/store/types.ts";
import { contentStored, message, openTestStore } from "../kit/store.ts";

/** the SQLite store's sweeper, run to completion (what tests of the store use) */
const gc = (s: Store) => (s as SqlStore).collectGarbage();

describe("GC barrier", () => {
  it("holds the sweeper off until released", async () => {
    const t = await openTestStore({ accounts: [["u@example.com", "pw"]] });
    try {
      const acc = t.ids["u@example.com"]!;
      const inbox = (await t.store.getMailbox(acc, "INBOX"))!;
      const raw = Buffer.from(message("barrier"));
      const r = await t.store.append(acc, inbox.id, { raw });
      const sha = sha256(raw);
      assert.ok(contentStored(t.dir, sha));
      const b = holdGcBarrier(t.dir, 60_000);
      try {
        await t.store.expunge(inbox.id, [r.uid]);
        await gc(t.store);
        assert.ok(contentStored(t.dir, sha), "kept while the barrier is held");
      } finally {
        b.release();
      }
      await gc(t.store);
      assert.ok(!contentStored(t.dir, sha), "swept after the release");
    } finally {
      await t.close();
    }
  });

  it("an expired barrier does not hold the sweeper", async () => {
    const t = await openTestStore({ accounts: [["u@example.com", "pw"]] });
    try {
      const acc = t.ids["u@example.com"]!;
      const inbox = (await t.store.getMailbox(acc, "INBOX"))!;
      const raw = Buffer.from(message("expired"));
      const r = await t.store.append(acc, inbox.id, { raw });
      const sha = sha256(raw);
      const b = holdGcBarrier(t.dir, -1);
      try {
        await t.store.expunge(inbox.id, [r.uid]);
        await gc(t.store);
        assert.ok(!contentStored(t.dir, sha));
      } finally {
        b.release();
      }
    } finally {
      await t.close();
    }
  });
});
