/**
 * The worker-thread body of a scheduled backup (schedule.ts): a snapshot, then the retention.
 * On a thread so the synchronous metadata copy and blob copies never hold up the server's event
 * loop (connection hand-offs, heartbeats).
 *
 * On a PostgreSQL store every node of a cluster runs the schedule, and exactly one takes the day's
 * snapshot: the one that gets the lease `backup/daily/<day>` (locks port, store/locks/postgres.ts).
 * The lease is held with a short ttl, renewed while the snapshot runs (a node that dies lets it go
 * within BUSY_TTL_MS), extended to DONE_TTL_MS once the snapshot is taken (the other nodes find
 * it held and skip that day) and released when the snapshot failed (a retry, of this node or
 * another, takes it again).
 */
import { hostname } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { openPool } from "../store/db/postgres/pg.ts";
import type { Lease } from "../store/locks/port.ts";
import { PgLocks } from "../store/locks/postgres.ts";
import { pruneSnapshots, takeSnapshot } from "./snapshot.ts";

export interface BackupJob {
  dataDir: string;
  dir: string;
  compress: boolean;
  keepDaily: number;
  keepWeekly: number;
  /** a PostgreSQL store: its URL (the snapshot is taken under the day's lease) */
  postgresUrl?: string;
  /** the day of the scheduled run ("YYYY-MM-DD", local time): names the lease */
  day: string;
}

const BUSY_TTL_MS = 10 * 60_000;
const RENEW_MS = 2 * 60_000;
const DONE_TTL_MS = 36 * 3_600_000;

export type BackupReply =
  | {
      ok: true;
      id: string;
      messages: number;
      blobs: number;
      copied: number;
      copiedBytes: number;
      pruned: string[];
    }
  | { ok: true; skipped: string }
  | { ok: false; error: string };

async function run(job: BackupJob): Promise<BackupReply> {
  const m = await takeSnapshot({
    dataDir: job.dataDir,
    dir: job.dir,
    compress: job.compress,
    ...(job.postgresUrl ? { postgresUrl: job.postgresUrl } : {}),
  });
  const p = pruneSnapshots(job.dir, job.keepDaily, job.keepWeekly);
  return {
    ok: true,
    id: m.id,
    messages: m.messages,
    blobs: m.blobs.length,
    copied: m.copied,
    copiedBytes: m.copiedBytes,
    pruned: p.removed,
  };
}

/** the day's snapshot under its lease; skipped while another node holds it */
async function runLeased(job: BackupJob, url: string): Promise<BackupReply> {
  const pool = openPool(url, 1);
  let lease: Lease | null = null;
  let timer: NodeJS.Timeout | null = null;
  try {
    lease = await new PgLocks(pool).acquire(
      `backup/daily/${job.day}`,
      `${hostname()}/${process.pid}`,
      BUSY_TTL_MS,
    );
    if (!lease) return { ok: true, skipped: `another node takes or took the backup of ${job.day}` };
    const held = lease;
    timer = setInterval(() => void held.renew(BUSY_TTL_MS).catch(() => {}), RENEW_MS);
    const r = await run(job);
    clearInterval(timer);
    timer = null;
    await held.renew(DONE_TTL_MS);
    return r;
  } catch (e) {
    if (timer) clearInterval(timer);
    await lease?.release().catch(() => {});
    throw e;
  } finally {
    await pool.end().catch(() => {});
  }
}

const job = workerData as BackupJob;
try {
  parentPort?.postMessage(job.postgresUrl ? await runLeased(job, job.postgresUrl) : await run(job));
} catch (e) {
  parentPort?.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
}
