/**
 * Beacon origins (origin.ts): a write made inside withOrigin carries the id in every beacon it
 * publishes (also when the transaction runs from the db's queue), one outside carries none, and
 * the hub relays the origin between processes and drops lines with an over-long one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fixture, msg, tempDir } from "../testing/helpers.ts";
import { Feed, startFeedHub } from "./hub.ts";
import { currentOrigin, MAX_ORIGIN, withOrigin } from "./origin.ts";
import type { Beacon } from "./port.ts";

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("beacon origin", () => {
  test("writes inside withOrigin carry it, concurrent writes keep their own, others carry none", async () => {
    const f = await fixture();
    try {
      const got: Beacon[] = [];
      f.store.feed.subscribe(f.accountId, (b) => got.push(b));
      assert.equal(currentOrigin(), undefined);
      // two sessions writing at the same time: each beacon names its own session
      await Promise.all([
        withOrigin("imap-1-1", () =>
          f.store.append(f.accountId, f.inbox, { raw: msg({ subject: "a" }), flags: [] }),
        ),
        withOrigin("imap-1-2", () => f.store.createMailbox(f.accountId, "Other")),
      ]);
      await f.store.append(f.accountId, f.inbox, { raw: msg({ subject: "b" }), flags: [] });
      const inbox = got.filter((b) => b.mailboxId === f.inbox);
      assert.deepEqual(
        inbox.map((b) => b.origin),
        ["imap-1-1", undefined],
      );
      const account = got.filter((b) => b.mailboxId === null);
      assert.ok(account.length >= 1 && account.every((b) => b.origin === "imap-1-2"));
    } finally {
      await f.close();
    }
  });

  test("subscribers run outside the committing session's origin (their own writes are not its)", async () => {
    const f = await fixture();
    try {
      const seen: Array<string | undefined> = [];
      f.store.feed.subscribe(f.accountId, () => {
        seen.push(currentOrigin());
      });
      await withOrigin("imap-1-3", () =>
        f.store.append(f.accountId, f.inbox, { raw: msg({ subject: "c" }), flags: [] }),
      );
      assert.ok(seen.length >= 1);
      assert.ok(
        seen.every((o) => o === undefined),
        String(seen),
      );
    } finally {
      await f.close();
    }
  });

  test("the hub relays the origin; a line with an over-long origin is dropped", async () => {
    const t = tempDir();
    const sock = join(t.dir, "feed.sock");
    const hub = await startFeedHub(sock);
    try {
      const a = new Feed(sock);
      const c = new Feed(sock);
      await Promise.all([a.ready(), c.ready()]);
      const got: Beacon[] = [];
      c.subscribe(1, (x) => got.push(x));
      a.publish({ accountId: 1, mailboxId: 2, modseq: "3", origin: "x".repeat(MAX_ORIGIN + 1) });
      a.publish({ accountId: 1, mailboxId: 2, modseq: "4", origin: "imap-9-9" });
      await until(() => got.length === 1);
      assert.deepEqual(got, [{ accountId: 1, mailboxId: 2, modseq: "4", origin: "imap-9-9" }]);
      await Promise.all([a.close(), c.close()]);
    } finally {
      await hub.close();
      t.cleanup();
    }
  });
});
