/**
 * The synchronous durable blob write, shared by the blob-writer threads (writer-thread.ts) and the
 * in-transaction rewrite of a missing blob (FsBlobStore.writeSync). Order, all before returning:
 * the temp file's data is fsynced, renamed into place, and the directory holding the new name is
 * fsynced; a directory seen for the first time (created here, or by another thread or process
 * whose fsync may still be in flight) also gets its own entry fsynced in its parent, up to `root`.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

export function blobDir(root: string, id: string): string {
  return join(root, id.slice(0, 2), id.slice(2, 4));
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes data as blob `id` under root. `durableDirs` remembers directories whose entries are
 * known durable (per thread or process); without it every parent is fsynced.
 */
export function writeBlobDurableSync(
  root: string,
  id: string,
  data: Uint8Array,
  durableDirs: Set<string> = new Set(),
): void {
  const dir = blobDir(root, id);
  if (!durableDirs.has(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // the leaf and its parents up to root: each new one's entry is made durable in its parent
    // (bounded: the layout is root/ab/cd, two levels)
    const chain: string[] = [];
    for (let d = dir, i = 0; i < 2 && d !== root && !durableDirs.has(d); d = dirname(d), i++) chain.push(d);
    for (const d of chain) fsyncPath(dirname(d));
    for (const d of chain) durableDirs.add(d);
  }
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    let off = 0;
    // bounded: each write makes progress or throws
    while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, join(dir, id));
  fsyncPath(dir);
}
