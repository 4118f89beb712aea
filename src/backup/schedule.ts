/**
 * The daily backup of `serve` (docs/backup.md): started once per server — by the primary of a
 * cluster or by the single process (src/server/cluster.ts, index.ts), like the outbound runner.
 * Each run is a worker thread (thread.ts); a failure is logged and retried after `backup.retry`,
 * doubling up to 6 h, until the day's snapshot exists. Mail never waits for it: the thread holds
 * the database write lock only for one empty transaction (gc barrier hand-over) and copies from a
 * read transaction.
 */
import { Worker } from "node:worker_threads";
import type { ResolvedConfig } from "../config/index.ts";
import { count } from "../net/metrics.ts";
import type { Logger } from "../server/index.ts";
import type { BackupJob } from "./thread.ts";

const MAX_RETRY_MS = 6 * 3_600_000;

export interface BackupSchedule {
  /** runs one backup now (also what the timer calls); resolves when it ended */
  runNow(): Promise<boolean>;
  stop(): Promise<void>;
}

/** ms from now until the next HH:MM local time (tomorrow's when today's has passed) */
export function msUntil(time: string, now = new Date()): number {
  const [h, m] = time.split(":").map(Number) as [number, number];
  const next = new Date(now);
  next.setHours(h, m, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next.getTime() - now.getTime();
}

export function startBackupSchedule(config: ResolvedConfig, logger: Logger): BackupSchedule {
  const log = logger.child({ job: "backup" });
  const b = config.backup;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<boolean> | null = null;
  let current: Worker | null = null;
  let stopped = false;
  let failures = 0;

  const runOnce = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const job: BackupJob = {
        dataDir: config.data_dir,
        dir: b.dir,
        compress: b.compress,
        keepDaily: b.keep_daily,
        keepWeekly: b.keep_weekly,
      };
      const w = new Worker(new URL("./thread.ts", import.meta.url), { workerData: job });
      current = w;
      let done = false;
      const finish = (ok: boolean, fields: Record<string, unknown>) => {
        if (done) return;
        done = true;
        current = null;
        count("postkontor_backups_total", { result: ok ? "ok" : "failed" });
        if (ok) log.info(fields, "backup snapshot taken");
        else log.error(fields, "backup failed");
        resolve(ok);
      };
      w.on("message", (m: { ok: boolean; error?: string }) => {
        const { ok, ...rest } = m;
        finish(ok, { dir: b.dir, ...rest });
      });
      w.on("error", (e) => finish(false, { dir: b.dir, error: e.message }));
      w.on("exit", (code) => finish(false, { dir: b.dir, error: `backup thread exited (${code})` }));
    });

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void runNow();
    }, ms);
    timer.unref();
  };

  const runNow = (): Promise<boolean> => {
    if (running) return running;
    running = runOnce().then((ok) => {
      running = null;
      if (ok) {
        failures = 0;
        schedule(msUntil(b.time));
      } else {
        failures++;
        const wait = Math.min(b.retry * 2 ** (failures - 1), MAX_RETRY_MS);
        log.warn({ retryInMs: wait, failures }, "backup will be retried");
        schedule(wait);
      }
      return ok;
    });
    return running;
  };

  if (b.enabled) schedule(msUntil(b.time));
  return {
    runNow,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      // a snapshot in progress is abandoned: its temp directory is removed by the next run
      await (current as Worker | null)?.terminate();
      await running;
    },
  };
}
