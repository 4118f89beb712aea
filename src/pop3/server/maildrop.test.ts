import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture } from "../../store/testing/helpers.ts";
import type { MessageMeta, Store } from "../../store/types.ts";
import { pop3Size } from "../protocol/message.ts";
import { Maildrop } from "./maildrop.ts";

/** the store as POP3 sees it, counting content reads; `strip` hides lineEndingFixups (rows from before it existed) */
function counting(store: Store, strip: boolean): { store: Store; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "readMessage") {
        return (mailboxId: number, uid: number) => {
          reads++;
          return target.readMessage(mailboxId, uid);
        };
      }
      if (prop === "getMessages" && strip) {
        return async (mailboxId: number, uids: number[]) =>
          (await target.getMessages(mailboxId, uids)).map((m): MessageMeta => {
            const { lineEndingFixups: _drop, ...rest } = m;
            return rest;
          });
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { store: wrapped, reads: () => reads };
}

test("LIST/STAT sizes come from the store's size + lineEndingFixups without reading content; old rows fall back", async () => {
  const f = await fixture();
  try {
    const prefix = Buffer.from("Received: from mx\nDelivered-To: bob@example.com\n");
    const raws = [
      Buffer.from("Subject: bare lf\n\n.dot line\nend\n"),
      Buffer.from("Subject: crlf\r\n\r\nbody without final newline"),
      Buffer.from("Subject: mixed\r\n\nx\ry\n"),
    ];
    for (const [i, raw] of raws.entries()) {
      await f.store.append(f.accountId, f.inbox, { raw, deliveryHeaders: i === 2 ? undefined : prefix });
    }
    const account = (await f.store.getAccountById(f.accountId))!;
    const expected: number[] = [];
    for (let uid = 1; uid <= raws.length; uid++)
      expected.push(pop3Size(await f.store.readMessage(f.inbox, uid)));

    const fast = counting(f.store, false);
    const md = await Maildrop.open(fast.store, account);
    await md.ensureSizes(md.entries);
    assert.deepEqual(
      md.entries.map((e) => e.size),
      expected,
    );
    assert.equal(fast.reads(), 0, "no message read for LIST/STAT");

    // rows without lineEndingFixups: computed from content (a different process has an empty cache only
    // for blobs it has not seen; this process cached none of these sizes)
    await f.store.append(f.accountId, f.inbox, { raw: Buffer.from("Subject: fresh\n\nnew\n") });
    const fresh = pop3Size(await f.store.readMessage(f.inbox, 4));
    const old = counting(f.store, true);
    const md2 = await Maildrop.open(old.store, account);
    await md2.ensureSizes(md2.entries);
    assert.deepEqual(
      md2.entries.map((e) => e.size),
      [...expected, fresh],
    );
    assert.equal(old.reads(), 4, "fallback reads each message once");
  } finally {
    await f.close();
  }
});
