/**
 * Taking, verifying and pruning snapshots (docs/backup.md). A snapshot is taken online; of an
 * SQLite store (a PostgreSQL store: snapshot-pg.ts, one exported REPEATABLE READ snapshot instead
 * of steps 1–2, the same format):
 *
 * 1. a GC barrier is held (store/db/sqlite/gc-barrier.ts) and the write lock taken once, so a
 *    sweep in flight has committed and no later one unlinks a blob until the copy is done;
 * 2. the metadata is copied in one read transaction (SQLite `VACUUM INTO`): every delivery
 *    acknowledged before this point has committed, and its blob was durable before its commit
 *    (docs/architecture.md "Mail store"), so it is in the copy with its file present;
 * 3. every blob the copy references is copied into the shared <dir>/blobs/ unless already there
 *    (incremental), its SHA-256 checked against its name on the way;
 * 4. the manifest (metadata checksum, blob list) is written and the snapshot directory renamed
 *    into place.
 *
 * Run by the CLI or on a worker thread of the server (schedule.ts); the SQLite metadata copy is
 * one synchronous statement, the blob copies run several at once.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import Database from "better-sqlite3";
import { SmallBlobs } from "../store/blob/small.ts";
import { holdGcBarrier } from "../store/db/sqlite/gc-barrier.ts";
import { storeDatabasePath } from "../store/index.ts";
import {
  backupBlobPath,
  findBackupBlob,
  listSnapshots,
  lockBackupDir,
  MANIFEST_VERSION,
  type Manifest,
  readBackupBlob,
  readManifest,
  sha256,
  sha256File,
  snapshotId,
  snapshotsDir,
  writeDurable,
  writeDurableAsync,
} from "./manifest.ts";
import { pgSnapshotSource, type SnapshotSource } from "./snapshot-pg.ts";

export interface SnapshotOptions {
  /** the store's data directory (SQLite: the store itself; recorded in the manifest either way) */
  dataDir: string;
  /** the backup directory */
  dir: string;
  /** gzip blobs newly copied */
  compress: boolean;
  /** a PostgreSQL store (`[store] backend = "postgres"`): its URL; default the SQLite store of dataDir */
  postgresUrl?: string;
  /** the snapshot's time (tests); default now */
  now?: Date;
}

/** how long a barrier lives without renewal (a crashed backup releases the sweeper after this) */
const BARRIER_TTL_MS = 30 * 60_000;
const BARRIER_RENEW_MS = 5 * 60_000;
/** the wait for the write lock before the metadata copy */
const LOCK_TIMEOUT_MS = 60_000;
/** blob copies in flight */
const COPY_CONCURRENCY = 16;

/** the SQLite store of a data directory as a snapshot source: GC barrier, write lock once, VACUUM INTO */
function sqliteSource(dataDir: string): SnapshotSource {
  const dbPath = storeDatabasePath(dataDir);
  if (!existsSync(dbPath)) throw new Error(`no store at ${dataDir} (${dbPath} is missing)`);
  // fileMustExist: a backup never creates a store
  const src = new Database(dbPath, { fileMustExist: true, timeout: LOCK_TIMEOUT_MS });
  let barrier: ReturnType<typeof holdGcBarrier>;
  try {
    barrier = holdGcBarrier(dataDir, BARRIER_TTL_MS);
  } catch (e) {
    src.close();
    throw e;
  }
  let renewed = Date.now();
  const live = join(dataDir, "blobs");
  // small messages live in the small-blob database beside the files (store/blob/small.ts)
  const small = new SmallBlobs(live, 0, false);
  return {
    async metadata(path) {
      // (1) a sweep that began before the barrier file existed holds the write lock until it has
      // committed; taking the lock once waits for it. Later sweeps see the barrier (jobs.ts).
      src.exec("BEGIN IMMEDIATE");
      src.exec("COMMIT");
      // (2) one read transaction; the path is ours, quoted as an SQL string literal
      src.exec(`VACUUM INTO '${path.replaceAll("'", "''")}'`);
      src.close();
    },
    async read(sha) {
      if (Date.now() - renewed > BARRIER_RENEW_MS) {
        barrier.renew();
        renewed = Date.now();
      }
      return small.getSync(sha) ?? readFile(join(live, sha.slice(0, 2), sha.slice(2, 4), sha));
    },
    async close() {
      await small.close();
      if (src.open) src.close();
      barrier.release();
    },
  };
}

