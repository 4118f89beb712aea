/**
 * The service registry: every listening protocol (IMAP, POP3, SMTP, HTTP) is one entry, and
 * startServices builds and listens for each enabled one the same way.
 *
 * Implementation notes
 * - An entry names its listeners from the config (listen-specs.ts: {protocol, addresses, implicit
 *   TLS or not, and a per-listener `mode` the service understands, e.g. SMTP's mx / submission /
 *   submissions}),
 *   creates its server from the shared dependencies (store, authenticator, the one TLS provider,
 *   logger, connection slots) and hands each accepted socket to it. Implicit-TLS listeners get
 *   the TLS provider (net/listener.ts); plain ones hand over raw sockets (STARTTLS is the
 *   service's business).
 * - The HTTP service (src/http/server.ts) registers the same way: plain HTTP and HTTPS listeners,
 *   the same TLS provider, and a server whose handleConnection feeds the socket to node:http
 *   (`server.emit("connection", socket)`); its goodbye closes idle keep-alive connections.
 * - Every accepted connection counts towards `postkontor_connections_total{protocol}` and every
 *   password check towards `postkontor_logins_total{protocol,result}` (src/net/metrics.ts): both
 *   are counted here, once for every service.
 * - Listeners start in registry order, one at a time; a failure closes the ones already bound
 *   and the store. The bound addresses are reported in that order (`<protocol> listening on …`).
 * - Shutdown (closeSessions): stop accepting, then every service says goodbye at once (IMAP
 *   `* BYE`, POP3 `-ERR`, SMTP 421), then wait at most CLOSE_GRACE_MS for the peers to close.
 */

import cluster from "node:cluster";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { type Authenticator, createAuthenticator } from "../auth/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { createHttpService } from "../http/server.ts";
import { createImapServer } from "../imap/server/index.ts";
import type { ConnectionSlots } from "../net/conn-limits.ts";
import { createTlsProvider, type Listener, startListener, type TlsProvider } from "../net/index.ts";
import { count } from "../net/metrics.ts";
import { createPop3Server } from "../pop3/index.ts";
import { createSmtpServer } from "../smtp/index.ts";
import { createResolver } from "../smtp/queue/resolver.ts";
import type { Store } from "../store/types.ts";
import type { LimitsClient } from "./limits-ipc.ts";
import { type ListenerSpec, PROTOCOL_LISTENERS, reusesPorts } from "./listen-specs.ts";
import type { Logger } from "./log.ts";
import { localMetrics, type MetricsSource } from "./metrics-ipc.ts";
import { withTimeout } from "./process.ts";
import { openSharedThrottle } from "./shared-throttle.ts";
import { openConfiguredStore } from "./store.ts";

export { withTimeout };

/** What every service is built from. */
export interface ServiceDeps {
  config: ResolvedConfig;
  store: Store;
  auth: Authenticator;
  /** the one certificate provider: implicit TLS, STARTTLS/STLS, and HTTPS */
  tls: TlsProvider;
  logger: Logger;
  /** connection limits counted for the whole server; absent = in this process */
  slots?: ConnectionSlots;
  /** the counters of the whole server for /metrics (a worker asks the primary) */
  metrics: MetricsSource;
}

export interface ServiceDefinition<S, M> {
  name: string;
  enabled(config: ResolvedConfig): boolean;
  listeners(config: ResolvedConfig): ListenerSpec<M>[];
  createServer(deps: ServiceDeps): S;
  handleConnection(server: S, socket: Socket | TLSSocket, mode: M, spec: ListenerSpec<M>): void;
  /** goodbye to every session (shutdown); resolves when they are told and closing */
  closeAll(server: S, reason: string): Promise<void>;
}

/** A registry entry with its types erased (the registry holds services of different types). */
export interface RegisteredService {
  readonly name: string;
  enabled(config: ResolvedConfig): boolean;
  start(deps: ServiceDeps): StartedService;
}

export interface StartedService {
  readonly name: string;
  readonly server: unknown;
  listeners: Array<{ spec: ListenerSpec<unknown>; onConnection(socket: Socket | TLSSocket): void }>;
  closeAll(reason: string): Promise<void>;
}

