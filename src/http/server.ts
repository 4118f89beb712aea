/**
 * The HTTP service: one hono app behind node:http, fed the sockets of the plain and HTTPS
 * listeners the service registry binds (src/server/services.ts), so HTTPS uses the one TLS
 * provider (SNI, reload) and PROXY v2 like every other listener.
 *
 * Implementation notes
 * - The node:http server never listens itself: handleConnection emits `connection` with the
 *   accepted (already decrypted, for HTTPS) socket. Its connection tracking (request and header
 *   timeouts, closeIdleConnections) starts on the `listening` event, emitted once at creation.
 * - Middleware order (middleware.ts): access log, security headers, limits, redirect to HTTPS;
 *   then the routes: operations (ops.ts), discovery (discovery.ts), the webmail's login/session
 *   endpoints (webmail-session.ts), JMAP (jmap.ts, with its CORS; the session cookie as
 *   credentials) and the webmail app itself (webmail.ts, with its CSP).
 * - Shutdown (closeAll): idle keep-alive connections close at once; a request in progress gets
 *   `Connection: close` on its answer, and the socket closes after it; JMAP EventSource streams
 *   end (the shutdown signal).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Hono } from "hono";
import type { Authenticator } from "../auth/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { parseCidr } from "../net/proxy.ts";
import { nodeHttp } from "../net/without-fetch.ts";
import type { Logger } from "../server/log.ts";
import type { MetricsSource } from "../server/metrics-ipc.ts";
import type { Store } from "../store/types.ts";
import { advertisedHost, httpsPort } from "./advertised.ts";
import { mountDiscovery } from "./discovery.ts";
import { mountJmap } from "./jmap.ts";
import { ConcurrencyGate, type HttpLimits } from "./limits.ts";
import { accessLog, type Env, redirectToHttps, requestLimits, securityHeaders } from "./middleware.ts";
import { mountOps } from "./ops.ts";
import { mountWebmail } from "./webmail.ts";
import { mountWebmailSession } from "./webmail-session.ts";

export interface HttpServerOptions {
  config: ResolvedConfig;
  store: Store;
  auth: Authenticator;
  logger: Logger;
  metrics: MetricsSource;
}

export interface HttpService {
  readonly app: Hono<Env>;
  readonly server: Server;
  handleConnection(socket: Socket): void;
  closeAll(reason: string): Promise<void>;
}

export function httpLimits(config: ResolvedConfig): HttpLimits {
  const l = config.http.limits;
  return {
    maxBodySize: l.max_body_size,
    maxUploadSize: l.max_upload_size,
    requestsPerMinute: l.requests_per_minute,
    maxConcurrentRequests: l.max_concurrent_requests,
  };
}

type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * @hono/node-server's request listener, loaded at the first request: the module reads the global
 * `Headers` when imported, which makes Node load its internal fetch implementation (undici), so a
 * worker that has served no HTTP request yet holds neither (docs/benchmarks.md "Fixed memory").
 * The request waits, paused, until the listener is there.
 */
function lazyListener(
  fetch: Parameters<typeof import("@hono/node-server").getRequestListener>[0],
  logger: Logger,
) {
  let listener: NodeListener | null = null;
  let loading: Promise<NodeListener> | null = null;
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (listener) {
      listener(req, res);
      return;
    }
    loading ??= import("@hono/node-server").then((m) => {
      listener = m.getRequestListener(fetch);
      return listener;
    });
    loading.then(
      (l) => l(req, res),
      (err: unknown) => {
        logger.error({ err: String(err) }, "http request listener failed to load");
        res.statusCode = 500;
        res.end();
      },
    );
  };
}

export function createHttpService(o: HttpServerOptions): HttpService {
  const { config } = o;
  let closing = false;
  const shutdown = new AbortController();
  const app = new Hono<Env>();
  app.use(accessLog(o.logger));
  app.use(securityHeaders());
  app.use(async (c, next) => {
    await next();
    if (closing) c.res.headers.set("Connection", "close");
  });
  const limits = httpLimits(config);
  // JMAP checks its own request and upload sizes (RFC 8620 §3.6.1, §6.1) with JMAP's errors
  const jmapBody = Math.max(limits.maxBodySize, config.jmap.max_size_request);
  app.use(
    requestLimits(limits, new ConcurrencyGate(config.http.limits.max_concurrent_requests), (path) =>
      path.startsWith("/jmap/upload/")
        ? limits.maxUploadSize
        : path === "/jmap/api"
          ? jmapBody
          : limits.maxBodySize,
    ),
  );
  app.use(redirectToHttps({ hostname: advertisedHost(config) || "localhost", httpsPort: httpsPort(config) }));
  mountOps(app, {
    store: o.store,
    metrics: o.metrics,
    metricsNetworks: config.http.metrics_networks.map(parseCidr),
  });
  mountDiscovery(app, { config, store: o.store, auth: o.auth });
  if (config.webmail.enabled) mountWebmailSession(app, { config, store: o.store, auth: o.auth });
  mountJmap(app, {
    config,
    store: o.store,
    auth: o.auth,
    logger: o.logger.child({ protocol: "jmap" }),
    shutdown: shutdown.signal,
  });
  // the webmail app at / (its notFound serves the app for client-side routes)
  if (config.webmail.enabled) mountWebmail(app);
  else app.notFound((c) => c.text("Not found\n", 404));
  app.onError((err, c) => {
    o.logger.error({ err: err.stack ?? String(err), path: c.req.path.slice(0, 200) }, "http handler failed");
    return c.text("Internal server error\n", 500);
  });

  const server = nodeHttp.createServer(
    {
      requestTimeout: config.http.limits.request_timeout,
      headersTimeout: Math.min(config.http.limits.request_timeout, 60_000),
      keepAliveTimeout: config.http.limits.idle_timeout,
      // the body limits are ours; bound the header block the same as node's default
      maxHeaderSize: 16384,
    },
    lazyListener(app.fetch, o.logger),
  );
  // connection tracking (timeouts, closeIdleConnections) is started by `listening`; this server
  // is fed sockets instead of listening
  server.emit("listening");
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  return {
    app,
    server,
    handleConnection(socket) {
      socket.on("error", () => {});
      if (closing) {
        socket.destroy();
        return;
      }
      server.emit("connection", socket);
    },
    async closeAll() {
      closing = true;
      // EventSource streams end (their connections then close like any finished request)
      shutdown.abort();
      server.closeIdleConnections();
      // the streams just ended leave their connections idle a moment later: close those too
      await new Promise<void>((r) => setTimeout(r, 50));
      server.closeIdleConnections();
    },
  };
}
