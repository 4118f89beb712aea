/**
 * The feed port's contract for local subscribers (port.ts), written against the interface so
 * every adapter runs it: hub.test.ts (in-process + Unix-socket hub) and test/pg/feed.test.ts
 * (LISTEN/NOTIFY).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Beacon, ChangeFeed } from "./port.ts";

/** Resolves when pred() holds, polling on the event loop; rejects after ms. */
export async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const beacon = (accountId: number, mailboxId: number | null, modseq: number): Beacon => ({
  accountId,
  mailboxId,
  modseq: String(modseq),
});

/** open: a feed for one test; onListenerError must receive subscriber exceptions */
export function feedContract(
  name: string,
  open: (opts: { onListenerError?: (err: unknown) => void }) => ChangeFeed | Promise<ChangeFeed>,
): void {
  describe(`feed port: ${name}`, () => {
    test("subscribers get beacons of their account only, synchronously; unsubscribe works", async () => {
      const feed = await open({});
      const got1: Beacon[] = [];
      const got2: Beacon[] = [];
      const off1 = feed.subscribe(1, (x) => got1.push(x));
      feed.subscribe(2, (x) => got2.push(x));
      feed.publish(beacon(1, 10, 5));
      assert.deepEqual(got1, [beacon(1, 10, 5)], "delivered before publish returns");
      assert.deepEqual(got2, []);
      off1();
      feed.publish(beacon(1, 10, 6));
      assert.equal(got1.length, 1);
      await feed.close();
    });

    test("a throwing listener does not stop the others or the publisher", async () => {
      const errors: unknown[] = [];
      const feed = await open({ onListenerError: (e) => errors.push(e) });
      const got: Beacon[] = [];
      feed.subscribe(1, () => {
        throw new Error("listener bug");
      });
      feed.subscribe(1, (x) => got.push(x));
      feed.publish(beacon(1, null, 1));
      assert.equal(got.length, 1);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /listener bug/);
      await feed.close();
    });
  });
}
