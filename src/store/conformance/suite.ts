/**
 * Store conformance suite: the invariants every Store adapter must keep, written only against
 * the public Store interface (src/store/types.ts) and its change feed, so that a second adapter
 * (PostgreSQL) runs this file unchanged: `runStoreConformance("postgres", openFresh)`.
 *
 * Covered: modseq (strictly increasing per account, one per transaction, every change raises
 * the mailbox HIGHESTMODSEQ), UID allocation (strictly increasing, never reused), UIDVALIDITY
 * (stable; new for a re-created name), quota in the same transaction, durability before
 * acknowledgement, GC never deleting a referenced blob, concurrent writers, and the account
 * change log (RFC 8620 §5.2 semantics, paging, pruning → cannotCalculateChanges; QRESYNC after
 * pruning of the expunge log); the undelete window (suite-undelete.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gcIdle, msg } from "../testing/helpers.ts";
import type { AccountChanges, ChangeKind, Id, Store } from "../types.ts";
import { type Ctx, setup } from "./setup.ts";
import { runAclConformance } from "./suite-acl.ts";
import { runLookupConformance } from "./suite-lookups.ts";
import { runMailboxConformance } from "./suite-mailboxes.ts";
import { runStatesConformance } from "./suite-states.ts";
import { runUndeleteConformance, type UndeleteOpen } from "./suite-undelete.ts";
import { runWebmailSessionConformance } from "./suite-webmail-sessions.ts";

export interface ConformanceStore {
  store: Store;
  /** closes this store and opens a new one over the same data (durability checks) */
  reopen(): Promise<Store>;
  /** a second store over the same data, as another worker process has (the caller closes it) */
  openSecond?(): Promise<Store>;
  /** closes the current store and removes its data */
  close(): Promise<void>;
}

async function hms(store: Store, mailboxId: Id): Promise<bigint> {
  return (await store.getMailboxById(mailboxId))!.highestModseq;
}

function sorted(a: readonly string[]): string[] {
  return [...a].sort();
}

/** Every emailId / threadId present in the account now. */
async function objectIds(
  store: Store,
  accountId: Id,
): Promise<{ emails: Set<string>; threads: Set<string> }> {
  const emails = new Set<string>();
  const threads = new Set<string>();
  for (const mb of await store.listMailboxes(accountId)) {
    const uids = (await store.listMessages(mb.id)).map((r) => r.uid);
    for (const m of await store.getMessages(mb.id, uids)) {
      emails.add(m.emailId);
      threads.add(m.threadId);
    }
  }
  return { emails, threads };
}

/** Follows /changes pages from `since` to the end; checks each page's size. */
async function allPages(
  store: Store,
  accountId: Id,
  kind: ChangeKind,
  since: string,
  max: number,
): Promise<AccountChanges[]> {
  const pages: AccountChanges[] = [];
  let state = since;
  for (let i = 0; i < 1000; i++) {
    const r = await store.changesSinceState(accountId, kind, state, max);
    assert.notEqual(r, "cannotCalculateChanges");
    const c = r as AccountChanges;
    assert.equal(c.oldState, state);
    assert.ok(c.created.length + c.updated.length + c.destroyed.length <= max, "at most maxChanges ids");
    pages.push(c);
    state = c.newState;
    if (!c.hasMoreChanges) return pages;
  }
  throw new Error("changes never ended");
}

/** A client's set of ids after applying pages in order (RFC 8620 §5.2 client behaviour). */
function applyPages(known: Set<string>, pages: AccountChanges[]): Set<string> {
  const out = new Set(known);
  for (const p of pages) {
    for (const id of p.created) out.add(id);
    for (const id of p.updated) out.add(id);
    for (const id of p.destroyed) out.delete(id);
  }
  return out;
}

