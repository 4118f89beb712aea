import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStore } from "../store/index.ts";
import type { Store } from "../store/types.ts";
import { DeliveryError, deliverAll, deliverLocal, quotaVerdict } from "./deliver.ts";

const RAW = Buffer.from("Subject: t\r\n\r\nbody\r\n");

describe("local delivery and the SMTP store additions", () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pk-deliver-"));
    store = await openStore({ dataDir: dir, feedSocketPath: null });
    await store.addDomain("example.com");
    await store.createAccount("a@example.com", "{PLAIN}x");
    await store.createAccount("b@example.com", "{PLAIN}x");
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("quotaVerdict", async () => {
    const a = (await store.getAccount("a@example.com"))!;
    assert.equal(quotaVerdict({ ...a, quotaBytes: 0 }, 1e9), "ok");
    assert.equal(quotaVerdict({ ...a, quotaBytes: 100, usedBytes: 0 }, 101), "never");
    assert.equal(quotaVerdict({ ...a, quotaBytes: 100, usedBytes: 50 }, 60), "full");
    assert.equal(quotaVerdict({ ...a, quotaMessages: 2, usedMessages: 2 }, 1), "full");
    assert.equal(quotaVerdict({ ...a, quotaMessages: 2, usedMessages: 1 }, 1), "ok");
  });

  test("deliverLocal: delivery headers beside the blob, unknown mailbox falls back to INBOX", async () => {
    const a = (await store.getAccount("a@example.com"))!;
    const r = await deliverLocal(store, RAW, {
      account: a,
      mailbox: "Nope",
      deliveryHeaders: Buffer.from("Delivered-To: a@example.com\r\n"),
    });
    const inbox = (await store.getMailbox(a.id, "INBOX"))!;
    assert.equal(r.mailboxId, inbox.id);
    assert.equal(
      Buffer.from(await store.readMessage(inbox.id, r.uid)).toString(),
      `Delivered-To: a@example.com\r\n${RAW}`,
    );
  });

  test("deliverAll is all-or-nothing on quota", async () => {
    await store.updateAccount("b@example.com", { quotaMessages: 1 });
    const a = (await store.getAccount("a@example.com"))!;
    const b = (await store.getAccount("b@example.com"))!;
    await deliverAll(store, RAW, [{ account: b }]);
    const aBefore = (await store.getAccountById(a.id))!.usedMessages;
    await assert.rejects(
      deliverAll(store, RAW, [{ account: a }, { account: b }]),
      (e: unknown) => e instanceof DeliveryError && e.code === "OVERQUOTA" && e.address === "b@example.com",
    );
    assert.equal((await store.getAccountById(a.id))!.usedMessages, aBefore);
    await store.updateAccount("b@example.com", { quotaMessages: 0 });
  });

  test("aliases: resolve, catch-all, addressesOf, validation, delete", async () => {
    await store.addAlias("Team@Example.com", "a@example.com");
    await store.addAlias("team@example.com", "b@example.com");
    await assert.rejects(store.addAlias("x@unhosted.example", "a@example.com"), { code: "NONEXISTENT" });
    await assert.rejects(store.addAlias("x@example.com", "nobody@example.com"), { code: "NONEXISTENT" });
    await assert.rejects(store.addAlias("a@example.com", "b@example.com"), { code: "ALREADYEXISTS" });
    assert.deepEqual(
      (await store.resolveRecipient("TEAM@example.com")).map((x) => x.address),
      ["a@example.com", "b@example.com"],
    );
    assert.deepEqual(await store.resolveRecipient("other@example.com"), []);
    await store.addAlias("@example.com", "b@example.com");
    assert.deepEqual(
      (await store.resolveRecipient("other@example.com")).map((x) => x.address),
      ["b@example.com"],
    );
    // an account or explicit alias wins over the catch-all
    assert.deepEqual(
      (await store.resolveRecipient("a@example.com")).map((x) => x.address),
      ["a@example.com"],
    );
    const a = (await store.getAccount("a@example.com"))!;
    assert.deepEqual(await store.addressesOf(a.id), ["a@example.com", "team@example.com"]);
    assert.deepEqual(
      (await store.listAliases("example.com")).map((x) => `${x.source}>${x.target}`),
      ["@example.com>b@example.com", "team@example.com>a@example.com", "team@example.com>b@example.com"],
    );
    assert.equal(await store.deleteAlias("team@example.com"), 2);
    await assert.rejects(store.deleteAlias("team@example.com"), { code: "NONEXISTENT" });
    assert.equal(await store.deleteAlias("@example.com", "b@example.com"), 1);
    assert.deepEqual(await store.listAliases(), []);
  });

  test("outbound queue keeps the message and the DSN parameters", async () => {
    const a = (await store.getAccount("a@example.com"))!;
    const e = await store.enqueueOutbound({
      accountId: a.id,
      mailFrom: "a@example.com",
      recipients: [{ address: "x@remote.example", notify: ["FAILURE"], orcpt: "rfc822;x@remote.example" }],
      envid: "E1",
      ret: "HDRS",
      message: RAW,
    });
    assert.equal(e.status, "queued");
    assert.equal(e.size, RAW.length);
    const list = await store.listQueue();
    assert.deepEqual(list.at(-1)!.recipients, [
      { address: "x@remote.example", notify: ["FAILURE"], orcpt: "rfc822;x@remote.example" },
    ]);
    assert.equal(list.at(-1)!.envid, "E1");
    assert.deepEqual(Buffer.from((await store.getQueuedMessage(e.id))!), RAW);
    assert.equal(await store.getQueuedMessage(999999), null);
  });

  test("recordSending: atomic sliding-hour counters per account", async () => {
    const a = (await store.getAccount("a@example.com"))!;
    const b = (await store.getAccount("b@example.com"))!;
    const lim = { messagesPerHour: 2, recipientsPerHour: 5 };
    assert.equal(await store.recordSending(a.id, 3, lim), true);
    assert.equal(await store.recordSending(a.id, 3, lim), false); // 6 recipients > 5, not recorded
    assert.equal(await store.recordSending(a.id, 2, lim), true);
    assert.equal(await store.recordSending(a.id, 0, lim), false); // 3 messages > 2
    assert.equal(await store.recordSending(b.id, 5, lim), true);
    assert.equal(await store.recordSending(a.id, 100, { messagesPerHour: 0, recipientsPerHour: 0 }), true);
  });
});
