/**
 * Composition root: config → store → auth → TLS → protocol servers → listeners.
 *
 * Implementation notes
 * - `serve` with server.workers = 1 runs everything in one process (and still starts the change-feed
 *   hub, so `postkontor deliver` and admin commands in other processes reach the sessions).
 * - With workers = 0 (one per core) or > 1 the primary process runs the feed hub, generates the
 *   self-signed certificate and runs migrations once (on a short-lived thread: the primary keeps
 *   no store), then forks the workers (node:cluster). Each worker opens the store as a feed
 *   client, builds the protocol servers and listens (the one in slot 0 also runs the outbound
 *   queue runner). Fixed ports are bound by every worker itself (SO_REUSEPORT, `server.reuse_port`,
 *   after the primary checked them free: listen-specs.ts, net/port-check.ts); port 0 and
 *   `reuse_port = false` share the primary's socket (cluster round-robin). Workers report their bound addresses; the primary logs each one once
 *   (`imap listening on 127.0.0.1:1143`, `pop3s listening on …`), so port-0 listeners can be
 *   discovered from the log.
 * - Workers start with `--max-semi-space-size=<server.max_semi_space_mb>` (workerExecArgv): V8's
 *   young generation would otherwise grow to tens of MiB per process under a burst of logins and
 *   stay, the main cost of idle connections. The primary re-executes itself once with the same
 *   options, MALLOC_ARENA_MAX and Node's compile cache (reexec.ts) before it loads anything else.
 *   A single process (workers = 1) is not re-executed; NODE_OPTIONS sets them there.
 * - A crashed worker is replaced (bounded: more than 10 crashes in a minute stop the server). A
 *   worker that fails during startup (e.g. EADDRINUSE, bad certificate) stops the whole server
 *   with exit 1.
 * - Stalled workers (watchdog.ts, server.worker_stall_s): each worker sends the primary a
 *   `heartbeat` IPC message from a timer; a ready worker silent for longer than the limit has a
 *   blocked event loop and is logged (error), killed with SIGKILL (it would never run a SIGTERM
 *   handler) and replaced like a crashed one, counting towards the crash limit. Its sockets close
 *   with the process, so its clients see the connection drop; connections the primary had handed
 *   to a dying worker that it never acknowledged are closed by the primary (trackHandoffs: Node
 *   would keep them open for ever). Primary ↔ worker IPC messages are the typed `WorkerMessage`
 *   union (every message has a `type`).
 * - SIGTERM/SIGINT: stop accepting and say goodbye to every session at once (IMAP `* BYE`, IDLE
 *   included; POP3 `-ERR`; SMTP `421 4.3.2`), give the peers a moment (CLOSE_GRACE_MS) to close,
 *   close the store, exit 0. Listener.close() resolves only once every connection is gone, so it
 *   is awaited after the goodbyes, never before. Workers still running after
 *   server.shutdown_timeout are killed. `npm start` is `exec node …` so that the signal npm
 *   forwards to its script shell reaches the server (dash would otherwise die alone and leave the
 *   server running as an orphan).
 * - Connection limits and login throttling hold for the whole server: the primary keeps the
 *   counts (limits-ipc.ts LimitsHub) and every worker asks it over cluster IPC; a single process
 *   counts in itself. docs/architecture.md "Limits" says why.
 * - Layout: services.ts is the service registry (every listener: IMAP, POP3, SMTP, HTTP) and
 *   startServices; cluster.ts the primary and its workers; process.ts what both modes share.
 * - Only src/server and src/cli construct the concrete store (docs/architecture.md, import rules).
 */

import cluster from "node:cluster";
import { startBackupSchedule } from "../backup/schedule.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { startFeedHub } from "../store/feed/hub.ts";
import { runPrimary, runWorker, workerCount } from "./cluster.ts";
import { createLogger, type Logger } from "./log.ts";
import { logAddresses, onShutdownSignal, prepare, withTimeout } from "./process.ts";
import { reexecPrimary } from "./reexec.ts";
import type { RunningServices } from "./services.ts";

export { workerCount, workerEnv, workerExecArgv } from "./cluster.ts";
export { createLogger, type Logger } from "./log.ts";
// types only: the services (every protocol) load in the processes that serve, not in the primary
export type { BoundAddress, RunningServices, ServiceDefinition } from "./services.ts";

/**
 * `postkontor serve`. Resolves when the server has stopped; the caller exits with the returned code.
 * In a cluster worker it runs the worker part (cluster re-runs the same command line).
 */
export async function serve(config: ResolvedConfig): Promise<number> {
  if (cluster.isWorker) return runWorker(config);
  const n = workerCount(config);
  // the primary takes its workers' Node options and the compile cache (reexec.ts); returns if done
  if (n > 1) reexecPrimary(config);
  const logger = createLogger(config);
  if (n <= 1) return runSingle(config, logger);
  return runPrimary(config, logger, n);
}

async function runSingle(config: ResolvedConfig, logger: Logger): Promise<number> {
  // Signal handlers first: a signal is delivered at once, not through the event loop, so a
  // SIGTERM sent in reaction to a "listening" or "started" log line must find a handler. One
  // that arrives during startup is kept and acted on as soon as the services are up.
  let early: string | null = null;
  let onSignal: ((signal: string) => void) | null = null;
  onShutdownSignal((signal) => {
    if (onSignal) onSignal(signal);
    else early ??= signal;
  });
  await prepare(config, logger);
  const hub = await startFeedHub(config.paths.feedSocket);
  let services: RunningServices;
  try {
    const { startServices } = await import("./services.ts");
    services = await startServices(config, logger);
  } catch (e) {
    await hub.close();
    throw e;
  }
  logAddresses(logger, services.addresses, new Set());
  // outbound queue runner (src/smtp/queue): in this process, on the services' store
  const { startOutbound } = await import("./outbound.ts");
  const outbound = await startOutbound(config, logger, services.store);
  // the daily backup (src/backup/schedule.ts): one per server, here as in a cluster's primary
  const backups = startBackupSchedule(config, logger);
  return new Promise<number>((resolve) => {
    let stopping = false;
    onSignal = async (signal) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      // clients hear the goodbye at once, while the outbound runner finishes its pass (it uses
      // the services' store, so the store is closed after both)
      const r = await withTimeout(
        Promise.all([
          services.closeSessions(),
          outbound.stop(config.server.shutdown_timeout),
          backups.stop(),
        ]).then(() => services.close()),
        config.server.shutdown_timeout,
      ).catch((e) => {
        logger.error({ err: String(e) }, "error during shutdown");
        return "error" as const;
      });
      await hub.close();
      logger.info({}, "stopped");
      resolve(r === "timeout" || r === "error" ? 1 : 0);
    };
    logger.info({ workers: 1, dataDir: config.data_dir }, "postkontor started");
    if (early) onSignal(early);
  });
}
