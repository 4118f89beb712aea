/**
 * The cluster: a primary that forks one worker per core (node:cluster), watches their heartbeats
 * and replaces crashed or stalled ones; each worker runs startServices. See index.ts for the notes.
 */
import cluster, { type Worker } from "node:cluster";
import { flushCompileCache } from "node:module";
import { availableParallelism } from "node:os";
import { type BackupSchedule, startBackupSchedule } from "../backup/schedule.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { checkPortsFree } from "../net/port-check.ts";
import { startFeedHub } from "../store/feed/hub.ts";
import {
  attachLimitsPrimary,
  createLimitsClient,
  LimitsHub,
  processChannel,
  throttleOptions,
} from "./limits-ipc.ts";
import { fixedPortAddresses, reusesPorts } from "./listen-specs.ts";
import { createLogger, type Logger } from "./log.ts";
import { attachMetricsPrimary, createMetricsClient } from "./metrics-ipc.ts";
import type { OutboundService } from "./outbound.ts";
import { logAddresses, onShutdownSignal, prepare, withTimeout } from "./process.ts";
// services.ts (every protocol) is imported by the workers only: the primary serves no protocol,
// and its memory is what it loads (docs/benchmarks.md "Fixed memory")
import type { BoundAddress, RunningServices } from "./services.ts";
import {
  type HeartbeatMessage,
  installStallHook,
  startHeartbeat,
  trackHandoffs,
  Watchdog,
} from "./watchdog.ts";

/** IPC between the primary and its workers; every message has a `type`. */
export type WorkerMessage =
  | { type: "listening"; addresses: BoundAddress[] }
  | { type: "fatal"; error: string }
  | { type: "shutdown" }
  | HeartbeatMessage;

/** Number of worker processes for the config: 0 = one per core. */
export function workerCount(config: ResolvedConfig): number {
  return config.server.workers === 0 ? availableParallelism() : config.server.workers;
}

/**
 * The environment variable that gives a worker its slot (0 … n-1; a replacement takes the slot of
 * the worker it replaces). Slot 0 runs the outbound queue runner: exactly one per server.
 */
export const WORKER_SLOT_ENV = "POSTKONTOR_WORKER_SLOT";

export async function runWorker(config: ResolvedConfig): Promise<number> {
  const logger = createLogger(config, { worker: cluster.worker?.id });
  const runsOutbound = process.env[WORKER_SLOT_ENV] === "0";
  const send = (m: WorkerMessage) => {
    if (process.connected) process.send?.(m);
  };
  // beats from the start; the primary watches them once this worker is ready (watchdog.ts)
  startHeartbeat(config.server.worker_stall_s * 1000, send);
  installStallHook(logger);
  let services: RunningServices;
  try {
    // connection limits and login throttling are counted by the primary (limits-ipc.ts)
    const shared = createLimitsClient({
      channel: processChannel(),
      throttle: throttleOptions(config),
      logger,
    });
    // /metrics sums the counters of every worker through the primary (metrics-ipc.ts)
    const { startServices } = await import("./services.ts");
    services = await startServices(config, logger, { ...shared, metrics: createMetricsClient() });
  } catch (e) {
    logger.error({ err: String(e) }, "worker failed to start");
    send({ type: "fatal", error: e instanceof Error ? e.message : String(e) });
    return 1;
  }
  let outbound: OutboundService | null = null;
  if (runsOutbound) {
    try {
      // the queue runner (SMTP client, MTA-STS) on this worker's store: loaded in slot 0 only
      const { startOutbound } = await import("./outbound.ts");
      outbound = await startOutbound(config, logger, services.store);
    } catch (e) {
      logger.error({ err: String(e) }, "outbound queue runner failed to start");
      send({ type: "fatal", error: `outbound queue runner failed to start: ${String(e)}` });
      await services.close().catch(() => {});
      return 1;
    }
  }
  for (const a of services.addresses) logger.debug({ address: a.address }, `${a.protocol} listening`);
  send({ type: "listening", addresses: services.addresses });
  // what this worker loaded goes into the compile cache now, not only at exit (reexec.ts)
  flushCompileCache();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (orphaned = false) => {
      if (stopping) return;
      stopping = true;
      // clients hear the goodbye at once while the outbound runner finishes its pass (it uses
      // the services' store, so the store is closed after both). Orphaned (the primary died):
      // deliveries in flight are left at once, keeping their leases, which the next server's
      // runner releases as soon as this process is gone
      const runnerWait = orphaned ? 0 : config.server.shutdown_timeout;
      const r = await withTimeout(
        Promise.all([services.closeSessions(), outbound?.stop(runnerWait)]).then(() => services.close()),
        config.server.shutdown_timeout,
      ).catch(() => "error" as const);
      resolve(r === "timeout" || r === "error" ? 1 : 0);
    };
    process.on("message", (m: WorkerMessage) => {
      if (m && m.type === "shutdown") void stop();
    });
    // Ctrl-C reaches every process of the group; the primary coordinates, workers just close.
    onShutdownSignal(() => void stop());
    // primary gone (crashed): do not linger as an orphan
    process.on("disconnect", () => void stop(true));
  });
}

