/**
 * Store conformance, JMAP lookups (run by suite.ts's runStoreConformance for every adapter):
 * messagesByEmailId / messagesByThreadId answer every copy of the named Emails / Threads of one
 * account, in any mailbox, with \Deleted copies; emailIdsByDate pages a mailbox newest internal
 * date first (ties by emailId ascending), \Deleted rows left out. Public Store interface only.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { msg } from "../testing/helpers.ts";
import { StoreError } from "../types.ts";
import { setup } from "./setup.ts";
import type { ConformanceStore } from "./suite.ts";

export function runLookupConformance(name: string, openFresh: () => Promise<ConformanceStore>): void {
  test(`${name}: messagesByEmailId / messagesByThreadId answer every copy, in any mailbox, of one account`, async () => {
    const h = await openFresh();
    try {
      const s = h.store;
      await s.addDomain("example.com");
      const acct = await s.createAccount("bob@example.com", "hash");
      const other = await s.createAccount("eve@example.com", "hash");
      const inbox = (await s.getMailbox(acct.id, "INBOX"))!.id;
      const box = (await s.createMailbox(acct.id, "Lookups", null)).id;
      const a = await s.append(acct.id, inbox, { raw: msg({ messageId: "<a@x>", subject: "a" }) });
      const b = await s.append(acct.id, inbox, {
        raw: msg({ messageId: "<b@x>", inReplyTo: "<a@x>", subject: "Re: a" }),
        flags: ["\\Deleted"],
      });
      await s.append(acct.id, inbox, { raw: msg({ messageId: "<c@x>", subject: "c" }) });
      await s.copy(inbox, [a.uid], box);
      const [ma, mb] = await s.getMessages(inbox, [a.uid, b.uid]);
      const byEmail = await s.messagesByEmailId(acct.id, [ma!.emailId, mb!.emailId, "Mnope", ma!.emailId]);
      assert.deepEqual(
        byEmail.map((r) => [r.mailboxId, r.uid, r.emailId]),
        [
          [inbox, a.uid, ma!.emailId],
          [inbox, b.uid, mb!.emailId],
          [box, 1, ma!.emailId],
        ],
      );
      assert.deepEqual(byEmail[1]!.flags, ["\\Deleted"]);
      assert.equal(byEmail[0]!.blobId, ma!.blobId);
      assert.equal(byEmail[0]!.internalDate.getTime(), ma!.internalDate.getTime());
      // the reply is in a's thread; c is not
      assert.equal(mb!.threadId, ma!.threadId);
      const byThread = await s.messagesByThreadId(acct.id, [ma!.threadId]);
      assert.deepEqual(
        byThread.map((r) => [r.mailboxId, r.uid]),
        [
          [inbox, a.uid],
          [inbox, b.uid],
          [box, 1],
        ],
      );
      // another account never sees them
      assert.deepEqual(await s.messagesByEmailId(other.id, [ma!.emailId]), []);
      assert.deepEqual(await s.messagesByThreadId(other.id, [ma!.threadId]), []);
      assert.deepEqual(await s.messagesByEmailId(acct.id, []), []);
      // an expunged copy is gone
      await s.expunge(box, [1]);
      assert.deepEqual(
        (await s.messagesByEmailId(acct.id, [ma!.emailId])).map((r) => r.mailboxId),
        [inbox],
      );
    } finally {
      await h.close();
    }
  });

  test(`${name}: emailIdsByDate pages a mailbox newest first, ties by emailId, without \\Deleted`, async () => {
    const h = await openFresh();
    try {
      const s = h.store;
      await s.addDomain("example.com");
      const acct = await s.createAccount("bob@example.com", "hash");
      const inbox = (await s.getMailbox(acct.id, "INBOX"))!.id;
      const at = (d: number) => new Date(Date.UTC(2026, 0, d));
      const days = [3, 1, 5, 3, 4, 2, 3];
      // threads: 0 ← 3 ← 6, 1 ← 4 (4 is \Deleted), 2, 5
      const parent: Record<number, number> = { 3: 0, 6: 3, 4: 1 };
      for (const [i, d] of days.entries())
        await s.append(acct.id, inbox, {
          raw: msg({
            body: `m${i}`,
            messageId: `<d${i}@x>`,
            ...(parent[i] !== undefined ? { inReplyTo: `<d${parent[i]}@x>` } : {}),
          }),
          internalDate: at(d),
          ...(i === 4 ? { flags: ["\\Deleted"] } : {}),
        });
      const metas = await s.getMessages(
        inbox,
        days.map((_, i) => i + 1),
      );
      const expect = metas
        .filter((m) => !m.flags.includes("\\Deleted"))
        .sort(
          (x, y) =>
            y.internalDate.getTime() - x.internalDate.getTime() ||
            (x.emailId < y.emailId ? -1 : x.emailId > y.emailId ? 1 : 0),
        )
        .map((m) => m.emailId);
      assert.equal(expect.length, 6);
      assert.deepEqual(await s.emailIdsByDate(inbox, 0, 50), expect);
      assert.deepEqual(await s.emailIdsByDate(inbox, 1, 3), expect.slice(1, 4));
      assert.deepEqual(await s.emailIdsByDate(inbox, 5, 10), expect.slice(5));
      assert.deepEqual(await s.emailIdsByDate(inbox, 6, 10), []);
      assert.deepEqual(await s.emailIdsByDate(inbox, 0, 0), []);
      // collapsed: each thread's first message in that order
      const seen = new Set<string>();
      const byId = new Map(metas.map((m) => [m.emailId, m]));
      const collapsed = expect.filter((id) => {
        const th = byId.get(id)!.threadId;
        if (seen.has(th)) return false;
        seen.add(th);
        return true;
      });
      assert.equal(collapsed.length, 4);
      assert.equal(await s.mailboxThreadCount(inbox), 4);
      assert.deepEqual(await s.emailIdsByDate(inbox, 0, 50, { collapseThreads: true }), collapsed);
      assert.deepEqual(await s.emailIdsByDate(inbox, 1, 2, { collapseThreads: true }), collapsed.slice(1, 3));
      // un-deleting brings a row back in its place
      await s.storeFlags(inbox, [5], "remove", ["\\Deleted"]);
      assert.equal((await s.emailIdsByDate(inbox, 0, 50)).length, 7);
      assert.equal(await s.mailboxThreadCount(inbox), 4);
      await assert.rejects(
        s.emailIdsByDate(inbox, -1, 5),
        (e: unknown) => e instanceof StoreError && e.code === "INVALID",
      );
      await assert.rejects(
        s.emailIdsByDate(999_999, 0, 5),
        (e: unknown) => e instanceof StoreError && e.code === "NONEXISTENT",
      );
    } finally {
      await h.close();
    }
  });

  test(`${name}: getMessageBlobs is getMessages' uid, blobId and modseq, for few uids and many`, async () => {
    const { h, store: s, accountId, inbox } = await setup(openFresh);
    try {
      // more than the adapters' point-lookup limit, so both read paths answer
      for (let i = 0; i < 80; i++) await s.append(accountId, inbox, { raw: msg({ body: `b${i % 7}` }) });
      await s.storeFlags(inbox, [5], "add", ["\\Flagged"]);
      await s.expunge(inbox, [7]);
      for (const uids of [[9, 5, 7, 5, 400], Array.from({ length: 90 }, (_, i) => 90 - i)]) {
        const metas = await s.getMessages(inbox, uids);
        const refs = await s.getMessageBlobs(inbox, uids);
        assert.deepEqual(
          refs,
          metas.map((m) => ({ uid: m.uid, blobId: m.blobId, modseq: m.modseq })),
        );
      }
      assert.deepEqual(
        (await s.getMessageBlobs(inbox, [9, 5, 7])).map((r) => r.uid),
        [5, 9],
      );
      assert.deepEqual(await s.getMessageBlobs(inbox, []), []);
      await assert.rejects(
        s.getMessageBlobs(999_999, [1]),
        (e) => e instanceof StoreError && e.code === "NONEXISTENT",
      );
    } finally {
      await h.close();
    }
  });
}
