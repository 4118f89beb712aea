/**
 * Store conformance, the undelete window (docs/backup.md "Undelete window"): with
 * `undeleteWindowMs` an expunge keeps the message outside the quota, the sweeper keeps its
 * content while the window holds it, `undelete` brings it back (its folder, new UID, flags
 * without \Deleted, internal date, same octets) or into Restored/<date>/<name> when the folder is
 * gone; a purge past the window drops it for good and never another account's identical content.
 * Run by suite.ts for every adapter.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gcIdle, msg } from "../testing/helpers.ts";
import type { Store } from "../types.ts";
import type { ConformanceStore } from "./suite.ts";

/** a fresh store (its own data) with this undelete window */
export type UndeleteOpen = (opts: { undeleteWindowMs: number }) => Promise<ConformanceStore>;

/** what a store's jobs offer besides the Store API (SqlStore) */
type WithGc = Store & { collectGarbage(o: object): Promise<number> };

export function runUndeleteConformance(name: string, open: UndeleteOpen): void {
  const withStore = (title: string, windowMs: number, fn: (h: ConformanceStore) => Promise<void>) =>
    test(title, async () => {
      const h = await open({ undeleteWindowMs: windowMs });
      try {
        await h.store.addDomain("example.com");
        await fn(h);
      } finally {
        await h.close();
      }
    });

  describe(`store conformance: ${name}: undelete window`, () => {
    withStore(
      "kept outside the quota and through a sweep; undelete brings it back",
      86_400_000,
      async (h) => {
        const store = h.store as WithGc;
        const acct = await store.createAccount("bob@example.com", "hash");
        const inbox = (await store.getMailbox(acct.id, "INBOX"))!.id;
        const raw = msg({ subject: "oops" });
        const date = new Date("2021-05-06T07:08:09Z");
        const a = await store.append(acct.id, inbox, { raw, flags: ["\\Seen", "$Work"], internalDate: date });
        await store.storeFlags(inbox, [a.uid], "add", ["\\Deleted"]);
        const used = (await store.getAccountById(acct.id))!.usedBytes;
        await store.expunge(inbox, [a.uid]);
        assert.equal(
          (await store.getAccountById(acct.id))!.usedBytes,
          used - raw.length,
          "outside the quota",
        );
        await gcIdle(store);
        await store.collectGarbage({});
        const r = await store.undelete(acct.id, {});
        assert.deepEqual(r, { restored: 1, folders: ["INBOX"] });
        const [m] = await store.listMessages(inbox);
        assert.ok(m && m.uid > a.uid, "a new UID");
        assert.deepEqual(Buffer.from(await store.readMessage(inbox, m.uid)), raw);
        const [got] = await store.getMessages(inbox, [m.uid]);
        assert.deepEqual([...got!.flags].sort(), ["$Work", "\\Seen"]);
        assert.equal(got!.internalDate.getTime(), date.getTime());
        assert.equal((await store.getAccountById(acct.id))!.usedBytes, used);
        assert.deepEqual(await store.undelete(acct.id, {}), { restored: 0, folders: [] }, "nothing twice");
      },
    );

    withStore("the folder is gone: into Restored/<date>/<name>", 86_400_000, async (h) => {
      const store = h.store;
      const acct = await store.createAccount("bob@example.com", "hash");
      const box = (await store.createMailbox(acct.id, "Old")).id;
      const raw = msg({ subject: "in old" });
      const a = await store.append(acct.id, box, { raw });
      await store.expunge(box, [a.uid]);
      await store.deleteMailbox(acct.id, "Old");
      const r = await store.undelete(acct.id, { mailbox: "Old" });
      assert.equal(r.restored, 1);
      assert.equal(r.folders.length, 1);
      assert.match(r.folders[0]!, /^Restored\/\d{4}-\d{2}-\d{2}\/Old$/);
      const restored = (await store.getMailbox(acct.id, r.folders[0]!))!.id;
      const [m] = await store.listMessages(restored);
      assert.deepEqual(Buffer.from(await store.readMessage(restored, m!.uid)), raw);
    });

    withStore("purged past the window; another account's identical content stays", 1, async (h) => {
      const store = h.store as WithGc;
      const bob = await store.createAccount("bob@example.com", "hash");
      const alice = await store.createAccount("alice@example.com", "hash");
      const bobInbox = (await store.getMailbox(bob.id, "INBOX"))!.id;
      const aliceInbox = (await store.getMailbox(alice.id, "INBOX"))!.id;
      const shared = msg({ subject: "to both" });
      const a = await store.append(bob.id, bobInbox, { raw: shared });
      const b = await store.append(bob.id, bobInbox, { raw: msg({ subject: "bob only" }) });
      const c = await store.append(alice.id, aliceInbox, { raw: shared });
      const [bobOnly] = await store.getMessageBlobs(bobInbox, [b.uid]);
      await store.expunge(bobInbox, [a.uid, b.uid]);
      // the window is 1 ms: once the clock has moved on, a purge takes both rows
      const t = Date.now();
      while (Date.now() <= t + 1) await new Promise((r) => setTimeout(r, 2));
      await store.collectGarbage({});
      await gcIdle(store);
      assert.deepEqual(await store.undelete(bob.id, {}), { restored: 0, folders: [] });
      assert.deepEqual(Buffer.from(await store.readMessage(aliceInbox, c.uid)), shared);
      // the purge handed the content only bob's kept row held to the sweeper, which collected it
      assert.deepEqual(await store.getParsedMany([bobOnly!.blobId]), [null]);
    });
  });
}