export function defineService<S, M>(d: ServiceDefinition<S, M>): RegisteredService {
  return {
    name: d.name,
    enabled: (config) => d.enabled(config),
    start(deps) {
      const server = d.createServer(deps);
      return {
        name: d.name,
        server,
        listeners: d.listeners(deps.config).map((spec) => ({
          spec: spec as ListenerSpec<unknown>,
          onConnection: (socket: Socket | TLSSocket) => d.handleConnection(server, socket, spec.mode, spec),
        })),
        closeAll: (reason) => d.closeAll(server, reason),
      };
    },
  };
}

export const imapService = defineService({
  name: "imap",
  ...PROTOCOL_LISTENERS.imap,
  createServer({ config, store, auth, tls, logger, slots }) {
    const l = config.imap.limits;
    return createImapServer({
      store,
      auth,
      tls,
      logger: logger.child({ protocol: "imap" }),
      hostname: config.hostname,
      urlHosts: config.url_hosts,
      limits: {
        maxLineLength: l.max_line_length,
        maxLiteralSize: l.max_literal_size,
        maxLiteralSizeUnauth: l.max_literal_size_unauth,
        maxBadCommands: l.max_bad_commands,
        idleTimeoutMs: l.idle_timeout,
        unauthTimeoutMs: l.unauth_timeout,
        maxConnectionsPerUser: l.max_connections_per_user,
        maxConnectionsPerIp: l.max_connections_per_ip,
        maxMetadataSize: l.max_metadata_size,
        maxMetadataEntries: l.max_metadata_entries,
        maxNotifyQueue: l.max_notify_queue,
        maxSearchContexts: l.max_search_contexts,
        maxUrls: l.max_urls,
      },
      allowPlaintextAuth: config.imap.allow_plaintext_auth,
      compress: config.imap.compress,
      slots,
    });
  },
  handleConnection: (server, socket, _mode, spec) =>
    server.handleConnection(socket as Socket, { implicitTls: spec.implicitTls }),
  closeAll: (server, reason) => server.closeAll(reason),
});

