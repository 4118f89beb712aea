/**
 * Composition root: config → store → auth → TLS → protocol servers → listeners.
 *
 * Implementation notes
 * - `serve` with server.workers = 1 runs everything in one process (and still starts the change-feed
 *   hub, so `postkontor deliver` and admin commands in other processes reach the sessions).
 * - With workers = 0 (one per core) or > 1 the primary process runs the feed hub, generates the
 *   self-signed certificate and runs migrations once, then forks the workers (node:cluster). Each
 *   worker opens the store as a feed client, builds the protocol servers and listens; cluster shares
 *   the ports. Workers report their bound addresses; the primary logs each one once
 *   (`imap listening on 127.0.0.1:1143`, `pop3s listening on …`), so port-0 listeners can be
 *   discovered from the log.
 * - Workers start with `--max-semi-space-size=<server.max_semi_space_mb>` (workerExecArgv): V8's
 *   young generation would otherwise grow to tens of MiB per process under a burst of logins and
 *   stay, the main cost of idle connections. A single process (workers = 1) is not re-executed
 *   for it; NODE_OPTIONS sets it there.
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
 * - Only src/server and src/cli construct the concrete store (DESIGN.md §2).
 */
import cluster, { type Worker } from "node:cluster";
import type { Socket } from "node:net";
import { availableParallelism } from "node:os";
import { createAuthenticator } from "../auth/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { createImapServer, type ImapServer } from "../imap/server/index.ts";
import {
  createTlsProvider,
  describeGenerated,
  ensureSelfSignedCert,
  type Listener,
  startListener,
} from "../net/index.ts";
import { createPop3Server, type Pop3Server } from "../pop3/index.ts";
import { createSmtpServer, type SmtpMode, type SmtpServer } from "../smtp/index.ts";
import { startFeedHub } from "../store/index.ts";
import type { Store } from "../store/types.ts";
import {
  attachLimitsPrimary,
  createLimitsClient,
  type LimitsClient,
  LimitsHub,
  processChannel,
  throttleOptions,
} from "./limits-ipc.ts";
import { createLogger, type Logger } from "./log.ts";
import { type OutboundService, startOutbound } from "./outbound.ts";
import { checkHostname, secureDataDir } from "./preflight.ts";
import { openConfiguredStore } from "./store.ts";
import {
  type HeartbeatMessage,
  installStallHook,
  startHeartbeat,
  trackHandoffs,
  Watchdog,
} from "./watchdog.ts";

export { createLogger, type Logger } from "./log.ts";
export { openConfiguredStore } from "./store.ts";

export interface BoundAddress {
  protocol: string;
  address: string;
  tls: boolean;
}

export interface RunningServices {
  store: Store;
  imap: ImapServer | null;
  pop3: Pop3Server | null;
  smtp: SmtpServer | null;
  listeners: Listener[];
  addresses: BoundAddress[];
  /**
   * Stop listening and say goodbye to every session at once (IMAP `* BYE`, POP3 `-ERR`, SMTP 421),
   * then wait briefly for the peers to close. The store stays open.
   */
  closeSessions(reason?: string): Promise<void>;
  /** graceful: closeSessions, then close the store */
  close(reason?: string): Promise<void>;
}

/**
 * Builds and starts everything a serving process needs (a worker, or the single process).
 * `shared`: connection limits and login throttling counted for the whole server (a worker passes
 * the primary's, over IPC); absent = counted in this process.
 */