const MAX_CRASHES_PER_MINUTE = 10;

/**
 * Node options of the server's processes: the given ones, plus the V8 young-generation limit
 * (server.max_semi_space_mb) and the V8 platform thread count (server.v8_pool_size) unless given
 * explicitly (the primary's command line or NODE_OPTIONS, which the workers inherit).
 */
export function serverExecArgv(
  config: Pick<ResolvedConfig, "server">,
  execArgv: readonly string[],
  nodeOptions = process.env.NODE_OPTIONS ?? "",
): string[] {
  const out = [...execArgv];
  const semi = config.server.max_semi_space_mb;
  const flag = /(^|\s)--max[-_]semi[-_]space[-_]size\b/;
  if (semi > 0 && !out.some((a) => flag.test(a)) && !flag.test(nodeOptions))
    out.push(`--max-semi-space-size=${semi}`);
  // fewer V8 platform threads (concurrent GC marking, background compilation): each keeps its
  // own malloc arena and stack; one per process is enough next to the event loop
  const pool = config.server.v8_pool_size;
  const poolFlag = /(^|\s)--v8[-_]pool[-_]size\b/;
  if (pool > 0 && !out.some((a) => poolFlag.test(a)) && !poolFlag.test(nodeOptions))
    out.push(`--v8-pool-size=${pool}`);
  return out;
}

/**
 * Node options of the worker processes: serverExecArgv of the primary's (which already carries
 * them after reexec.ts). PK_PROF=<dir> adds a CPU profile per worker (benchmark analysis).
 */
export function workerExecArgv(
  config: Pick<ResolvedConfig, "server">,
  execArgv: readonly string[],
  nodeOptions = process.env.NODE_OPTIONS ?? "",
): string[] {
  const out = serverExecArgv(config, execArgv, nodeOptions);
  if (process.env.PK_PROF) out.push("--cpu-prof", `--cpu-prof-dir=${process.env.PK_PROF}`);
  return out;
}

/**
 * Environment additions of the worker processes: glibc's malloc arena limit
 * (server.malloc_arenas) unless MALLOC_ARENA_MAX is set already. glibc otherwise gives each
 * thread that allocates (V8 platform threads, the libuv pool, blob writers, SQLite) an arena of
 * its own, and each keeps the memory it freed.
 */
export function workerEnv(
  config: Pick<ResolvedConfig, "server">,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const n = config.server.malloc_arenas;
  return n > 0 && env.MALLOC_ARENA_MAX === undefined ? { MALLOC_ARENA_MAX: String(n) } : {};
}

