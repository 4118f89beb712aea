import assert from "node:assert/strict";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { openStore } from "./index.ts";
import { msg, tempDir } from "./testing/helpers.ts";

test("listMessageStates: modseqs beyond 2^53 come back exact in the BigUint64Array", async () => {
  const t = tempDir();
  let raw: Database.Database | null = null;
  const store = await openStore({
    dataDir: t.dir,
    feedSocketPath: null,
    sqliteHook: (db: Database.Database) => {
      raw = db;
    },
  } as never);
  try {
    await store.addDomain("example.com");
    const acct = await store.createAccount("bob@example.com", "hash");
    const inbox = (await store.getMailbox(acct.id, "INBOX"))!.id;
    await store.append(acct.id, inbox, { raw: msg({ body: "a" }) });
    await store.append(acct.id, inbox, { raw: msg({ body: "b" }), flags: ["\\Seen"] });
    const big = 2n ** 53n + 1n; // not representable as a double
    (raw as unknown as Database.Database)
      .prepare("UPDATE message SET modseq = ? WHERE mailbox_id = ? AND uid = 2")
      .run(big, inbox);
    const rows = await store.listMessageStates(inbox);
    assert.ok(rows.modseqs instanceof BigUint64Array);
    assert.deepEqual([...rows.uids], [1, 2]);
    assert.equal(rows.modseqs[1], big);
    assert.equal(rows.modseqs[0], (await store.listMessages(inbox))[0]!.modseq);
    assert.deepEqual(rows.flags, ["", "\\Seen"]);
  } finally {
    await store.close();
    t.cleanup();
  }
});