export async function startServices(
  config: ResolvedConfig,
  logger: Logger,
  shared?: LimitsClient,
): Promise<RunningServices> {
  const store = await openConfiguredStore(config, true, false, (fields, msg) => logger.info(fields, msg));
  const listeners: Listener[] = [];
  /** protocol name of each listener, by index ("imap" / "imaps" / "pop3" / "pop3s") */
  const protocols: string[] = [];
  const listen = async (protocol: string, l: Promise<Listener>) => {
    listeners.push(await l);
    protocols.push(protocol);
  };
  let imap: ImapServer | null = null;
  let pop3: Pop3Server | null = null;
  let smtp: SmtpServer | null = null;
  try {
    const auth = createAuthenticator(store, {
      cacheTtlMs: config.auth.cache_ttl,
      cacheMaxEntries: config.auth.cache_max_entries,
      failureDelayMs: config.auth.failure_delay,
      maxFailuresPerIp: config.auth.max_failures_per_ip,
      maxFailuresPerUser: config.auth.max_failures_per_user,
      failureWindowMs: config.auth.failure_window,
      lockoutMs: config.auth.lockout,
      maxUserDelayMs: config.auth.max_user_delay,
      throttle: shared?.throttle,
      logger,
    });
    const slots = shared?.slots;
    const tls = await createTlsProvider(config, config.data_dir, { logger });
    if (config.imap.enabled) {
      const l = config.imap.limits;
      const server = createImapServer({
        store,
        auth,
        tls,
        logger: logger.child({ protocol: "imap" }),
        hostname: config.hostname,
        limits: {
          maxLineLength: l.max_line_length,
          maxLiteralSize: l.max_literal_size,
          maxLiteralSizeUnauth: l.max_literal_size_unauth,
          maxBadCommands: l.max_bad_commands,
          idleTimeoutMs: l.idle_timeout,
          unauthTimeoutMs: l.unauth_timeout,
          maxConnectionsPerUser: l.max_connections_per_user,
          maxConnectionsPerIp: l.max_connections_per_ip,
        },
        allowPlaintextAuth: config.imap.allow_plaintext_auth,
        slots,
      });
      imap = server;
      for (const address of config.imap.listen) {
        await listen(
          "imap",
          startListener({
            address,
            tls: null,
            logger,
            onConnection: (s) => server.handleConnection(s as Socket, { implicitTls: false }),
          }),
        );
      }
      for (const address of config.imap.listen_tls) {
        await listen(
          "imaps",
          startListener({
            address,
            tls,
            logger,
            onConnection: (s) => server.handleConnection(s, { implicitTls: true }),
          }),
        );
      }
    }
    if (config.pop3.enabled) {
      const l = config.pop3.limits;
      const server = createPop3Server({
        store,
        auth,
        tls, // STLS (RFC 2595 §4) uses the same certificate as every other listener
        logger: logger.child({ protocol: "pop3" }),
        hostname: config.hostname,
        limits: {
          maxLineLength: l.max_line_length,
          maxBadCommands: l.max_bad_commands,
          idleTimeoutMs: l.idle_timeout, // RFC 1939 §3: ≥ 10 minutes, enforced by the schema
          maxConnectionsPerIp: l.max_connections_per_ip,
          // RFC 2449 §6.5: LOGIN-DELAY is in seconds; 0 = neither advertised nor enforced
          loginDelaySeconds: l.login_delay ? Math.ceil(l.login_delay / 1000) : undefined,
          expireDays: l.expire,
        },
        allowPlaintextAuth: config.pop3.allow_plaintext_auth,
        // maildrop locks: the store's locks port (shared by every worker, the CLI and, on a
        // shared database, every node)
        slots,
      });
      pop3 = server;
      for (const address of config.pop3.listen) {
        await listen(
          "pop3",
          startListener({
            address,
            tls: null,
            logger,
            onConnection: (s) => server.handleConnection(s as Socket, { implicitTls: false }),
          }),
        );
      }
      for (const address of config.pop3.listen_tls) {
        await listen(
          "pop3s",
          startListener({
            address,
            tls,
            logger,
            onConnection: (s) => server.handleConnection(s as Socket, { implicitTls: true }),
          }),
        );
      }
    }
    if (config.smtp.enabled) {
      const l = config.smtp.limits;
      const server = createSmtpServer({
        store,
        auth,
        tls, // STARTTLS (RFC 3207) with the same certificate as every other listener
        logger: logger.child({ protocol: "smtp" }),
        hostname: config.hostname,
        limits: {
          maxMessageSize: config.store.max_message_size,
          maxRecipients: l.max_recipients,
          messagesPerHour: l.messages_per_hour,
          recipientsPerHour: l.recipients_per_hour,
          domainMessagesPerHour: l.domain_messages_per_hour,
          domainRecipientsPerHour: l.domain_recipients_per_hour,
          maxQueued: l.max_queued,
          maxQueuedPerUser: l.max_queued_per_user,
          idleTimeoutMs: l.idle_timeout,
          maxConnectionsPerIp: l.max_connections_per_ip,
        },
        allowPlaintextAuth: config.smtp.allow_plaintext_auth,
        authn: { enabled: config.smtp.sender_authentication },
        disableReverseLookup: !config.smtp.reverse_lookup,
        slots,
      });
      smtp = server;
      const smtpListeners: Array<[string, SmtpMode, string[]]> = [
        ["smtp", "mx", config.smtp.listen],
        ["submission", "submission", config.smtp.submission],
        ["submissions", "submissions", config.smtp.submissions],
      ];
      for (const [protocol, mode, addresses] of smtpListeners) {
        for (const address of addresses) {
          await listen(
            protocol,
            startListener({
              address,
              tls: mode === "submissions" ? tls : null,
              logger,
              onConnection: (s) => server.handleConnection(s, { mode }),
            }),
          );
        }
      }
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    await store.close();
    throw e;
  }
  const addresses = listeners.map((l, i) => ({
    protocol: protocols[i] ?? (l.implicitTls ? "imaps" : "imap"),
    address: l.bound,
    tls: l.implicitTls,
  }));
  let closingSessions: Promise<void> | null = null;
  let closing: Promise<void> | null = null;
  const closeSessions = (reason = "Server shutting down") => {
    closingSessions ??= (async () => {
      // Stop accepting, but do not wait for it yet: net.Server.close() completes only when every
      // connection is gone, and the connections go only after closeAll below. (Awaiting it first
      // kept every connected client, IDLE or not, until server.shutdown_timeout ran out.)
      const stopped = Promise.all(listeners.map((l) => l.close()));
      // RFC 9051 §7.1.5 BYE, RFC 5321 §3.8 421, RFC 1939: -ERR and close. POP3 sessions end without
      // UPDATE (RFC 1939 §6), so nothing is deleted; a QUIT already in UPDATE finishes first.
      await Promise.all([imap?.closeAll(reason), pop3?.closeAll(reason), smtp?.closeAll(reason)]);
      // The goodbyes are written and the sockets ended; most peers close at once. One that keeps
      // its side open is cut when the process exits (the sessions' own timers destroy it too).
      await withTimeout(stopped, CLOSE_GRACE_MS);
    })();
    return closingSessions;
  };
  return {
    store,
    imap,
    pop3,
    smtp,
    listeners,
    addresses,
    closeSessions,
    close(reason = "Server shutting down") {
      closing ??= (async () => {
        await closeSessions(reason);
        await store.close();
      })();
      return closing;
    },
  };
}

/**
 * Work the primary does once before any worker starts: host name check, data directory (created
 * 0700, modes tightened: preflight.ts), migrations, certificate.
 */
async function prepare(config: ResolvedConfig, logger: Logger): Promise<void> {
  checkHostname(config, logger);
  secureDataDir(config, logger);
  if (!config.tls.cert && !config.tls.key) {
    const r = await ensureSelfSignedCert(config.paths.tlsDir, config.hostname);
    if (r.generated) logger.info({ certPath: r.certPath }, describeGenerated(r, config.hostname));
  }
  // runs migrations once; imports DKIM key files of older versions into the store
  const store = await openConfiguredStore(config, false, false, (fields, msg) => logger.info(fields, msg));
  await store.close();
}

/** after the goodbyes: how long shutdown waits for peers to close their side of the connection */
const CLOSE_GRACE_MS = 1000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve("timeout"), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** IPC between the primary and its workers; every message has a `type`. */
type WorkerMessage =
  | { type: "listening"; addresses: BoundAddress[] }
  | { type: "fatal"; error: string }
  | { type: "shutdown" }
  | HeartbeatMessage;

/** Number of worker processes for the config: 0 = one per core. */
export function workerCount(config: ResolvedConfig): number {
  return config.server.workers === 0 ? availableParallelism() : config.server.workers;
}

/**
 * `postkontor serve`. Resolves when the server has stopped; the caller exits with the returned code.
 * In a cluster worker it runs the worker part (cluster re-runs the same command line).
 */
export async function serve(config: ResolvedConfig): Promise<number> {
  if (cluster.isWorker) return runWorker(config);
  const logger = createLogger(config);
  const n = workerCount(config);
  if (n <= 1) return runSingle(config, logger);
  return runPrimary(config, logger, n);
}

function logAddresses(logger: Logger, addresses: BoundAddress[], seen: Set<string>): void {
  for (const a of addresses) {
    const key = `${a.protocol} ${a.address}`;
    if (seen.has(key)) continue;
    seen.add(key);
    logger.info(
      { protocol: a.protocol, address: a.address, tls: a.tls },
      `${a.protocol} listening on ${a.address}`,
    );
  }
}

function onShutdownSignal(handler: (signal: string) => void): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => handler(sig));
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
    services = await startServices(config, logger);
  } catch (e) {
    await hub.close();
    throw e;
  }
  logAddresses(logger, services.addresses, new Set());
  // outbound queue runner (src/smtp/queue): in this process, on the services' store
  const outbound = await startOutbound(config, logger, services.store);
  return new Promise<number>((resolve) => {
    let stopping = false;
    onSignal = async (signal) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      // clients hear the goodbye at once, while the outbound runner finishes its pass (it uses
      // the services' store, so the store is closed after both)
      const r = await withTimeout(
        Promise.all([services.closeSessions(), outbound.stop(config.server.shutdown_timeout)]).then(() =>
          services.close(),
        ),
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

async function runWorker(config: ResolvedConfig): Promise<number> {
  const logger = createLogger(config, { worker: cluster.worker?.id });
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
    services = await startServices(config, logger, shared);
  } catch (e) {
    logger.error({ err: String(e) }, "worker failed to start");
    send({ type: "fatal", error: e instanceof Error ? e.message : String(e) });
    return 1;
  }
  for (const a of services.addresses) logger.debug({ address: a.address }, `${a.protocol} listening`);
  send({ type: "listening", addresses: services.addresses });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      const r = await withTimeout(services.close(), config.server.shutdown_timeout).catch(
        () => "error" as const,
      );
      resolve(r === "timeout" || r === "error" ? 1 : 0);
    };
    process.on("message", (m: WorkerMessage) => {
      if (m && m.type === "shutdown") void stop();
    });
    // Ctrl-C reaches every process of the group; the primary coordinates, workers just close.
    onShutdownSignal(() => void stop());
    // primary gone (crashed): do not linger as an orphan
    process.on("disconnect", () => void stop());
  });
}