export async function runPrimary(config: ResolvedConfig, logger: Logger, n: number): Promise<number> {
  // the store's one-time work (migrations) on a thread: the primary itself never opens the store
  await prepare(config, logger, { storeOnThread: true });
  if (reusesPorts(config)) {
    // the workers bind the fixed ports with SO_REUSEPORT, which never fails for a port another
    // server of this user holds the same way: bound here once without it first (net/port-check.ts)
    try {
      await checkPortsFree(fixedPortAddresses(config));
    } catch (e) {
      logger.error({ err: e instanceof Error ? e.message : String(e) }, "cannot listen; stopping");
      return 1;
    }
  }
  const hub = await startFeedHub(config.paths.feedSocket);
  // one daily backup (src/backup/schedule.ts), on a thread of the primary; the outbound queue
  // runner is the worker in slot 0's (runWorker)
  let backups: BackupSchedule | null = null;
  const seen = new Set<string>();
  const crashes: number[] = [];
  let stopping = false;
  let startedCount = 0;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  const ready = new Set<number>();
  /** ids of workers the watchdog killed: their exit is logged as a stall */
  const stalled = new Set<number>();
  const stallMs = config.server.worker_stall_s * 1000;
  const watchdog =
    stallMs > 0
      ? new Watchdog<Worker>({
          stallMs,
          onStall(w, silentMs) {
            // SIGKILL: a blocked event loop never runs a SIGTERM handler. The exit handler below
            // replaces the worker; the kernel closes its sockets, so its clients are not left hanging.
            stalled.add(w.id);
            logger.error(
              { worker: w.id, workerPid: w.process.pid, silentMs },
              `worker ${w.id} (pid ${w.process.pid}) stalled: no heartbeat for ${silentMs} ms; killing it`,
            );
            w.process.kill("SIGKILL");
          },
        })
      : null;
  watchdog?.start();

  const shutdown = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason: why }, "shutting down");
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          w.once("exit", () => resolve());
          try {
            w.send({ type: "shutdown" } satisfies WorkerMessage);
          } catch {
            w.process.kill("SIGTERM");
          }
        }),
    );
    const r = await withTimeout(Promise.all(exits), config.server.shutdown_timeout + 2000);
    if (r === "timeout") {
      for (const w of workers) if (!w.isDead()) w.process.kill("SIGKILL");
      code = code || 1;
    }
    watchdog?.stop();
    await backups?.stop();
    await hub.close();
    logger.info({}, "stopped");
    resolveDone(code);
  };

  // one count of connection limits and login failures for all workers (limits-ipc.ts)
  attachLimitsPrimary(cluster, new LimitsHub(throttleOptions(config)), logger);
  attachMetricsPrimary(cluster);
  cluster.setupPrimary({ execArgv: workerExecArgv(config, process.execArgv) });
  /** connections handed to each worker and not yet acknowledged (closed when it dies) */
  const handoffs = new Map<number, { drop(): number }>();
  /** worker id → slot (WORKER_SLOT_ENV); a replacement gets the slot of the worker it replaces */
  const slots = new Map<number, number>();
  const fork = (slot: number) => {
    const w = cluster.fork({ ...workerEnv(config), [WORKER_SLOT_ENV]: String(slot) });
    slots.set(w.id, slot);
    handoffs.set(w.id, trackHandoffs(w.process));
    w.on("message", (m: WorkerMessage) => {
      if (m.type === "heartbeat") {
        watchdog?.beat(w);
      } else if (m.type === "listening") {
        ready.add(w.id);
        watchdog?.watch(w);
        logger.info({ worker: w.id, workerPid: w.process.pid }, "worker ready");
        logAddresses(logger, m.addresses, seen);
        if (++startedCount === n) {
          logger.info({ workers: n, dataDir: config.data_dir }, "postkontor started");
          flushCompileCache();
        }
      } else if (m.type === "fatal") {
        logger.error({ worker: w.id, err: m.error }, "worker failed to start; stopping");
        void shutdown(1, "worker failed to start");
      }
    });
  };

  cluster.on("exit", (w, code, signal) => {
    watchdog?.forget(w);
    const wasStalled = stalled.delete(w.id);
    // its unacknowledged connections: closed, not left hanging in this process (trackHandoffs)
    const dropped = handoffs.get(w.id)?.drop() ?? 0;
    handoffs.delete(w.id);
    const slot = slots.get(w.id) ?? 0;
    slots.delete(w.id);
    if (stopping) return;
    const wasReady = ready.delete(w.id);
    logger.error(
      {
        worker: w.id,
        workerPid: w.process.pid,
        code,
        signal,
        ...(wasStalled ? { reason: "stalled" } : {}),
        ...(dropped ? { droppedConnections: dropped } : {}),
      },
      "worker exited unexpectedly",
    );
    if (!wasReady) {
      // died before listening (a "fatal" message may already have started the shutdown)
      void shutdown(1, "worker died during startup");
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length && now - crashes[0]! > 60_000) crashes.shift();
    if (crashes.length > MAX_CRASHES_PER_MINUTE) {
      void shutdown(1, "workers keep crashing");
      return;
    }
    setTimeout(() => {
      if (!stopping) fork(slot);
    }, 200).unref();
  });

  onShutdownSignal((signal) => void shutdown(0, signal));
  for (let i = 0; i < n; i++) fork(i);
  if (!stopping) backups = startBackupSchedule(config, logger);
  return done;
}
