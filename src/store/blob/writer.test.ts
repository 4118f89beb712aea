import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../testing/helpers.ts";
import { FsBlobStore, sha256Hex } from "./fs.ts";
import { BlobWriterPool } from "./writer.ts";

test("blob writer threads write durable files named by content, many at once", async () => {
  const t = tempDir();
  const blobs = new FsBlobStore(join(t.dir, "blobs"), { writerThreads: 2 });
  try {
    const datas = Array.from({ length: 40 }, (_, i) => Buffer.from(`message ${i}\r\n`.repeat(50 + i)));
    // a view into a larger buffer: only its own bytes are written
    const big = Buffer.from("xxxxHELLOyyyy");
    datas.push(big.subarray(4, 9));
    const ids = await Promise.all(datas.map((d) => blobs.put(d)));
    for (let i = 0; i < datas.length; i++) {
      assert.equal(ids[i], sha256Hex(datas[i]!));
      assert.deepEqual(readFileSync(blobs.pathOf(ids[i]!)), datas[i]);
    }
    // the caller's bytes are untouched (the thread got a copy)
    assert.equal(big.toString(), "xxxxHELLOyyyy");
    // no temp files left behind
    for (const id of ids) {
      const dir = blobs.dirOf(id!);
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.startsWith(".tmp-")),
        [],
      );
    }
  } finally {
    await blobs.close();
    t.cleanup();
  }
});

test("a failed thread write rejects with the file system's error; a closed pool refuses", async () => {
  const t = tempDir();
  const pool = new BlobWriterPool(1);
  try {
    // root is a regular file: mkdir under it fails with ENOTDIR
    const root = join(t.dir, "not-a-dir");
    writeFileSync(root, "x");
    const data = Buffer.from("hello");
    await assert.rejects(pool.write(root, sha256Hex(data), data), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, "ENOTDIR");
      return true;
    });
    // the thread survives an error and keeps writing
    const ok = join(t.dir, "ok");
    await pool.write(ok, sha256Hex(data), data);
    const id = sha256Hex(data);
    assert.ok(existsSync(join(ok, id.slice(0, 2), id.slice(2, 4), id)));
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.write(t.dir, "ab".repeat(32), Buffer.from("x")), /closed/);
  t.cleanup();
});

test("an idle writer thread ends, and the next write starts it again", async () => {
  const t = tempDir();
  const pool = new BlobWriterPool(1, { idleExitMs: 20 });
  try {
    const a = Buffer.from("first");
    await pool.write(t.dir, sha256Hex(a), a);
    assert.equal(pool.liveThreads(), 1);
    // bounded: ends within 10 s or the test fails
    for (let i = 0; i < 1000 && pool.liveThreads() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pool.liveThreads(), 0);
    const b = Buffer.from("second");
    await pool.write(t.dir, sha256Hex(b), b);
    const id = sha256Hex(b);
    assert.deepEqual(readFileSync(join(t.dir, id.slice(0, 2), id.slice(2, 4), id)), b);
  } finally {
    await pool.close();
    t.cleanup();
  }
});