export async function takeSnapshot(o: SnapshotOptions): Promise<Manifest> {
  const unlock = lockBackupDir(o.dir);
  let source: SnapshotSource;
  try {
    source = o.postgresUrl ? await pgSnapshotSource(o.postgresUrl) : sqliteSource(o.dataDir);
  } catch (e) {
    unlock();
    throw e;
  }
  const started = o.now ?? new Date();
  let id = snapshotId(started);
  const taken = new Set(listSnapshots(o.dir));
  for (let i = 2; taken.has(id); i++) id = `${snapshotId(started)}-${i}`;
  const tmp = join(snapshotsDir(o.dir), `.tmp-${id}`);
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    const metaPath = join(tmp, "store.sqlite");
    await source.metadata(metaPath);
    // it holds password hashes, like the store itself
    chmodSync(metaPath, 0o600);
    const copy = new Database(metaPath, { readonly: true, fileMustExist: true });
    let blobs: Array<[string, number]>;
    let accounts: number;
    let messages: number;
    try {
      blobs = (
        copy
          .prepare(
            // the messages' blobs, and those of expunged messages inside the undelete window
            `SELECT b.sha256, b.size FROM blob b
              WHERE EXISTS (SELECT 1 FROM message m WHERE m.blob_id = b.id)
                 OR EXISTS (SELECT 1 FROM deleted_message d WHERE d.blob_id = b.id)
              ORDER BY b.sha256`,
          )
          .raw(true)
          .all() as Array<[string, number]>
      ).map(([s, n]) => [String(s), Number(n)]);
      accounts = Number((copy.prepare("SELECT count(*) FROM account").raw(true).get() as unknown[])[0]);
      messages = Number((copy.prepare("SELECT count(*) FROM message").raw(true).get() as unknown[])[0]);
    } finally {
      copy.close();
    }
    // (3) blobs, incremental; COPY_CONCURRENCY at once, so their fsyncs share journal commits
    let copied = 0;
    let copiedBytes = 0;
    let next = 0;
    const worker = async () => {
      while (next < blobs.length) {
        const sha = blobs[next++]![0];
        if (findBackupBlob(o.dir, sha)) continue;
        const data = await source.read(sha);
        if (sha256(data) !== sha) throw new Error(`blob ${sha} in the store does not match its name`);
        const dest = backupBlobPath(o.dir, sha, o.compress);
        await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
        await writeDurableAsync(dest, o.compress ? gzipSync(data) : data);
        copied++;
        copiedBytes += data.length;
      }
    };
    await Promise.all(Array.from({ length: COPY_CONCURRENCY }, worker));
    // (4) manifest, then the directory appears
    const m: Manifest = {
      version: MANIFEST_VERSION,
      id,
      started: started.toISOString(),
      finished: new Date().toISOString(),
      dataDir: o.dataDir,
      ...(o.postgresUrl ? { backend: "postgres" as const } : {}),
      metadata: { file: "store.sqlite", sha256: sha256File(metaPath), size: statSync(metaPath).size },
      blobs,
      copied,
      copiedBytes,
      accounts,
      messages,
    };
    writeDurable(join(tmp, "manifest.json"), Buffer.from(JSON.stringify(m)));
    renameSync(tmp, join(snapshotsDir(o.dir), id));
    return m;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    await source.close();
    unlock();
  }
}

export interface VerifyResult {
  id: string;
  problems: string[];
  blobs: number;
}

