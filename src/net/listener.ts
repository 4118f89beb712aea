/**
 * Plain and implicit-TLS listeners, the same for every protocol (IMAP, POP3, SMTP, and HTTP).
 * See index.ts for the implementation notes (SNI, certificate reload, cluster sharing).
 */
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { formatAddress, parseListenAddress } from "./address.ts";
import { applyPeer, copyPeer, type ProxyOptions, readProxyHeader } from "./proxy.ts";
import type { TlsProvider } from "./tls.ts";

export interface ListenerOptions {
  /** "host:port" */
  address: string;
  /** implicit TLS when set */
  tls: TlsProvider | null;
  /**
   * PROXY protocol v2 (proxy.ts): every connection must come from a trusted balancer and start
   * with the header; the protocol gets the socket with the client's address. Null/absent = off.
   */
  proxy?: ProxyOptions | null;
  /**
   * A cluster worker binds a fixed port itself with SO_REUSEPORT (the kernel spreads connections
   * over the workers' sockets) instead of sharing the primary's socket; port 0 is always shared.
   */
  reusePort?: boolean;
  onConnection(socket: Socket | TLSSocket): void;
  logger?: { warn(o: object, msg?: string): void; debug?(o: object, msg?: string): void };
}

export interface Listener {
  server: Server;
  /** actual bound address, "host:port" */
  bound: string;
  port: number;
  implicitTls: boolean;
  /** stops accepting; existing connections are the protocol's to close */
  close(): Promise<void>;
}

/** Starts a plain or implicit-TLS listener and resolves once it is bound. */
export async function startListener(o: ListenerOptions): Promise<Listener> {
  const { host, port } = parseListenAddress(o.address);
  let server: Server;
  let unsubscribe = () => {};
  if (o.tls) {
    const provider = o.tls;
    const tlsServer = createTlsServer({
      ...provider.serverOptions(),
      // RFC 6066 §3: the client's server_name picks the context; the provider reloads changed files.
      SNICallback: (_servername, cb) => {
        try {
          cb(null, provider.context());
        } catch (e) {
          cb(e as Error);
        }
      },
    });
    tlsServer.on("secureConnection", (s: TLSSocket) => {
      // behind a balancer the raw socket carries the client address (set before the handshake)
      if (o.proxy) copyPeer((s as TLSSocket & { _parent?: Socket })._parent, s);
      o.onConnection(s);
    });
    tlsServer.on("tlsClientError", (err, s) => {
      o.logger?.debug?.({ err: err.message, remoteAddress: s.remoteAddress }, "TLS handshake failed");
    });
    // Check for a renewed certificate before each handshake; non-SNI clients get it via setSecureContext.
    tlsServer.on("connection", () => provider.context());
    unsubscribe = provider.onChange(() => tlsServer.setSecureContext(provider.serverOptions()));
    server = tlsServer;
  } else {
    server = createNetServer((s) => o.onConnection(s));
  }
  if (o.proxy) {
    // The header precedes everything, the TLS handshake included: a plain server reads it and then
    // hands the socket to the protocol, or to the (not listening) TLS server for the handshake.
    const proxy = o.proxy;
    const inner = server;
    server = createNetServer((s) => {
      s.on("error", () => {});
      readProxyHeader(s, proxy).then(
        (peer) => {
          if (s.destroyed) return;
          applyPeer(s, peer);
          inner.emit("connection", s);
        },
        (err: Error) => {
          // never a greeting: the peer is not a balancer we trust, or it does not speak PROXY v2
          o.logger?.warn(
            { err: err.message, proxyAddress: s.remoteAddress, address: o.address },
            "connection refused",
          );
          s.destroy();
        },
      );
    });
  }
  server.on("error", (err) => o.logger?.warn({ err: err.message, address: o.address }, "listener error"));
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    // exclusive: this process's own socket, not one shared through the cluster primary
    const own = o.reusePort === true && port !== 0 ? { exclusive: true, reusePort: true } : {};
    server.listen({ host, port, ...own }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const addr = server.address();
  const boundPort = typeof addr === "object" && addr ? addr.port : port;
  const boundHost = typeof addr === "object" && addr ? addr.address : host;
  return {
    server,
    bound: formatAddress(boundHost, boundPort),
    port: boundPort,
    implicitTls: o.tls !== null,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        server.close(() => resolve());
      }),
  };
}
