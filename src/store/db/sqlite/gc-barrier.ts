/**
 * The blob-GC barrier (docs/architecture.md "Mail store", "Backups"): while a backup copies the
 * blobs referenced by its metadata snapshot, the sweeper (jobs.ts) must not unlink them. A holder
 * writes one file under <data_dir>/run/gc-barriers/ holding its expiry time (ms since epoch); the
 * sweeper, inside its write transaction, skips its batch while any unexpired file exists. A file
 * left by a crashed holder expires by itself. Files, not rows: the holder (a backup thread or the
 * CLI) must not need the write lock for it, and every process on the host sees it.
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function gcBarrierDir(dataDir: string): string {
  return join(dataDir, "run", "gc-barriers");
}

/** true while an unexpired barrier file exists (a missing directory = none) */
export function gcBarrierActive(dir: string, now = Date.now()): boolean {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  for (const n of names) {
    if (!n.endsWith(".barrier")) continue;
    try {
      const until = Number(readFileSync(join(dir, n), "utf8"));
      if (Number.isFinite(until) && until > now) return true;
    } catch {
      // removed meanwhile
    }
  }
  return false;
}

export interface GcBarrier {
  /** extends the expiry to now + ttlMs */
  renew(): void;
  release(): void;
}

export function holdGcBarrier(dataDir: string, ttlMs: number): GcBarrier {
  const dir = gcBarrierDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.barrier`);
  const write = () => writeFileSync(file, String(Date.now() + ttlMs), { mode: 0o600 });
  write();
  return {
    renew: write,
    release: () => {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}
