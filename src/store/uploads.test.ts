/**
 * JMAP uploads in the store: kept across store instances (another worker process opens its own),
 * the same content again only extends the expiry, pending bytes counted, the orphan scan keeps a
 * pending upload's file, and expiry removes row and file.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openStore } from "./index.ts";
import type { SqlStore } from "./store.ts";
import { fixture } from "./testing/helpers.ts";

async function bytes(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(e.name);
    }
  };
  walk(join(dir, "blobs"));
  return out;
}

test("uploads are shared by store instances, deduplicated, counted and expired", async () => {
  const f = await fixture({ smallBlobMaxBytes: 0 });
  const other = await openStore({ smallBlobMaxBytes: 0, dataDir: f.dir, feedSocketPath: null });
  try {
    const data = Buffer.from("an attachment\r\n");
    const a = await f.store.putUpload(f.accountId, data, "text/plain", 3_600_000);
    assert.match(a.blobId, /^U[0-9a-f]{64}$/);
    const seen = await other.getUpload(f.accountId, a.blobId);
    assert.ok(seen);
    assert.equal(seen.type, "text/plain");
    assert.deepEqual(await bytes(seen.stream()), data);
    // another account does not see it
    assert.equal(await other.getUpload(f.accountId + 1, a.blobId), null);

    const before = files(f.dir).length;
    const again = await other.putUpload(f.accountId, data, "text/plain", 7_200_000);
    assert.equal(again.blobId, a.blobId);
    assert.ok(again.expiresAt.getTime() >= a.expiresAt.getTime());
    assert.equal(files(f.dir).length, before, "the second copy's file is not kept");
    assert.equal(await f.store.pendingUploadBytes(f.accountId), data.length);

    // the orphan scan keeps the file a row names
    await (f.store as SqlStore).collectGarbage({ orphanMinAgeMs: 0 });
    assert.deepEqual(await bytes((await f.store.getUpload(f.accountId, a.blobId))!.stream()), data);

    // expiry: refused at once when past, removed (row and file) by the job
    assert.equal(await f.store.expireUploads(new Date()), 0);
    assert.equal(await f.store.expireUploads(new Date(Date.now() + 3 * 3_600_000)), 1);
    assert.equal(await f.store.getUpload(f.accountId, a.blobId), null);
    assert.equal(await f.store.pendingUploadBytes(f.accountId), 0);
    assert.equal(files(f.dir).length, before - 1);
  } finally {
    await other.close();
    await f.close();
  }
});
