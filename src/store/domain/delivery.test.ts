/**
 * Issue 10 item 2: one quota rule (domain/quota.ts) behind every path that adds messages, and one
 * delivery path (store.deliver) that is all or nothing across recipients.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fixture, msg } from "../testing/helpers.ts";
import { DeliveryRefused, StoreError } from "../types.ts";
import { quotaVerdict } from "./quota.ts";

describe("one quota rule", () => {
  test("quotaVerdict: never (larger than the quota), full (does not fit now), ok; 0 = no limit", () => {
    const q = { quotaBytes: 100, quotaMessages: 2, usedBytes: 60, usedMessages: 1 };
    assert.equal(quotaVerdict(q, 101), "never");
    assert.equal(quotaVerdict(q, 41), "full");
    assert.equal(quotaVerdict(q, 40), "ok");
    assert.equal(quotaVerdict({ ...q, usedMessages: 2 }, 1), "full");
    assert.equal(
      quotaVerdict({ quotaBytes: 0, quotaMessages: 0, usedBytes: 9e9, usedMessages: 9e9 }, 9e9),
      "ok",
    );
  });

  test("APPEND, COPY and delivery refuse exactly what quotaVerdict calls full", async () => {
    const f = await fixture();
    try {
      const raw = msg({ body: "x".repeat(200) });
      await f.store.append(f.accountId, f.inbox, { raw });
      const acct = (await f.store.getAccountById(f.accountId))!;
      // room for one more copy in bytes, none in messages
      await f.store.updateAccount("bob@example.com", {
        quotaBytes: acct.usedBytes + raw.byteLength,
        quotaMessages: 1,
      });
      const now = (await f.store.getAccountById(f.accountId))!;
      assert.equal(quotaVerdict(now, raw.byteLength), "full");
      await assert.rejects(
        f.store.append(f.accountId, f.inbox, { raw }),
        (e) => e instanceof StoreError && e.code === "OVERQUOTA",
      );
      await assert.rejects(
        f.store.copy(f.inbox, [1], f.inbox),
        (e) => e instanceof StoreError && e.code === "OVERQUOTA",
      );
      await assert.rejects(
        f.store.deliver(raw, [{ accountId: f.accountId }]),
        (e) => e instanceof DeliveryRefused && e.code === "OVERQUOTA" && !e.permanent && e.target === 0,
      );
      // the message limit lifted: exactly one more copy fits in bytes
      await f.store.updateAccount("bob@example.com", { quotaMessages: 0 });
      assert.equal(quotaVerdict((await f.store.getAccountById(f.accountId))!, raw.byteLength), "ok");
      await f.store.deliver(raw, [{ accountId: f.accountId }]);
      await assert.rejects(
        f.store.deliver(new Uint8Array(now.quotaBytes + 1).fill(65), [{ accountId: f.accountId }]),
        (e) => e instanceof DeliveryRefused && e.permanent,
      );
    } finally {
      await f.close();
    }
  });
});

describe("one delivery path", () => {
  test("deliver is all or nothing: a recipient that cannot take it leaves nothing stored anywhere", async () => {
    const f = await fixture();
    try {
      const alice = await f.store.createAccount("alice@example.com", "hash");
      await f.store.updateAccount("alice@example.com", { quotaMessages: 0, quotaBytes: 10 });
      const raw = msg({ body: "hello" });
      await assert.rejects(
        f.store.deliver(raw, [{ accountId: f.accountId }, { accountId: alice.id }]),
        (e) => e instanceof DeliveryRefused && e.target === 1,
      );
      assert.equal((await f.store.mailboxCounts(f.inbox)).messages, 0);
      // a named folder that does not exist falls back to INBOX; flags and prefix are kept
      const [r] = await f.store.deliver(raw, [
        {
          accountId: f.accountId,
          mailbox: "NoSuch",
          flags: ["\\Flagged"],
          deliveryHeaders: Buffer.from("X-T: 1\r\n"),
        },
      ]);
      assert.equal(r!.mailboxId, f.inbox);
      const [m] = await f.store.getMessages(f.inbox, [r!.uid]);
      assert.deepEqual(m!.flags, ["\\Flagged"]);
      const body = Buffer.from(await f.store.readMessage(f.inbox, r!.uid)).toString();
      assert.ok(body.startsWith("X-T: 1\r\n"));
    } finally {
      await f.close();
    }
  });

  test("an announced delivery ends its announcement once queued, and on refusal too", async () => {
    const f = await fixture();
    try {
      const raw = msg({ body: "announced" });
      let ends = 0;
      const track = () => {
        const end = f.store.expectDelivery();
        return () => {
          ends++;
          end();
        };
      };
      // a grouped write made while the announcement is out still completes (it waits at most a
      // moment), and the delivery joins or follows it
      const announced = track();
      const flags = f.store.storeFlags(f.inbox, [1], "add", ["\\Seen"]).catch(() => null);
      const [r] = await f.store.deliver(raw, [{ accountId: f.accountId }], { announced });
      await flags;
      assert.ok(ends >= 1, "ended by the delivery");
      assert.equal((await f.store.getMessages(f.inbox, [r!.uid])).length, 1);
      ends = 0;
      await assert.rejects(
        f.store.deliver(raw, [{ accountId: f.accountId }, { accountId: 999_999 }], { announced: track() }),
        (e) => e instanceof DeliveryRefused && e.target === 1,
      );
      assert.ok(ends >= 1, "ended by the refused delivery");
    } finally {
      await f.close();
    }
  });
});