const MAX_CRASHES_PER_MINUTE = 10;

/**
 * Node options of the worker processes: the primary's, plus the V8 young-generation limit
 * (server.max_semi_space_mb) unless one was given explicitly (the primary's command line or
 * NODE_OPTIONS, which the workers inherit). PK_PROF=<dir> adds a CPU profile per worker
 * (benchmark analysis).
 */
export function workerExecArgv(
  config: Pick<ResolvedConfig, "server">,
  execArgv: readonly string[],
  nodeOptions = process.env.NODE_OPTIONS ?? "",
): string[] {
  const out = [...execArgv];
  const semi = config.server.max_semi_space_mb;
  const flag = /(^|\s)--max[-_]semi[-_]space[-_]size\b/;
  if (semi > 0 && !out.some((a) => flag.test(a)) && !flag.test(nodeOptions))
    out.push(`--max-semi-space-size=${semi}`);
  if (process.env.PK_PROF) out.push("--cpu-prof", `--cpu-prof-dir=${process.env.PK_PROF}`);
  return out;
}

async function runPrimary(config: ResolvedConfig, logger: Logger, n: number): Promise<number> {
  await prepare(config, logger);
  const hub = await startFeedHub(config.paths.feedSocket);
  // exactly one outbound queue runner per server: the primary's (src/smtp/queue)
  let outbound: OutboundService | null = null;
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
    await outbound?.stop(config.server.shutdown_timeout);
    await hub.close();
    logger.info({}, "stopped");
    resolveDone(code);
  };

  // one count of connection limits and login failures for all workers (limits-ipc.ts)
  attachLimitsPrimary(cluster, new LimitsHub(throttleOptions(config)), logger);
  cluster.setupPrimary({ execArgv: workerExecArgv(config, process.execArgv) });
  /** connections handed to each worker and not yet acknowledged (closed when it dies) */
  const handoffs = new Map<number, { drop(): number }>();
  const fork = () => {
    const w = cluster.fork();
    handoffs.set(w.id, trackHandoffs(w.process));
    w.on("message", (m: WorkerMessage) => {
      if (m.type === "heartbeat") {
        watchdog?.beat(w);
      } else if (m.type === "listening") {
        ready.add(w.id);
        watchdog?.watch(w);
        logger.info({ worker: w.id, workerPid: w.process.pid }, "worker ready");
        logAddresses(logger, m.addresses, seen);
        if (++startedCount === n) logger.info({ workers: n, dataDir: config.data_dir }, "postkontor started");
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
      if (!stopping) fork();
    }, 200).unref();
  });

  onShutdownSignal((signal) => void shutdown(0, signal));
  for (let i = 0; i < n; i++) fork();
  try {
    outbound = await startOutbound(config, logger);
  } catch (e) {
    logger.error({ err: String(e) }, "outbound queue runner failed to start");
    void shutdown(1, "outbound queue runner failed to start");
  }
  return done;
}
