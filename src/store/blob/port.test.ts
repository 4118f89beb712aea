/**
 * The blob port's contract (port.ts), written against the interface only so that every adapter
 * runs it: here the filesystem adapter, with writer threads and without.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tempDir } from "../testing/helpers.ts";
import { FsBlobStore, sha256Hex } from "./fs.ts";
import { type BlobStore, isBlobNotFound } from "./port.ts";

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function contract(name: string, open: (dir: string) => BlobStore): void {
  describe(`blob port: ${name}`, () => {
    test("put is idempotent and content-addressed; get/has/size/delete", async () => {
      const t = tempDir();
      const b = open(join(t.dir, "blobs"));
      try {
        const data = Buffer.from("Subject: hi\r\n\r\nbody\r\n");
        const id = await b.put(data);
        assert.equal(id, sha256Hex(data));
        assert.equal(await b.put(data), id);
        assert.equal(await b.has(id), true);
        assert.equal(await b.size(id), data.byteLength);
        assert.deepEqual(Buffer.from(await b.get(id)), data);
        await b.delete(id);
        assert.equal(await b.has(id), false);
        assert.equal(await b.size(id), null);
        await b.delete(id); // missing: not an error
        await assert.rejects(b.get(id), (e) => isBlobNotFound(e));
        await assert.rejects(collect(b.stream(id)), (e) => isBlobNotFound(e));
      } finally {
        await b.close();
        t.cleanup();
      }
    });

    test("stream returns the whole blob or a byte range, in several chunks when large", async () => {
      const t = tempDir();
      const b = open(join(t.dir, "blobs"));
      try {
        const data = Buffer.alloc(3 * 1024 * 1024 + 17);
        for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
        const id = await b.put(data);
        let chunks = 0;
        const parts: Uint8Array[] = [];
        for await (const c of b.stream(id)) {
          chunks++;
          parts.push(c);
        }
        assert.ok(chunks > 1, `expected several chunks, got ${chunks}`);
        assert.ok(Buffer.concat(parts).equals(data));
        assert.ok((await collect(b.stream(id, { start: 5, end: 1000 }))).equals(data.subarray(5, 1000)));
        assert.ok((await collect(b.stream(id, { start: data.length - 3 }))).equals(data.subarray(-3)));
        assert.equal((await collect(b.stream(id, { start: 10, end: 10 }))).length, 0);
      } finally {
        await b.close();
        t.cleanup();
      }
    });
  });
}

contract("fs, writer threads", (dir) => new FsBlobStore(dir, { writerThreads: 1 }));
contract("fs, synchronous writes", (dir) => new FsBlobStore(dir, { writerThreads: 0 }));
