/**
 * The undelete window against a running `serve` (default [store] undelete_window = 7d): messages
 * expunged over IMAP come back with `postkontor undelete` into their folder (new UIDs, same octets,
 * flags and internal dates), or into Restored/<date>/<folder> when the folder is gone; a second
 * run brings nothing; expunged messages do not count against the quota; with the window at 0 the
 * sweeper purges them (and their blobs).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { sha256 } from "../../src/backup/manifest.ts";
import { openStore } from "../../src/store/index.ts";
import type { SqlStore } from "../../src/store/store.ts";
import { accountState, connect, summary } from "../cli/import-helpers.ts";
import { deliver, type E2E, message, PASS_A, startE2E, USER_A } from "../e2e/helpers.ts";
import { contentStored } from "../kit/store.ts";

describe("undelete", () => {
  let e: E2E;
  before(async () => {
    e = await startE2E({ workers: 1 });
  });
  after(async () => {
    await e?.close();
  });

  it("expunged messages come back into their folder, or Restored/… when it is gone", async () => {
    await deliver(e, USER_A, message("keep me"));
    await deliver(e, USER_A, message("oops one"));
    await deliver(e, USER_A, message("oops two", "second body\r\n"));
    const c = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    let before: Awaited<ReturnType<typeof accountState>>;
    const uidsBefore: number[] = [];
    try {
      await c.mailboxCreate("Old");
      await c.append("Old", message("in old"), ["\\Seen", "$Work"], new Date("2021-05-06T07:08:09Z"));
      await c.mailboxOpen("INBOX");
      await c.messageFlagsAdd("2", ["\\Flagged", "Custom"]);
      before = await accountState(c);
      const lock = await c.getMailboxLock("INBOX");
      try {
        for await (const m of c.fetch("1:*", { uid: true })) uidsBefore.push(m.uid);
        await c.messageDelete("2:3");
      } finally {
        lock.release();
      }
      await c.mailboxDelete("Old");
    } finally {
      await c.logout();
    }
    const r = await e.cli(["undelete", USER_A]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^undeleted: 2 into INBOX$/m);
    const r2 = await e.cli(["undelete", USER_A]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout.toString(), /^undeleted: 0/m);
    const c2 = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    try {
      const now = await accountState(c2);
      assert.deepEqual(
        summary(new Map([["INBOX", now.get("INBOX")!]])),
        summary(new Map([["INBOX", before.get("INBOX")!]])),
      );
      const lock = await c2.getMailboxLock("INBOX", { readOnly: true });
      try {
        const uids: number[] = [];
        for await (const m of c2.fetch("1:*", { uid: true })) uids.push(m.uid);
        assert.equal(uids[0], uidsBefore[0]);
        assert.ok(uids[1]! > uidsBefore[2]!, "new UIDs, never reused");
      } finally {
        lock.release();
      }
    } finally {
      await c2.logout();
    }
    // "Old" was deleted as a folder, its message was not expunged: nothing kept for it
    const r3 = await e.cli(["undelete", USER_A, "--mailbox", "Old"]);
    assert.notEqual(r3.code, 0);
  });

  it("into Restored/<date>/<folder> when the folder is gone; purged with the window at 0", async () => {
    let sha = "";
    const dir = fs.mkdtempSync(path.join(path.dirname(e.server.dir), "pk-undel-"));
    const store = (await openStore({
      dataDir: dir,
      feedSocketPath: null,
      undeleteWindowMs: 86_400_000,
    })) as SqlStore;
    try {
      await store.addDomain("example.com");
      const acc = (await store.createAccount("u@example.com", "{PLAIN}pw")).id;
      const box = await store.createMailbox(acc, "Projects");
      const raw = Buffer.from(message("project mail"));
      const a = await store.append(acc, box.id, {
        raw,
        flags: ["\\Seen", "$X"],
        internalDate: new Date("2020-01-02T03:04:05Z"),
      });
      await store.expunge(box.id, [a.uid]);
      await store.deleteMailbox(acc, "Projects");
      await store.collectGarbage();
      const usage = (await store.getAccount("u@example.com"))!;
      assert.deepEqual(
        [usage.usedBytes, usage.usedMessages],
        [0, 0],
        "expunged messages are outside the quota",
      );
      sha = sha256(raw);
      assert.ok(contentStored(dir, sha), "the blob stays inside the window");
      const r = await store.undelete(acc);
      const day = new Date().toISOString().slice(0, 10);
      assert.deepEqual(r, { restored: 1, folders: [`Restored/${day}/Projects`] });
      const mb = (await store.getMailbox(acc, `Restored/${day}/Projects`))!;
      const msgs = await store.listMessages(mb.id);
      assert.equal(msgs.length, 1);
      assert.deepEqual([...msgs[0]!.flags].sort(), ["$X", "\\Seen"]);
      // expunge again, then a store with the window at 0 purges it and the sweeper its blob
      await store.expunge(mb.id, [msgs[0]!.uid]);
    } finally {
      await store.close();
    }
    const s0 = (await openStore({ dataDir: dir, feedSocketPath: null, undeleteWindowMs: 0 })) as SqlStore;
    try {
      await s0.collectGarbage();
      assert.ok(!contentStored(dir, sha), "purged, and its blob swept");
      const acc = (await s0.getAccount("u@example.com"))!;
      assert.deepEqual(await s0.undelete(acc.id), { restored: 0, folders: [] });
    } finally {
      await s0.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
