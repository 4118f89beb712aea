/**
 * The blob port's contract (port.ts), written against the interface only so that every adapter
 * runs it: port.test.ts (filesystem) and test/pg/blob.test.ts (PostgreSQL).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tempDir } from "../testing/helpers.ts";
import { sha256Hex } from "./fs.ts";
import { type BlobStore, isBlobNotFound } from "./port.ts";

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** open: a store for one test (dir: an empty directory it may use) */
export function blobContract(name: string, open: (dir: string) => BlobStore | Promise<BlobStore>): void {
  describe(`blob port: ${name}`, () => {
    test("put is idempotent and content-addressed; get/has/size/delete", async () => {
      const t = tempDir();
      const b = await open(join(t.dir, "blobs"));
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
      const b = await open(join(t.dir, "blobs"));
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
        // ranges across chunk boundaries, read chunk by chunk (no chunk near the whole size)
        const q = 256 * 1024;
        for (const [s, e] of [
          [q - 10, 2 * q + 10],
          [q, 2 * q],
          [q + 1, 3 * q - 1],
          [2 * q + 5, data.length],
        ] as const) {
          let biggest = 0;
          const got: Uint8Array[] = [];
          for await (const c of b.stream(id, { start: s, end: e })) {
            biggest = Math.max(biggest, c.byteLength);
            got.push(c);
          }
          assert.ok(Buffer.concat(got).equals(data.subarray(s, e)), `range ${s}-${e}`);
          assert.ok(biggest <= 1024 * 1024, `chunk of ${biggest} octets`);
        }
        // an end past the size stops at the end
        assert.ok(
          (await collect(b.stream(id, { start: data.length - 2, end: data.length + 100 }))).equals(
            data.subarray(-2),
          ),
        );
      } finally {
        await b.close();
        t.cleanup();
      }
    });

    test("empty blob; concurrent puts of the same content", async () => {
      const t = tempDir();
      const b = await open(join(t.dir, "blobs"));
      try {
        const empty = Buffer.alloc(0);
        const id = await b.put(empty);
        assert.equal(await b.size(id), 0);
        assert.equal((await b.get(id)).byteLength, 0);
        assert.equal((await collect(b.stream(id))).length, 0);
        const data = Buffer.from(`Subject: twice ${Math.random()}\r\n\r\nsame\r\n`);
        const ids = await Promise.all([b.put(data), b.put(data), b.put(data)]);
        assert.deepEqual(new Set(ids), new Set([sha256Hex(data)]));
        assert.deepEqual(Buffer.from(await b.get(ids[0]!)), data);
        await b.delete(id);
        await b.delete(ids[0]!);
      } finally {
        await b.close();
        t.cleanup();
      }
    });
  });
}