export const pop3Service = defineService({
  name: "pop3",
  ...PROTOCOL_LISTENERS.pop3,
  createServer({ config, store, auth, tls, logger, slots }) {
    const l = config.pop3.limits;
    return createPop3Server({
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
  },
  handleConnection: (server, socket, _mode, spec) =>
    server.handleConnection(socket as Socket, { implicitTls: spec.implicitTls }),
  closeAll: (server, reason) => server.closeAll(reason),
});

export const smtpService = defineService({
  name: "smtp",
  ...PROTOCOL_LISTENERS.smtp,
  createServer({ config, store, auth, tls, logger, slots }) {
    const l = config.smtp.limits;
    const dns = createResolver(config.outbound.resolver, config.dns);
    return createSmtpServer({
      store,
      auth,
      tls, // STARTTLS (RFC 3207) with the same certificate as every other listener
      logger: logger.child({ protocol: "smtp" }),
      hostname: config.hostname,
      urlHosts: config.url_hosts,
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
      authn: {
        enabled: config.smtp.sender_authentication,
        // the process's own resolver (src/net/dns): cache, coalescing, bounded queries
        resolver: dns,
        budgetMs: config.smtp.sender_authentication_budget,
      },
      disableReverseLookup: !config.smtp.reverse_lookup,
      reverseResolver: dns,
      vacationReplyIntervalMs: config.smtp.vacation_reply_interval,
      greetingDelayMs: config.smtp.greeting_delay,
      slots,
    });
  },
  handleConnection: (server, socket, mode) => server.handleConnection(socket, { mode }),
  closeAll: (server, reason) => server.closeAll(reason),
});

export const httpService = defineService({
  name: "http",
  ...PROTOCOL_LISTENERS.http,
  createServer: ({ config, store, auth, logger, metrics }) =>
    createHttpService({ config, store, auth, logger: logger.child({ protocol: "http" }), metrics }),
  handleConnection: (server, socket) => server.handleConnection(socket),
  closeAll: (server, reason) => server.closeAll(reason),
});

/** Every listening service, in start (and log) order. */
export const SERVICES: readonly RegisteredService[] = [imapService, pop3Service, smtpService, httpService];

/** The authenticator with every password check counted (ok / failed, by protocol). */
function countedAuth(auth: Authenticator): Authenticator {
  return {
    async verifyPassword(username, password, ctx) {
      const account = await auth.verifyPassword(username, password, ctx);
      count("postkontor_logins_total", { protocol: ctx.protocol, result: account ? "ok" : "failed" });
      return account;
    },
  };
}

export interface BoundAddress {
  protocol: string;
  address: string;
  tls: boolean;
}

export interface RunningServices {
  store: Store;
  services: StartedService[];
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

/** after the goodbyes: how long shutdown waits for peers to close their side of the connection */
const CLOSE_GRACE_MS = 1000;

/**
 * Builds and starts everything a serving process needs (a worker, or the single process).
 * `shared`: connection limits and login throttling counted for the whole server (a worker passes
 * the primary's, over IPC); absent = counted in this process.
 */
export async function startServices(
  config: ResolvedConfig,
  logger: Logger,
  shared?: LimitsClient & { metrics?: MetricsSource },
  registry: readonly RegisteredService[] = SERVICES,
): Promise<RunningServices> {
  const store = await openConfiguredStore(config, true, false, (fields, msg) => logger.info(fields, msg));
  const listeners: Listener[] = [];
  const addresses: BoundAddress[] = [];
  const services: StartedService[] = [];
  // PostgreSQL: login failures counted in the database, for every node (shared-throttle.ts)
  const dbThrottle = await openSharedThrottle(config, logger);
  try {
    const auth = countedAuth(
      createAuthenticator(store, {
        cacheTtlMs: config.auth.cache_ttl,
        cacheMaxEntries: config.auth.cache_max_entries,
        failureDelayMs: config.auth.failure_delay,
        maxFailuresPerIp: config.auth.max_failures_per_ip,
        maxFailuresPerUser: config.auth.max_failures_per_user,
        failureWindowMs: config.auth.failure_window,
        lockoutMs: config.auth.lockout,
        maxUserDelayMs: config.auth.max_user_delay,
        throttle: dbThrottle?.throttle ?? shared?.throttle,
        logger,
      }),
    );
    const tls = await createTlsProvider(config, config.data_dir, { logger });
    const deps: ServiceDeps = {
      config,
      store,
      auth,
      tls,
      logger,
      slots: shared?.slots,
      metrics: shared?.metrics ?? localMetrics,
    };
    const reusePort = cluster.isWorker && reusesPorts(config);
    for (const entry of registry) {
      if (!entry.enabled(config)) continue;
      const service = entry.start(deps);
      services.push(service);
      for (const { spec, onConnection } of service.listeners) {
        for (const address of spec.addresses) {
          const l = await startListener({
            address,
            reusePort,
            tls: spec.implicitTls ? tls : null,
            proxy: spec.proxy ?? null,
            logger,
            onConnection: (socket) => {
              count("postkontor_connections_total", { protocol: spec.protocol });
              onConnection(socket);
            },
          });
          listeners.push(l);
          addresses.push({ protocol: spec.protocol, address: l.bound, tls: l.implicitTls });
        }
      }
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    await store.close();
    await dbThrottle?.close();
    throw e;
  }
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
      await Promise.all(services.map((s) => s.closeAll(reason)));
      // The goodbyes are written and the sockets ended; most peers close at once. One that keeps
      // its side open is cut when the process exits (the sessions' own timers destroy it too).
      await withTimeout(stopped, CLOSE_GRACE_MS);
    })();
    return closingSessions;
  };
  return {
    store,
    services,
    listeners,
    addresses,
    closeSessions,
    close(reason = "Server shutting down") {
      closing ??= (async () => {
        await closeSessions(reason);
        await store.close();
        await dbThrottle?.close();
      })();
      return closing;
    },
  };
}
