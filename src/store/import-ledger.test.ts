import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture, msg } from "./testing/helpers.ts";
import { StoreError } from "./types.ts";

test("importMessages: ledger rows with the append; known keys skipped; all or nothing", async () => {
  const f = await fixture();
  try {
    const a = {
      key: "INBOX\na",
      raw: msg({ body: "a" }),
      flags: ["\\Seen"],
      internalDate: new Date(1_500_000_000_000),
    };
    const b = { key: "INBOX\nb", raw: msg({ body: "b" }) };
    const r1 = await f.store.importMessages(f.accountId, f.inbox, "src1", [a, b]);
    assert.deepEqual(
      r1.map((r) => r?.uid),
      [1, 2],
    );
    const [m] = await f.store.getMessages(f.inbox, [1]);
    assert.deepEqual(m?.flags, ["\\Seen"]);
    assert.equal(m?.internalDate.getTime(), 1_500_000_000_000);
    // again: nothing stored; the same key from another source is another message
    const r2 = await f.store.importMessages(f.accountId, f.inbox, "src1", [b, a]);
    assert.deepEqual(r2, [null, null]);
    const r3 = await f.store.importMessages(f.accountId, f.inbox, "src2", [a]);
    assert.equal(r3[0]?.uid, 3);
    // concurrent imports of the same items: each stored once
    const c = { key: "INBOX\nc", raw: msg({ body: "c" }) };
    const both = await Promise.all(
      [1, 2, 3].map(() => f.store.importMessages(f.accountId, f.inbox, "src1", [c])),
    );
    assert.equal(both.filter((r) => r[0] !== null).length, 1);
    assert.equal((await f.store.listMessages(f.inbox)).length, 4);
    // over quota: nothing of the batch stored, no ledger row, so a later run can store it
    await f.store.updateAccount("bob@example.com", { quotaMessages: 5 });
    const d = { key: "INBOX\nd", raw: msg({ body: "d" }) };
    const e = { key: "INBOX\ne", raw: msg({ body: "e" }) };
    await assert.rejects(
      f.store.importMessages(f.accountId, f.inbox, "src1", [d, e]),
      (err: unknown) => err instanceof StoreError && err.code === "OVERQUOTA",
    );
    assert.equal((await f.store.listMessages(f.inbox)).length, 4);
    await f.store.updateAccount("bob@example.com", { quotaMessages: 0 });
    const r4 = await f.store.importMessages(f.accountId, f.inbox, "src1", [d, e]);
    assert.deepEqual(
      r4.map((r) => r?.uid),
      [5, 6],
    );
  } finally {
    await f.close();
  }
});
