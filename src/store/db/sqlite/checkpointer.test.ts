import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../testing/helpers.ts";
import { WalCheckpointer } from "./checkpointer.ts";
import { openSqlite } from "./sqlite.ts";

test("the checkpointer copies the log into the database in the background, below the automatic threshold", async () => {
  const t = tempDir();
  const h = openSqlite(join(t.dir, "store.sqlite"));
  const ck = new WalCheckpointer(h);
  try {
    // the automatic checkpoint now waits for 10,000 pages; ~300 pages stay in the log
    assert.equal(Number(h.raw.pragma("wal_autocheckpoint", { simple: true })), 10_000);
    const before = statSync(h.path).size;
    await h.transaction(() => {
      h.raw.exec("CREATE TABLE ck_test (data BLOB)");
      const ins = h.raw.prepare("INSERT INTO ck_test (data) VALUES (?)");
      for (let i = 0; i < 300; i++) ins.run(Buffer.alloc(4000, i));
    });
    assert.equal(statSync(h.path).size, before, "committed to the log only");
    // bounded: the ticks come every 250 ms
    for (let i = 0; i < 100 && statSync(h.path).size === before; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(statSync(h.path).size > before + 300 * 4000, "copied into the database file");
  } finally {
    ck.stop();
    await h.close();
    t.cleanup();
  }
});
