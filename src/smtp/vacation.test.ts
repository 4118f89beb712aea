/** The responder never fails a delivery: its errors are logged, and autoRepliesSettled still resolves. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Account, Store } from "../store/types.ts";
import { autoRepliesSettled, startAutoReplies } from "./vacation.ts";

test("a failing store read is logged, not thrown; each account is tried once", async () => {
  let reads = 0;
  const store = {
    getVacationResponse: async () => {
      reads++;
      throw new Error("store closed");
    },
  } as unknown as Store;
  const account = { id: 7, address: "me@example.com" } as Account;
  const logs: Array<Record<string, unknown>> = [];
  startAutoReplies(store, Buffer.from("To: me@example.com\r\n\r\nx\r\n"), [account, account], {
    mailFrom: "a@remote.example",
    intervalMs: 1000,
    log: (fields, msg) => logs.push({ ...fields, msg }),
  });
  await autoRepliesSettled();
  assert.equal(reads, 1);
  assert.deepEqual(logs, [
    {
      user: "me@example.com",
      to: "a@remote.example",
      err: "Error: store closed",
      msg: "vacation reply failed",
    },
  ]);
});
