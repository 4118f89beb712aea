/** The keys port's contract (port.ts) on the SQLite adapter, through store.keys. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { openStore } from "../index.ts";
import { fixture } from "../testing/helpers.ts";

test("keys port: put/get/list/delete by (kind, name); no silent overwrite; shared by every opener", async () => {
  const f = await fixture();
  try {
    const k = f.store.keys;
    assert.equal(await k.get("dkim", "example.org/a"), null);
    assert.equal(await k.put("dkim", "example.org/a", "-----BEGIN PRIVATE KEY-----\nA\n"), true);
    assert.equal(await k.put("dkim", "example.org/a", "other"), false, "exists: not overwritten");
    assert.equal(
      Buffer.from((await k.get("dkim", "example.org/a"))!.secret).toString(),
      "-----BEGIN PRIVATE KEY-----\nA\n",
    );
    assert.equal(await k.put("dkim", "example.org/a", new Uint8Array([1, 2, 3]), { replace: true }), true);
    assert.deepEqual([...(await k.get("dkim", "example.org/a"))!.secret], [1, 2, 3]);
    await k.put("dkim", "example.org/b", "b");
    await k.put("dkim", "example.org.evil/c", "c");
    await k.put("other", "example.org/d", "d");
    // a prefix is literal (no wildcards): "_" and "%" match only themselves
    await k.put("dkim", "ex_mple/e", "e");
    assert.deepEqual(
      (await k.list("dkim", "example.org/")).map((x) => x.name),
      ["example.org/a", "example.org/b"],
    );
    assert.deepEqual(
      (await k.list("dkim", "ex_")).map((x) => x.name),
      ["ex_mple/e"],
    );
    assert.equal((await k.list("dkim")).length, 4);
    assert.ok((await k.get("dkim", "example.org/b"))!.createdAt instanceof Date);
    // another opener of the same store (another worker, the CLI) sees the same keys
    const other = await openStore({ dataDir: f.dir, feedSocketPath: null, blobWriterThreads: 0 });
    try {
      assert.equal(Buffer.from((await other.keys.get("dkim", "example.org/b"))!.secret).toString(), "b");
      assert.equal(await other.keys.delete("dkim", "example.org/b"), true);
    } finally {
      await other.close();
    }
    assert.equal(await k.get("dkim", "example.org/b"), null);
    assert.equal(await k.delete("dkim", "example.org/b"), false);
    await assert.rejects(k.put("dkim", "", "x"), /invalid key name/);
    await assert.rejects(k.put("dkim", "n", ""), /invalid key secret/);
    await assert.rejects(k.put("dkim", "n", Buffer.alloc(70_000)), /invalid key secret/);
  } finally {
    await f.close();
  }
});