export function runStoreConformance(
  name: string,
  openFresh: () => Promise<ConformanceStore>,
  /** a fresh store with the undelete window on (suite-undelete.ts) */
  openWithWindow?: UndeleteOpen,
): void {
  const withStore = (title: string, fn: (c: Ctx) => Promise<void>) =>
    test(title, async () => {
      const c = await setup(openFresh);
      try {
        await fn(c);
      } finally {
        await c.h.close();
      }
    });

  describe(`store conformance: ${name}`, () => {
    describe("modseq", () => {
      withStore(
        "strictly increasing per account; one per transaction; every change raises HIGHESTMODSEQ",
        async (c) => {
          const { store, accountId, inbox } = c;
          const other = (await store.createMailbox(accountId, "Other")).id;
          const seen: bigint[] = [];
          const h0 = await hms(store, inbox);
          // one transaction, several messages: one modseq
          const many = await store.appendMany(accountId, inbox, [
            { raw: msg() },
            { raw: msg() },
            { raw: msg() },
          ]);
          assert.equal(new Set(many.map((r) => r.modseq)).size, 1, "appendMany is one transaction");
          seen.push(many[0]!.modseq);
          const h1 = await hms(store, inbox);
          assert.ok(h1 > h0);
          assert.equal(h1, many[0]!.modseq);
          const uids = many.map((r) => r.uid);
          const fl = await store.storeFlags(inbox, uids, "add", ["\\Flagged"]);
          assert.equal(new Set(fl.updated.map((r) => r.modseq)).size, 1, "storeFlags is one transaction");
          seen.push(fl.updated[0]!.modseq);
          assert.equal(await hms(store, inbox), fl.updated[0]!.modseq);
          // a no-op flag change takes no modseq
          const same = await store.storeFlags(inbox, uids, "add", ["\\Flagged"]);
          assert.equal(same.updated.length, 0);
          assert.equal(await hms(store, inbox), fl.updated[0]!.modseq);
          const hOther0 = await hms(store, other);
          await store.copy(inbox, [uids[0]!], other);
          const hOther1 = await hms(store, other);
          assert.ok(hOther1 > hOther0, "COPY raises the destination");
          seen.push(hOther1);
          const hIn = await hms(store, inbox);
          await store.move(inbox, [uids[1]!], other);
          const hIn2 = await hms(store, inbox);
          const hOther2 = await hms(store, other);
          assert.ok(hIn2 > hIn && hOther2 > hOther1, "MOVE raises both mailboxes");
          assert.equal(hIn2, hOther2, "MOVE within an account is one transaction: one modseq");
          seen.push(hIn2);
          await store.expunge(inbox, [uids[2]!]);
          const hIn3 = await hms(store, inbox);
          assert.ok(hIn3 > hIn2, "EXPUNGE raises HIGHESTMODSEQ");
          seen.push(hIn3);
          const ch = await store.changesSince(inbox, hIn2);
          assert.deepEqual(ch.expunged, [uids[2]]);
          const a = await store.append(accountId, other, { raw: msg() });
          assert.ok(a.modseq > hIn3, "modseq is per account: any mailbox's change is later");
          seen.push(a.modseq);
          for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, "strictly increasing");
          // message modseqs never exceed the mailbox's HIGHESTMODSEQ
          for (const mb of [inbox, other]) {
            const top = await hms(store, mb);
            for (const r of await store.listMessages(mb)) assert.ok(r.modseq <= top);
          }
        },
      );
    });

    describe("UIDs and UIDVALIDITY", () => {
      withStore(
        "UIDs strictly increase and are never reused; a re-created name gets a new UIDVALIDITY",
        async (c) => {
          const { store, accountId } = c;
          const mb = await store.createMailbox(accountId, "Box");
          const a = await store.append(accountId, mb.id, { raw: msg() });
          const b = await store.append(accountId, mb.id, { raw: msg() });
          assert.ok(b.uid > a.uid);
          await store.expunge(mb.id, [b.uid]); // the highest uid
          const d = await store.append(accountId, mb.id, { raw: msg() });
          assert.ok(d.uid > b.uid, "the expunged highest uid is not reused");
          const moved = await store.copy(mb.id, [a.uid], c.inbox);
          const e = await store.append(accountId, mb.id, { raw: msg() });
          assert.ok(e.uid > d.uid);
          assert.equal(moved.mapping.length, 1);
          const stable = (await store.getMailboxById(mb.id))!;
          assert.equal(stable.uidValidity, mb.uidValidity, "UIDVALIDITY is stable");
          assert.equal(stable.uidNext, e.uid + 1);
          await store.deleteMailbox(accountId, "Box");
          const again = await store.createMailbox(accountId, "Box");
          assert.notEqual(again.id, mb.id);
          assert.ok(
            again.uidValidity > mb.uidValidity,
            "RFC 9051 §2.3.1.1: a re-created name has a new UIDVALIDITY",
          );
          // UIDVALIDITY survives reopening
          const s2 = await c.h.reopen();
          assert.equal((await s2.getMailboxById(again.id))!.uidValidity, again.uidValidity);
        },
      );
    });

    describe("quota", () => {
      withStore(
        "concurrent appends past the limit: the total never exceeds; failures leave no trace",
        async (c) => {
          const { store, accountId, inbox } = c;
          await store.updateAccount("bob@example.com", { quotaMessages: 5 });
          const settled = await Promise.allSettled(
            Array.from({ length: 12 }, (_, i) =>
              store.append(accountId, inbox, { raw: msg({ body: `q${i}` }) }),
            ),
          );
          const ok = settled.filter((r) => r.status === "fulfilled");
          assert.equal(ok.length, 5);
          for (const r of settled) {
            if (r.status === "rejected") assert.equal((r.reason as { code?: string }).code, "OVERQUOTA");
          }
          const counts = await store.mailboxCounts(inbox);
          assert.equal(counts.messages, 5);
          const acct = (await store.getAccountById(accountId))!;
          assert.equal(acct.usedMessages, 5);
          assert.equal(acct.usedBytes, counts.size);
          // failed appends took no uid
          assert.equal((await store.getMailboxById(inbox))!.uidNext, 6);
          // COPY is checked in the same transaction too
          await assert.rejects(store.copy(inbox, [1], inbox), { code: "OVERQUOTA" });
          assert.equal((await store.mailboxCounts(inbox)).messages, 5);
          // byte quota
          await store.updateAccount("bob@example.com", { quotaMessages: 0, quotaBytes: acct.usedBytes + 10 });
          await assert.rejects(store.append(accountId, inbox, { raw: msg({ body: "x".repeat(100) }) }), {
            code: "OVERQUOTA",
          });
          assert.equal((await store.getAccountById(accountId))!.usedBytes, acct.usedBytes);
        },
      );
    });

    describe("durability", () => {
      withStore("what a resolved promise reported is there after closing and reopening", async (c) => {
        const raw = msg({ subject: "durable" });
        const r = await c.store.append(c.accountId, c.inbox, { raw, flags: ["$Work"] });
        await c.store.storeFlags(c.inbox, [r.uid], "add", ["\\Seen"]);
        const mb = await c.store.createMailbox(c.accountId, "Kept");
        const state = await c.store.currentState(c.accountId);
        const s2 = await c.h.reopen();
        assert.deepEqual(Buffer.from(await s2.readMessage(c.inbox, r.uid)), raw);
        const [m] = await s2.getMessages(c.inbox, [r.uid]);
        assert.deepEqual(sorted(m!.flags), sorted(["$Work", "\\Seen"]));
        assert.equal((await s2.getMailbox(c.accountId, "Kept"))?.id, mb.id);
        assert.equal(await s2.currentState(c.accountId), state);
      });
    });

    describe("blob GC", () => {
      withStore("copy then expunge the original: the copy's content stays readable", async (c) => {
        const { store, accountId, inbox } = c;
        const other = (await store.createMailbox(accountId, "Copy")).id;
        const raw = msg({ subject: "shared" });
        const a = await store.append(accountId, inbox, { raw });
        const cp = await store.copy(inbox, [a.uid], other);
        await store.expunge(inbox, [a.uid]);
        await gcIdle(store);
        const dst = cp.mapping[0]![1];
        assert.deepEqual(Buffer.from(await store.readMessage(other, dst)), raw);
        await store.move(other, [dst], inbox);
        await gcIdle(store);
        const [m] = await store.listMessages(inbox);
        assert.deepEqual(Buffer.from(await store.readMessage(inbox, m!.uid)), raw);
      });

      withStore("replace (RFC 8508): one transaction; identical content stays readable", async (c) => {
        const { store, accountId, inbox } = c;
        const raw = msg({ subject: "draft" });
        const a = await store.append(accountId, inbox, { raw });
        const before = (await store.getAccountById(accountId))!;
        // the same octets again: the old row's blob release must not drop the new row's blob
        const r = await store.replace(accountId, inbox, a.uid, inbox, { raw });
        await gcIdle(store);
        assert.deepEqual(
          (await store.listMessages(inbox)).map((m) => m.uid),
          [r.uid],
        );
        assert.deepEqual(Buffer.from(await store.readMessage(inbox, r.uid)), raw);
        const ch = await store.changesSince(inbox, a.modseq);
        assert.deepEqual(ch.expunged, [a.uid]);
        assert.equal(r.modseq, (await store.getMailboxById(inbox))!.highestModseq, "one modseq");
        const after = (await store.getAccountById(accountId))!;
        assert.equal(after.usedBytes, before.usedBytes);
        assert.equal(after.usedMessages, before.usedMessages);
        await assert.rejects(store.replace(accountId, inbox, a.uid, inbox, { raw }), /no such message/);
        assert.equal((await store.listMessages(inbox)).length, 1, "nothing appended");
      });

      withStore("identical content in two accounts: expunging one keeps the other", async (c) => {
        const { store } = c;
        const alice = await store.createAccount("alice@example.com", "hash");
        const aliceInbox = (await store.getMailbox(alice.id, "INBOX"))!.id;
        const raw = msg({ subject: "to both" });
        const a = await store.append(c.accountId, c.inbox, { raw });
        const b = await store.append(alice.id, aliceInbox, { raw });
        const [ma] = await store.getMessages(c.inbox, [a.uid]);
        const [mb] = await store.getMessages(aliceInbox, [b.uid]);
        assert.equal(ma!.blobId, mb!.blobId, "content-addressed: one blob");
        await store.expunge(c.inbox, [a.uid]);
        await gcIdle(store);
        assert.deepEqual(Buffer.from(await store.readMessage(aliceInbox, b.uid)), raw);
        await store.deleteAccount("bob@example.com");
        await gcIdle(store);
        assert.deepEqual(Buffer.from(await store.readMessage(aliceInbox, b.uid)), raw);
      });
    });

    describe("concurrent writers", () => {
      withStore(
        "parallel appends and flag changes to one mailbox: distinct uids, no lost update",
        async (c) => {
          const { store, accountId, inbox } = c;
          const results = await Promise.all(
            Array.from({ length: 24 }, (_, i) =>
              store.append(accountId, inbox, { raw: msg({ body: `p${i}` }) }),
            ),
          );
          const uids = results.map((r) => r.uid).sort((x, y) => x - y);
          assert.deepEqual(
            uids,
            Array.from({ length: 24 }, (_, i) => i + 1),
          );
          // 16 writers each add their own keyword to the same message
          const target = uids[0]!;
          await Promise.all(
            Array.from({ length: 16 }, (_, i) => store.storeFlags(inbox, [target], "add", [`$k${i}`])),
          );
          const [m] = await store.getMessages(inbox, [target]);
          for (let i = 0; i < 16; i++) assert.ok(m!.flags.includes(`$k${i}`), `$k${i} kept`);
          // parallel changes across messages interleaved with appends and expunges
          await Promise.all([
            ...uids.slice(1, 9).map((u) => store.storeFlags(inbox, [u], "add", ["\\Seen"])),
            store.expunge(inbox, uids.slice(9, 12)),
            ...Array.from({ length: 4 }, () => store.append(accountId, inbox, { raw: msg() })),
          ]);
          const counts = await store.mailboxCounts(inbox);
          assert.equal(counts.messages, 24 - 3 + 4);
          assert.equal((await store.getAccountById(accountId))!.usedMessages, counts.messages);
          const rows = await store.listMessages(inbox);
          assert.equal(new Set(rows.map((r) => r.uid)).size, rows.length);
        },
      );
    });

    describe("account change log", () => {
      withStore(
        "changes since S list exactly the emails, mailboxes and threads changed (RFC 8620 §5.2)",
        async (c) => {
          const { store, accountId, inbox } = c;
          const old = (await store.createMailbox(accountId, "Old")).id;
          const gone = (await store.createMailbox(accountId, "Gone")).id;
          const ren = (await store.createMailbox(accountId, "Ren")).id;
          const first = await store.appendMany(accountId, inbox, [
            { raw: msg({ messageId: "<e1@x>" }) },
            { raw: msg() },
            { raw: msg() },
            { raw: msg() },
          ]);
          const [e1, e2, e3, e4] = await store.getMessages(
            inbox,
            first.map((r) => r.uid),
          );
          const before = await objectIds(store, accountId);
          const S = await store.currentState(accountId);
          const emptyAtS = await store.changesSinceState(accountId, "email", S);
          assert.deepEqual(emptyAtS, {
            oldState: S,
            newState: S,
            hasMoreChanges: false,
            created: [],
            updated: [],
            destroyed: [],
          });

          const e5 = await store.append(accountId, inbox, { raw: msg() });
          await store.storeFlags(inbox, [e1!.uid], "add", ["\\Seen"]);
          await store.move(inbox, [e2!.uid], old);
          await store.copy(inbox, [e3!.uid], old);
          await store.expunge(inbox, [e4!.uid]);
          const e6 = await store.append(accountId, inbox, { raw: msg() });
          const [m6] = await store.getMessages(inbox, [e6.uid]);
          await store.expunge(inbox, [e6.uid]);
          const reply = await store.append(accountId, old, { raw: msg({ inReplyTo: "<e1@x>" }) });
          const created = await store.createMailbox(accountId, "New");
          await store.renameMailbox(accountId, "Ren", "Ren2");
          await store.deleteMailbox(accountId, "Gone");
          await store.createMailbox(accountId, "Tmp");
          const tmp = (await store.getMailbox(accountId, "Tmp"))!.id;
          await store.deleteMailbox(accountId, "Tmp");

          const [m5] = await store.getMessages(inbox, [e5.uid]);
          const [mr] = await store.getMessages(old, [reply.uid]);
          assert.equal(mr!.threadId, e1!.threadId, "a reply joins its parent's thread");
          const now = await store.currentState(accountId);
          assert.notEqual(now, S);

          const emails = (await store.changesSinceState(accountId, "email", S)) as AccountChanges;
          assert.equal(emails.newState, now);
          assert.equal(emails.hasMoreChanges, false);
          assert.deepEqual(sorted(emails.created), sorted([m5!.emailId, mr!.emailId]));
          // COPY keeps the emailId: the copy is the same Email in one more mailbox (an update)
          assert.deepEqual(sorted(emails.updated), sorted([e1!.emailId, e2!.emailId, e3!.emailId]));
          assert.deepEqual(emails.destroyed, [e4!.emailId]);
          assert.ok(!emails.created.includes(m6!.emailId) && !emails.destroyed.includes(m6!.emailId));

          const boxes = (await store.changesSinceState(accountId, "mailbox", S)) as AccountChanges;
          assert.deepEqual(boxes.created, [String(created.id)]);
          // INBOX and Old: their counts changed; Ren: renamed
          assert.deepEqual(sorted(boxes.updated), sorted([String(inbox), String(old), String(ren)]));
          assert.deepEqual(boxes.destroyed, [String(gone)]);
          assert.ok(!boxes.created.includes(String(tmp)) && !boxes.destroyed.includes(String(tmp)));

          const threads = (await store.changesSinceState(accountId, "thread", S)) as AccountChanges;
          assert.deepEqual(threads.created, [m5!.threadId]);
          assert.deepEqual(threads.updated, [e1!.threadId]);
          assert.deepEqual(threads.destroyed, [e4!.threadId]);

          // the client's picture after the changes equals the account's state now, page by page too
          const after = await objectIds(store, accountId);
          for (const max of [1, 2, 3, 1000]) {
            const pages = await allPages(store, accountId, "email", S, max);
            assert.deepEqual(
              sorted([...applyPages(before.emails, pages)]),
              sorted([...after.emails]),
              `max ${max}`,
            );
            assert.equal(pages[pages.length - 1]!.newState, now);
            const tp = await allPages(store, accountId, "thread", S, max);
            assert.deepEqual(sorted([...applyPages(before.threads, tp)]), sorted([...after.threads]));
          }
          // nothing since now
          const none = (await store.changesSinceState(accountId, "mailbox", now)) as AccountChanges;
          assert.equal(none.created.length + none.updated.length + none.destroyed.length, 0);
          assert.equal(none.newState, now);
        },
      );

      withStore("one large transaction is paged through intermediate states", async (c) => {
        const { store, accountId, inbox } = c;
        const rs = await store.appendMany(
          accountId,
          inbox,
          Array.from({ length: 10 }, () => ({ raw: msg() })),
        );
        const before = await objectIds(store, accountId);
        const S = await store.currentState(accountId);
        await store.expunge(
          inbox,
          rs.slice(0, 7).map((r) => r.uid),
        );
        const pages = await allPages(store, accountId, "email", S, 3);
        assert.ok(pages.length >= 3, "seven destroyed emails in pages of at most three");
        const destroyed = pages.flatMap((p) => p.destroyed);
        assert.equal(new Set(destroyed).size, 7);
        const after = await objectIds(store, accountId);
        assert.deepEqual(sorted([...applyPages(before.emails, pages)]), sorted([...after.emails]));
        // an intermediate state is a valid state to continue from, twice
        const again = await store.changesSinceState(accountId, "email", pages[0]!.newState, 3);
        assert.deepEqual(again, pages[1]);
      });

      withStore(
        "states before the kept history, from the future or malformed: cannotCalculateChanges",
        async (c) => {
          const { store, accountId, inbox } = c;
          const S = await store.currentState(accountId);
          const a = await store.append(accountId, inbox, { raw: msg() });
          assert.equal(
            await store.changesSinceState(accountId, "email", "not a state"),
            "cannotCalculateChanges",
          );
          assert.equal(await store.changesSinceState(accountId, "email", `${S}x`), "cannotCalculateChanges");
          const mid = await store.currentState(accountId);
          await store.storeFlags(inbox, [a.uid], "add", ["\\Seen"]);
          const now = await store.currentState(accountId);
          // everything recorded so far is older than this
          await new Promise((r) => setTimeout(r, 5));
          await store.pruneHistory(new Date());
          assert.equal(await store.changesSinceState(accountId, "email", S), "cannotCalculateChanges");
          assert.equal(await store.changesSinceState(accountId, "mailbox", mid), "cannotCalculateChanges");
          // the current state is still answerable, and later changes are recorded
          const still = (await store.changesSinceState(accountId, "email", now)) as AccountChanges;
          assert.equal(still.created.length + still.updated.length + still.destroyed.length, 0);
          const b = await store.append(accountId, inbox, { raw: msg() });
          const [mb] = await store.getMessages(inbox, [b.uid]);
          const later = (await store.changesSinceState(accountId, "email", now)) as AccountChanges;
          assert.deepEqual(later.created, [mb!.emailId]);
          // a state from the future is not one this account ever had
          const future = (await store.changesSinceState(
            accountId,
            "email",
            later.newState,
          )) as AccountChanges;
          assert.equal(future.newState, later.newState);
          const bumped = `${later.newState}9`;
          assert.equal(await store.changesSinceState(accountId, "email", bumped), "cannotCalculateChanges");
        },
      );

      withStore(
        "QRESYNC after the expunge log was pruned: every uid that may have vanished is reported",
        async (c) => {
          const { store, accountId, inbox } = c;
          const rs = await store.appendMany(
            accountId,
            inbox,
            Array.from({ length: 6 }, () => ({ raw: msg() })),
          );
          const m0 = await hms(store, inbox);
          await store.expunge(inbox, [rs[1]!.uid, rs[3]!.uid]);
          const m1 = await hms(store, inbox);
          assert.deepEqual((await store.changesSince(inbox, m0)).expunged, [rs[1]!.uid, rs[3]!.uid]);
          await new Promise((r) => setTimeout(r, 5));
          await store.pruneHistory(new Date());
          const afterPrune = await store.changesSince(inbox, m0);
          const present = new Set((await store.listMessages(inbox)).map((r) => r.uid));
          // complete: the truly expunged uids are reported; sound: no present uid is
          for (const u of [rs[1]!.uid, rs[3]!.uid]) assert.ok(afterPrune.expunged.includes(u));
          for (const u of afterPrune.expunged) assert.ok(!present.has(u));
          // from a modseq at or after the pruned range the answer is exact again
          assert.deepEqual((await store.changesSince(inbox, m1)).expunged, []);
          await store.expunge(inbox, [rs[5]!.uid]);
          assert.deepEqual((await store.changesSince(inbox, m1)).expunged, [rs[5]!.uid]);
        },
      );

      withStore(
        "thread references without a message are pruned: a late reply starts a new thread",
        async (c) => {
          const { store, accountId, inbox } = c;
          const a = await store.append(accountId, inbox, { raw: msg({ messageId: "<root@x>" }) });
          const [ma] = await store.getMessages(inbox, [a.uid]);
          const keep = await store.append(accountId, inbox, { raw: msg({ messageId: "<keep@x>" }) });
          const [mk] = await store.getMessages(inbox, [keep.uid]);
          await store.expunge(inbox, [a.uid]);
          await store.pruneHistory(new Date(0)); // nothing is that old: only thread references go
          const r = await store.append(accountId, inbox, { raw: msg({ inReplyTo: "<root@x>" }) });
          const [mr] = await store.getMessages(inbox, [r.uid]);
          assert.notEqual(mr!.threadId, ma!.threadId);
          // a thread that still has a message keeps its references
          const r2 = await store.append(accountId, inbox, { raw: msg({ inReplyTo: "<keep@x>" }) });
          const [mr2] = await store.getMessages(inbox, [r2.uid]);
          assert.equal(mr2!.threadId, mk!.threadId);
        },
      );
    });
  });
  runMailboxConformance(name, openFresh);
  runAclConformance(name, openFresh);
  runStatesConformance(name, openFresh);
  runLookupConformance(name, openFresh);
  runWebmailSessionConformance(name, openFresh);
  if (openWithWindow) runUndeleteConformance(name, openWithWindow);
}
