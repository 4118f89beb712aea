/**
 * The orphan scan of the SQLite store's blob files and small-blob rows (jobs.ts runs it after
 * open and from collectGarbage): crash leftovers, never content a row references
 * (docs/architecture.md "Mail store").
 */
import { readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { FsBlobStore } from "../../blob/fs.ts";
import type { SqliteHandle } from "./sqlite.ts";

/** blobs re-checked per write transaction (as the sweeper's batches) */
const BATCH = 64;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX2 = /^[0-9a-f]{2}$/;

async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/**
 * Crash leftovers: blob files without a row (written before a transaction that never
 * committed) and temp files, older than minAgeMs. The directory walk is async and outside any
 * lock; each directory's candidates are re-checked and unlinked under the write lock, so an
 * append deduping to such a file either sees it removed (and rewrites it) or keeps it.
 */
export async function sweepOrphans(
  h: SqliteHandle,
  files: FsBlobStore,
  minAgeMs: number,
  stopped: () => boolean,
): Promise<number> {
  const root = files.root;
  const has = (text: string, ...args: unknown[]): boolean =>
    h
      .stmt(text)
      .raw(true)
      .get(...args) !== undefined;
  const cutoff = Date.now() - minAgeMs;
  let removed = 0;
  const list = async (dir: string): Promise<string[]> => {
    try {
      return await readdir(dir);
    } catch {
      return [];
    }
  };
  const old = async (path: string): Promise<boolean> => {
    try {
      return (await stat(path)).mtimeMs <= cutoff;
    } catch {
      return false;
    }
  };
  // a JMAP upload's file (random name, table jmap_upload) is kept while its row is there
  const noRow = (sha: string) =>
    !has("SELECT 1 FROM blob WHERE sha256 = ?", sha) && !has("SELECT 1 FROM jmap_upload WHERE file = ?", sha);
  // bounded: two levels of at most 256 directories each (names that are not hex are skipped)
  for (const a of await list(root)) {
    if (stopped()) break;
    if (!HEX2.test(a)) continue;
    for (const b of await list(join(root, a))) {
      if (stopped()) break;
      if (!HEX2.test(b)) continue;
      const dir = join(root, a, b);
      const named: string[] = [];
      for (const name of await list(dir)) {
        if (name.startsWith(".tmp-")) {
          // temp names are never referenced: no lock needed
          const path = join(dir, name);
          if (await old(path)) {
            await unlinkQuiet(path).catch(() => {});
            removed++;
          }
        } else if (HEX64.test(name) && name.startsWith(a + b)) {
          named.push(name);
        }
      }
      // files with a row are the normal case: filtered by a read, without the write lock
      const without = named.length ? await h.withConnection(() => named.filter(noRow)) : [];
      const candidates: string[] = [];
      for (const sha of without) if (await old(join(dir, sha))) candidates.push(sha);
      for (let i = 0; i < candidates.length; i += BATCH) {
        const chunk = candidates.slice(i, i + BATCH);
        removed += await h.transaction(async () => {
          const dead = chunk.filter(noRow);
          await Promise.all(dead.map((sha) => unlinkQuiet(files.pathOf(sha))));
          return dead.length;
        });
      }
    }
  }
  removed += await sweepSmallOrphans(h, files, cutoff, noRow, stopped);
  return removed;
}

/** rows of the small-blob database looked at per read */
const SMALL_PAGE = 1000;

/**
 * The same for the small-blob database (blob/small.ts): rows older than the cutoff without a
 * blob or upload row, re-checked and deleted under the write lock. Pages through the table in
 * row order up to the first row younger than the cutoff, so it ends after one pass.
 */
async function sweepSmallOrphans(
  h: SqliteHandle,
  files: FsBlobStore,
  cutoff: number,
  noRow: (sha: string) => boolean,
  stopped: () => boolean,
): Promise<number> {
  const small = files.small;
  let removed = 0;
  // bounded: each page starts after the last row of the previous one
  for (let after = 0, more = true; more && !stopped(); ) {
    const got = small.createdBefore(cutoff, after, SMALL_PAGE);
    more = got.more;
    const page = got.rows;
    if (page.length === 0) break;
    after = page[page.length - 1]!.rowid;
    const without = await h.withConnection(() => page.map((r) => r.id).filter(noRow));
    for (let i = 0; i < without.length; i += BATCH) {
      const chunk = without.slice(i, i + BATCH);
      removed += await h.transaction(() => {
        const dead = chunk.filter(noRow);
        small.deleteSync(dead);
        return dead.length;
      });
    }
  }
  return removed;
}
