/**
 * The daily backup of `serve` (docs/backup.md): started once per server — by the primary of a
 * cluster or by the single process (src/server/cluster.ts, index.ts), like the outbound runner.
 * On a PostgreSQL store every node runs it and the day's lease (thread.ts) lets one of them take
 * the snapshot; the others skip, look again after `backup.retry` (doubling) in case that node
 * died, and stop looking when the next day's run is due.
 * Each run is a worker thread (thread.ts); a failure is logged and retried after `backup.retry`,
 * doubling up to 6 h, until the day's snapshot exists. Mail never waits for it: the thread holds
 * the database write lock only for one empty transaction (gc barrier hand-over) and copies from a
 * read transaction.
 */
import { Worker } from "node:worker_threads";
import type { ResolvedConfig } from "../config/index.ts";
import { count } from "../net/metrics.ts";
import type { Logger } from "../server/index.ts";
import type { BackupJob, BackupReply } from "./thread.ts";

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

/** a local date as "YYYY-MM-DD" (the day a scheduled run belongs to) */
export function localDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * After the `skips`-th skipped run of `day` (another node holds its lease): ms until this node
 * looks again (retry, doubling, at most 6 h), or null when that would be on another day or after
 * the next daily run — which then comes next.
 */
export function recheckIn(
  skips: number,
  retryMs: number,
  time: string,
  day: string,
  now = new Date(),
): number | null {
  const wait = Math.min(retryMs * 2 ** (skips - 1), MAX_RETRY_MS);
  if (wait >= msUntil(time, now)) return null;
  return localDay(new Date(now.getTime() + wait)) === day ? wait : null;
}

export function startBackupSchedule(config: ResolvedConfig, logger: Logger): BackupSchedule {
  const log = logger.child({ job: "backup" });
  const b = config.backup;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<boolean> | null = null;
  let current: Worker | null = null;
  let stopped = false;
  let failures = 0;
  let skips = 0;
  /** the day of the current run: that of its first attempt (its retries keep it) */
  let day = localDay(new Date());
  let skipped = false;

  const runOnce = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      skipped = false;
      const job: BackupJob = {
        dataDir: config.data_dir,
        dir: b.dir,
        compress: b.compress,
        keepDaily: b.keep_daily,
        keepWeekly: b.keep_weekly,
        day,
        // (tests hand in configurations without a [store] section)
        ...(config.store?.backend === "postgres" ? { postgresUrl: config.store.url } : {}),
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
      w.on("message", (m: BackupReply) => {
        if ("skipped" in m) {
          // another node of the cluster has the day's lease: not a failure, not a snapshot
          done = true;
          current = null;
          skipped = true;
          count("postkontor_backups_total", { result: "skipped" });
          log.info({ dir: b.dir, reason: m.skipped }, "backup skipped");
          resolve(true);
          return;
        }
        const { ok, ...rest } = m;
        finish(ok, { dir: b.dir, ...rest });
      });
      w.on("error", (e) => finish(false, { dir: b.dir, error: e.message }));
      w.on("exit", (code) => finish(false, { dir: b.dir, error: `backup thread exited (${code})` }));
    });

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void runNow();
    }, ms);
    timer.unref();
  };

  /** the next day's run: a new day, no retries pending */
  const nextSlot = () => {
    skips = 0;
    failures = 0;
    schedule(msUntil(b.time));
  };

  const runNow = (): Promise<boolean> => {
    if (running) return running;
    if (failures === 0 && skips === 0) day = localDay(new Date());
    running = runOnce().then((ok) => {
      running = null;
      if (ok && skipped) {
        // look again later the same day, in case the node holding the lease died meanwhile (a
        // failure of ours before is moot: another node holds the day)
        failures = 0;
        skips++;
        const wait = recheckIn(skips, b.retry, b.time, day);
        if (wait === null) nextSlot();
        else schedule(wait);
      } else if (ok) {
        nextSlot();
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
