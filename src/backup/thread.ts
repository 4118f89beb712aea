/**
 * The worker-thread body of a scheduled backup (schedule.ts): a snapshot, then the retention.
 * On a thread so the synchronous metadata copy and blob copies never hold up the server's event
 * loop (connection hand-offs, heartbeats).
 */
import { parentPort, workerData } from "node:worker_threads";
import { pruneSnapshots, takeSnapshot } from "./snapshot.ts";

export interface BackupJob {
  dataDir: string;
  dir: string;
  compress: boolean;
  keepDaily: number;
  keepWeekly: number;
}

const job = workerData as BackupJob;
try {
  const m = await takeSnapshot({ dataDir: job.dataDir, dir: job.dir, compress: job.compress });
  const p = pruneSnapshots(job.dir, job.keepDaily, job.keepWeekly);
  parentPort?.postMessage({
    ok: true,
    id: m.id,
    messages: m.messages,
    blobs: m.blobs.length,
    copied: m.copied,
    copiedBytes: m.copiedBytes,
    pruned: p.removed,
  });
} catch (e) {
  parentPort?.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
}
