/**
 * Store conformance, mailbox part (run by suite.ts's runStoreConformance for every adapter):
 * mailbox writes recorded in the account change log — a new account's default folders, parents
 * created implicitly, renames with children, subscriptions, renaming INBOX (its messages move) —
 * and the claiming of new messages across callers. Public Store interface only.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { msg } from "../testing/helpers.ts";
import type { AccountChanges, ChangeKind, Id, Store } from "../types.ts";
import type { ConformanceStore } from "./suite.ts";

function sorted(a: readonly string[]): string[] {
  return [...a].sort();
}

async function changes(
  store: Store,
  accountId: Id,
  kind: ChangeKind,
  since: string,
): Promise<AccountChanges> {
  const r = await store.changesSinceState(accountId, kind, since);
  assert.notEqual(r, "cannotCalculateChanges");
  const c = r as AccountChanges;
  assert.equal(c.hasMoreChanges, false);
  return c;
}

export function runMailboxConformance(name: string, openFresh: () => Promise<ConformanceStore>): void {
  const withStore = (title: string, fn: (store: Store, accountId: Id) => Promise<void>) =>
    test(title, async () => {
      const h = await openFresh();
      try {
        await h.store.addDomain("example.com");
        const acct = await h.store.createAccount("bob@example.com", "hash");
        await fn(h.store, acct.id);
      } finally {
        await h.close();
      }
    });

  describe(`store conformance (${name}): mailboxes in the change log`, () => {
    withStore("a new account's default folders are recorded as created", async (store, accountId) => {
      const ids = (await store.listMailboxes(accountId)).map((m) => String(m.id));
      assert.equal(ids.length, 6);
      const c = await changes(store, accountId, "mailbox", "0");
      assert.deepEqual(sorted(c.created), sorted(ids));
      assert.deepEqual(c.updated, []);
      assert.deepEqual(c.destroyed, []);
      assert.equal(c.newState, await store.currentState(accountId));
    });

    withStore("parents, renames with children and subscriptions are recorded", async (store, accountId) => {
      const S0 = await store.currentState(accountId);
      const c3 = await store.createMailbox(accountId, "A/B/C");
      const a = (await store.getMailbox(accountId, "A"))!.id;
      const b = (await store.getMailbox(accountId, "A/B"))!.id;
      const created = await changes(store, accountId, "mailbox", S0);
      assert.deepEqual(sorted(created.created), sorted([a, b, c3.id].map(String)), "implicit parents too");
      assert.deepEqual(created.updated, []);

      const S1 = await store.currentState(accountId);
      await store.renameMailbox(accountId, "A", "Z");
      const drafts = (await store.getMailbox(accountId, "Drafts"))!.id;
      await store.setSubscribed(accountId, "Drafts", false);
      const renamed = await changes(store, accountId, "mailbox", S1);
      assert.deepEqual(renamed.created, []);
      assert.deepEqual(sorted(renamed.updated), sorted([a, b, c3.id, drafts].map(String)));
      assert.deepEqual(renamed.destroyed, []);
      assert.equal((await store.getMailboxById(b))!.name, "Z/B");
      assert.equal((await store.getMailboxById(drafts))!.subscribed, false);
    });

    withStore(
      "renaming INBOX moves its messages: the same Emails, a new mailbox",
      async (store, accountId) => {
        const inbox = (await store.getMailbox(accountId, "INBOX"))!;
        const r = await store.appendMany(accountId, inbox.id, [{ raw: msg() }, { raw: msg() }]);
        const before = await store.getMessages(
          inbox.id,
          r.map((x) => x.uid),
        );
        const used = (await store.getAccountById(accountId))!.usedBytes;
        const S = await store.currentState(accountId);
        await store.renameMailbox(accountId, "INBOX", "Old");
        const old = (await store.getMailbox(accountId, "Old"))!;
        const moved = await store.getMessages(old.id, [1, 2]);
        assert.deepEqual(
          moved.map((m) => m.emailId),
          before.map((m) => m.emailId),
        );
        assert.equal(old.uidNext, 3);
        assert.deepEqual((await store.listMessages(inbox.id)).length, 0);
        assert.deepEqual((await store.changesSince(inbox.id, before[1]!.modseq)).expunged, [1, 2]);
        assert.equal((await store.getAccountById(accountId))!.usedBytes, used, "usage unchanged");
        const mbx = await changes(store, accountId, "mailbox", S);
        assert.deepEqual(mbx.created, [String(old.id)]);
        assert.deepEqual(mbx.updated, [String(inbox.id)]);
        const em = await changes(store, accountId, "email", S);
        assert.deepEqual(em.created, []);
        assert.deepEqual(sorted(em.updated), sorted(before.map((m) => m.emailId)));
        assert.deepEqual(em.destroyed, []);
      },
    );

    withStore("each new message is claimed by one caller only", async (store, accountId) => {
      const inbox = (await store.getMailbox(accountId, "INBOX"))!.id;
      await store.appendMany(accountId, inbox, [{ raw: msg() }, { raw: msg() }, { raw: msg() }]);
      const prev = await Promise.all([1, 2, 3].map(() => store.claimNewMessages(inbox, 4)));
      assert.equal(prev.filter((p) => p === 1).length, 1, "one caller gets [1, 4)");
      assert.equal(await store.countUnclaimed(inbox), 0);
    });
  });
}
