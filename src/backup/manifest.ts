/**
 * The backup directory's layout and manifest (docs/backup.md):
 *
 *   <dir>/blobs/ab/cd/<sha256>[.gz]    message blobs, content-addressed, shared by all snapshots
 *   <dir>/snapshots/<id>/store.sqlite  the metadata copy (SQLite VACUUM INTO)
 *   <dir>/snapshots/<id>/manifest.json this file's format: checksums of both
 *   <dir>/lock                         held (pid) by `backup run`/`prune`, one at a time
 *
 * A snapshot id is its UTC start time, `YYYY-MM-DDTHHMMSSZ`; a snapshot directory appears (by
 * rename) only once complete.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export const MANIFEST_VERSION = 1;
const ID_RE = /^\d{4}-\d{2}-\d{2}T\d{6}Z(?:-\d{1,3})?$/;
const HEX64 = /^[0-9a-f]{64}$/;

export interface Manifest {
  version: number;
  id: string;
  /** when the metadata copy started / the snapshot completed (ISO) */
  started: string;
  finished: string;
  /** the data directory it was taken from */
  dataDir: string;
  /** the store's backend when not SQLite (the metadata copy is an SQLite database either way) */
  backend?: "postgres";
  metadata: { file: string; sha256: string; size: number };
  /** blobs referenced by the metadata copy: [sha256 of the content, octets] */
  blobs: Array<[string, number]>;
  /** blobs this snapshot copied (the others were already in the backup directory) */
  copied: number;
  copiedBytes: number;
  accounts: number;
  messages: number;
}

export function snapshotsDir(dir: string): string {
  return join(dir, "snapshots");
}

export function isSnapshotId(id: string): boolean {
  return ID_RE.test(id);
}

export function snapshotId(d: Date): string {
  const iso = d.toISOString(); // 2026-12-04T16:26:52.123Z
  return `${iso.slice(0, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** where a blob lives in the backup directory (a compressed one carries .gz) */
export function backupBlobPath(dir: string, sha: string, gz: boolean): string {
  if (!HEX64.test(sha)) throw new Error(`not a blob name: ${sha}`);
  return join(dir, "blobs", sha.slice(0, 2), sha.slice(2, 4), gz ? `${sha}.gz` : sha);
}

/** the stored file of a blob, compressed or not, or null when absent */
export function findBackupBlob(dir: string, sha: string): { path: string; gz: boolean } | null {
  for (const gz of [false, true]) {
    const p = backupBlobPath(dir, sha, gz);
    if (existsSync(p)) return { path: p, gz };
  }
  return null;
}

/** a blob's content from the backup directory (decompressed); throws when missing */
export function readBackupBlob(dir: string, sha: string): Buffer {
  const f = findBackupBlob(dir, sha);
  if (!f) throw new Error(`blob ${sha} missing from the backup directory`);
  const data = readFileSync(f.path);
  return f.gz ? gunzipSync(data) : data;
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function sha256File(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** write to a temp file, fsync, rename (the file appears complete or not at all) */
export function writeDurable(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** writeDurable without blocking (copies run several at once) */
export async function writeDurableAsync(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export function readManifest(dir: string, id: string): Manifest {
  const m = JSON.parse(readFileSync(join(snapshotsDir(dir), id, "manifest.json"), "utf8")) as Manifest;
  if (m.version !== MANIFEST_VERSION)
    throw new Error(`snapshot ${id}: unknown manifest version ${m.version}`);
  return m;
}

/** complete snapshots, oldest first */
export function listSnapshots(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(snapshotsDir(dir));
  } catch {
    return [];
  }
  return names
    .filter((n) => isSnapshotId(n) && existsSync(join(snapshotsDir(dir), n, "manifest.json")))
    .sort();
}

/**
 * A snapshot by id or date: an exact id, or a prefix of one ("2026-12-04" = the latest of that
 * day, "2026-12-04T03" …); "latest" = the newest.
 */
export function findSnapshot(dir: string, sel: string): string {
  const all = listSnapshots(dir);
  if (sel === "latest") {
    const last = all.at(-1);
    if (!last) throw new Error(`no snapshots in ${dir}`);
    return last;
  }
  const hits = all.filter((id) => id.startsWith(sel));
  const last = hits.at(-1);
  if (!last) throw new Error(`no snapshot matches "${sel}" in ${dir} (postkontor backup list)`);
  return last;
}

/** the backup directory's lock: one `backup run` / `prune` at a time (stale = its pid is gone) */
export function lockBackupDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx", mode: 0o600 });
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(readFileSync(path, "utf8"));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw new Error(`another backup is running (pid ${pid}, ${path})`);
      unlinkSync(path);
    }
  }
  throw new Error(`cannot lock ${path}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
