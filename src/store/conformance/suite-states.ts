/**
 * Store conformance, message-state part (run by suite.ts's runStoreConformance for every adapter):
 * Store.listMessageStates may be answered from a per-process cache brought up to date from the
 * changes since (SQLite adapter: domain/state-cache.ts). Whatever the adapter does, after any mix
 * of appends, flag changes, expunges, copies, moves, REPLACE and history pruning — made by this
 * store instance or by another one over the same data (another worker process) — it must equal
 * a full read (listMessages) and carry the mailbox's HIGHESTMODSEQ; mailboxCounts (STATUS, kept
 * as counters by the SQLite adapter) must equal a count over every message. Public Store
 * interface only.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { msg } from "../testing/helpers.ts";
import type { Id, Store } from "../types.ts";
import type { ConformanceStore } from "./suite.ts";

/** listMessageStates of `reader` equals a full read of the mailbox */
async function assertStatesCurrent(reader: Store, mailboxId: Id, step: string): Promise<void> {
  const states = await reader.listMessageStates(mailboxId);
  const full = await reader.listMessages(mailboxId);
  const mb = (await reader.getMailboxById(mailboxId))!;
  assert.deepEqual(
    [...states.uids],
    full.map((r) => r.uid),
    `${step}: uids`,
  );
  assert.deepEqual(
    states.flags,
    full.map((r) => r.flags.join(" ")),
    `${step}: flags`,
  );
  assert.deepEqual(
    [...states.modseqs],
    full.map((r) => r.modseq),
    `${step}: modseqs`,
  );
  assert.equal(states.highestModseq, mb.highestModseq, `${step}: highest modseq`);
}

/** mailboxCounts (STATUS; kept as counters by the SQLite adapter) equals a count over every message */
async function assertCountsCurrent(reader: Store, mailboxId: Id, step: string): Promise<void> {
  const uids = (await reader.listMessages(mailboxId)).map((r) => r.uid);
  const metas = await reader.getMessages(mailboxId, uids);
  const has = (flags: string[], f: string) => flags.includes(f);
  const scan = {
    messages: metas.length,
    unseen: metas.filter((m) => !has(m.flags, "\\Seen")).length,
    size: metas.reduce((a, m) => a + m.size, 0),
    deleted: metas.filter((m) => has(m.flags, "\\Deleted")).length,
  };
  const c = await reader.mailboxCounts(mailboxId);
  assert.deepEqual(
    { messages: c.messages, unseen: c.unseen, size: c.size, deleted: c.deleted },
    scan,
    `${step}: counts`,
  );
}

export function runStatesConformance(name: string, openFresh: () => Promise<ConformanceStore>): void {
  test(`${name}: message states and counts equal a full read after mixed writes by this and another instance`, async () => {
    const h = await openFresh();
    const other = h.openSecond ? await h.openSecond() : h.store;
    try {
      const a = h.store;
      await a.addDomain("example.com");
      const acct = await a.createAccount("bob@example.com", "hash");
      const inbox = (await a.getMailbox(acct.id, "INBOX"))!.id;
      const box = await a.createMailbox(acct.id, "States", null);
      // both writers in turn; the reader (a) keeps whatever it cached between steps
      const steps: Array<[string, (w: Store) => Promise<unknown>]> = [
        ["append", (w) => w.append(acct.id, inbox, { raw: msg({ body: "one" }) })],
        [
          "appendMany",
          (w) =>
            w.appendMany(acct.id, inbox, [
              { raw: msg({ body: "two" }), flags: ["\\Seen"] },
              { raw: msg({ body: "three" }), flags: ["$Work"] },
              { raw: msg({ body: "four" }) },
              { raw: msg({ body: "five" }), flags: ["\\Deleted"] },
            ]),
        ],
        ["flags add", (w) => w.storeFlags(inbox, [1, 3], "add", ["\\Seen", "$Later"])],
        ["flags set", (w) => w.storeFlags(inbox, [2], "set", ["\\Flagged"])],
        ["flags remove", (w) => w.storeFlags(inbox, [1], "remove", ["\\Seen"])],
        ["flags remove deleted", (w) => w.storeFlags(inbox, [5], "remove", ["\\Deleted"])],
        ["flags add deleted", (w) => w.storeFlags(inbox, [4, 5], "add", ["\\Deleted"])],
        ["flags set nothing", (w) => w.storeFlags(inbox, [4], "set", [])],
        ["expunge", (w) => w.expunge(inbox, [5])],
        ["copy out", (w) => w.copy(inbox, [1, 2], box.id)],
        ["copy in", (w) => w.copy(box.id, [1], inbox)],
        ["move out", (w) => w.move(inbox, [3], box.id)],
        ["move in", (w) => w.move(box.id, [2], inbox)],
        ["replace", (w) => w.replace(acct.id, inbox, 4, inbox, { raw: msg({ body: "four v2" }) })],
        ["expunge several", (w) => w.expunge(inbox, [1, 6])],
        ["append after expunge", (w) => w.append(acct.id, inbox, { raw: msg({ body: "six" }) })],
      ];
      let i = 0;
      await assertStatesCurrent(a, inbox, "empty");
      for (const [step, write] of steps) {
        await write(i++ % 2 === 0 ? a : other);
        await assertStatesCurrent(a, inbox, step);
        await assertStatesCurrent(a, box.id, `${step} (States)`);
        await assertStatesCurrent(other, inbox, `${step} (other instance)`);
        await assertCountsCurrent(other, inbox, step);
        await assertCountsCurrent(a, box.id, `${step} (States)`);
      }
      // an expunge, then the expunge log pruned past the reader's cached state: still exact
      await other.expunge(inbox, [(await a.listMessages(inbox))[0]!.uid]);
      await a.pruneHistory(new Date(Date.now() + 60_000));
      await other.storeFlags(inbox, [(await a.listMessages(inbox))[0]!.uid], "add", ["\\Answered"]);
      await assertStatesCurrent(a, inbox, "after pruning");
      // a deleted mailbox is gone for every reader
      await other.deleteMailbox(acct.id, "States");
      await assert.rejects(
        a.listMessageStates(box.id),
        (e: Error & { code?: string }) => e.code === "NONEXISTENT",
      );
    } finally {
      if (other !== h.store) await other.close();
      await h.close();
    }
  });
}
