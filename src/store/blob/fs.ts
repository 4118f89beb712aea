/**
 * Content-addressed blob files: <root>/ab/cd/<sha256 hex>. Written to a temp file in the same
 * directory, fsynced, renamed into place and the directory fsynced, so a blob is durable before
 * the SQL transaction that references it commits (DESIGN.md §3: never referenced-but-missing).
 * Identical content is stored once: if the file already exists it is reused.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

const HEX64 = /^[0-9a-f]{64}$/;
/** blobs up to this size are read synchronously (see read()) */
const SYNC_READ_MAX = 1024 * 1024;

export class FsBlobStore {
  readonly root: string;
  /** directories already created and fsynced in this process */
  readonly #dirs = new Set<string>();
  /** directories whose new entries (subdirectories we created) are not fsynced yet */
  readonly #unsynced = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  dirOf(id: string): string {
    return join(this.root, id.slice(0, 2), id.slice(2, 4));
  }

  pathOf(id: string): string {
    if (!HEX64.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return join(this.dirOf(id), id);
  }

  /** Stores the bytes (if not present yet) durably; resolves with the blob id. */
  async put(data: Uint8Array, id: string = sha256Hex(data)): Promise<string> {
    const path = this.pathOf(id);
    if (existsSync(path)) return id;
    await this.write(id, data);
    return id;
  }

  /**
   * Always (re)writes the file: used when a blob must be present and a GC may have raced.
   * fsync order: the temp file's data and the entries of directories created for it (in
   * parallel), then rename, then the directory holding the new name — all before resolving.
   */
  async write(id: string, data: Uint8Array): Promise<void> {
    const dir = this.dirOf(id);
    const parents = await this.#ensureDir(dir);
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o640);
    try {
      let off = 0;
      // bounded: each write makes progress or throws
      while (off < data.byteLength) {
        const { bytesWritten } = await fh.write(data, off, data.byteLength - off);
        off += bytesWritten;
      }
      await Promise.all([fh.sync(), ...parents.map(fsyncDir)]);
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
    // the new directories' entries are durable now
    for (const d of parents) this.#unsynced.delete(d);
    this.#dirs.add(dir);
    await fh.close();
    await rename(tmp, this.pathOf(id));
    await fsyncDir(dir);
  }

  async read(id: string): Promise<Buffer> {
    const path = this.pathOf(id);
    // Small blobs (the common case) are read synchronously: open/fstat/read/close of a few dozen KB
    // from the page cache take microseconds, while the promise API costs four thread-pool round
    // trips per file (measured: ~40 % of POP3 RETR time). Large blobs keep the non-blocking path.
    const fd = openSync(path, "r");
    let size: number;
    try {
      size = fstatSync(fd).size;
      if (size <= SYNC_READ_MAX) {
        const buf = Buffer.allocUnsafe(size);
        let off = 0;
        // each iteration reads what is left; ends at EOF (a blob never changes once written)
        while (off < size) {
          const n = readSync(fd, buf, off, size - off, off);
          if (n === 0) break;
          off += n;
        }
        return off === size ? buf : buf.subarray(0, off);
      }
    } finally {
      closeSync(fd);
    }
    return readFile(path);
  }

  exists(id: string): boolean {
    return existsSync(this.pathOf(id));
  }

  async size(id: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(id))).size;
    } catch {
      return null;
    }
  }

  /** Synchronous unlink, so the caller can do it while holding the database write lock. */
  deleteSync(id: string): void {
    try {
      unlinkSync(this.pathOf(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }

  /**
   * Creates the directory (and missing parents); returns this path's ancestors whose entries
   * must be fsynced: the parent of each directory created here (by this write or by a
   * concurrent or failed one that has not fsynced yet). At most a few, so open files stay bounded.
   */
  async #ensureDir(dir: string): Promise<string[]> {
    if (this.#dirs.has(dir)) return [];
    const created = await mkdir(dir, { recursive: true, mode: 0o750 });
    if (created !== undefined) {
      // from the leaf up to the first directory mkdir created (bounded: at most 3 levels here)
      for (let d = dir, i = 0; i < 8; d = dirname(d), i++) {
        this.#unsynced.add(dirname(d));
        if (d === created || dirname(d) === d) break;
      }
    }
    const out: string[] = [];
    // the leaf's ancestors up to the data directory (bounded: 4 levels)
    for (let d = dirname(dir), i = 0; i < 4; d = dirname(d), i++) {
      if (this.#unsynced.has(d)) out.push(d);
      if (dirname(d) === d) break;
    }
    return out;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Synchronous durable write, used only inside a write transaction when a blob file turned out to
 * be missing (a concurrent GC removed it between our put() and our commit).
 */
export function writeBlobSync(store: FsBlobStore, id: string, data: Uint8Array): void {
  const dir = store.dirOf(id);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const fd = openSync(tmp, "wx", 0o640);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, store.pathOf(id));
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