/** rechecks the metadata checksum and integrity, and every blob's SHA-256 */
export function verifySnapshot(dir: string, id: string, checked = new Set<string>()): VerifyResult {
  const problems: string[] = [];
  let m: Manifest;
  try {
    m = readManifest(dir, id);
  } catch (e) {
    return { id, problems: [`manifest: ${(e as Error).message}`], blobs: 0 };
  }
  const metaPath = join(snapshotsDir(dir), id, m.metadata.file);
  try {
    if (sha256File(metaPath) !== m.metadata.sha256)
      problems.push("metadata: checksum differs from the manifest");
    const db = new Database(metaPath, { readonly: true, fileMustExist: true });
    try {
      const r = db.prepare("PRAGMA integrity_check").pluck().all() as string[];
      if (r.length !== 1 || r[0] !== "ok")
        problems.push(`metadata: integrity_check: ${r.slice(0, 5).join("; ")}`);
    } finally {
      db.close();
    }
  } catch (e) {
    problems.push(`metadata: ${(e as Error).message}`);
  }
  for (const [sha] of m.blobs) {
    if (checked.has(sha)) continue;
    try {
      if (sha256(readBackupBlob(dir, sha)) !== sha)
        problems.push(`blob ${sha}: content does not match its SHA-256`);
      else checked.add(sha);
    } catch (e) {
      problems.push(`blob ${sha}: ${(e as Error).message}`);
    }
  }
  return { id, problems, blobs: m.blobs.length };
}

/**
 * Which snapshots a retention keeps: the newest of each of the last keepDaily days that have
 * one, and the newest of each of the last keepWeekly ISO weeks (UTC).
 */
export function retained(ids: string[], keepDaily: number, keepWeekly: number): Set<string> {
  const keep = new Set<string>();
  const newestPer = (key: (id: string) => string, n: number) => {
    const seen = new Set<string>();
    for (const id of [...ids].sort().reverse()) {
      const k = key(id);
      if (seen.has(k)) continue;
      if (seen.size >= n) break;
      seen.add(k);
      keep.add(id);
    }
  };
  newestPer((id) => id.slice(0, 10), keepDaily);
  newestPer((id) => isoWeek(id.slice(0, 10)), keepWeekly);
  return keep;
}

function isoWeek(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  const dow = (d.getUTCDay() + 6) % 7; // Monday = 0
  d.setUTCDate(d.getUTCDate() - dow + 3); // the week's Thursday decides its year
  const year = d.getUTCFullYear();
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const week =
    1 + Math.round((d.getTime() - jan4.getTime()) / 86_400_000 / 7 - (((jan4.getUTCDay() + 6) % 7) - 3) / 7);
  return `${year}-W${week}`;
}

export interface PruneResult {
  removed: string[];
  kept: string[];
  blobsRemoved: number;
}

/** removes snapshots outside the retention, then blobs no remaining manifest names */
export function pruneSnapshots(dir: string, keepDaily: number, keepWeekly: number): PruneResult {
  const unlock = lockBackupDir(dir);
  try {
    const ids = listSnapshots(dir);
    const keep = retained(ids, keepDaily, keepWeekly);
    const removed = ids.filter((id) => !keep.has(id));
    for (const id of removed) rmSync(join(snapshotsDir(dir), id), { recursive: true, force: true });
    const used = new Set<string>();
    for (const id of keep) for (const [sha] of readManifest(dir, id).blobs) used.add(sha);
    let blobsRemoved = 0;
    const root = join(dir, "blobs");
    const ls = (p: string) => {
      try {
        return readdirSync(p);
      } catch {
        return [];
      }
    };
    for (const a of ls(root))
      for (const b of ls(join(root, a)))
        for (const f of ls(join(root, a, b))) {
          const sha = f.endsWith(".gz") ? f.slice(0, -3) : f;
          if (used.has(sha)) continue;
          unlinkSync(join(root, a, b, f));
          blobsRemoved++;
        }
    return { removed, kept: ids.filter((id) => keep.has(id)), blobsRemoved };
  } finally {
    unlock();
  }
}
