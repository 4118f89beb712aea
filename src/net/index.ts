/**
 * Network layer: listener addresses and loopback checks (address.ts), plain and implicit-TLS
 * listeners (listener.ts), connection admission, STARTTLS swap and output backpressure shared by
 * the line protocols (line-session.ts), connection limits (conn-limits.ts), the TLS certificate
 * provider (tls.ts), PROXY protocol v2 (proxy.ts).
 *
 * Implementation notes
 * - A plain listener hands raw sockets to the protocol (which offers STARTTLS, RFC 9051 §6.2.1 /
 *   RFC 2595); an implicit-TLS listener (RFC 8314 §3.3) terminates TLS first and hands over the
 *   TLSSocket after the handshake.
 * - Implicit-TLS servers pick the certificate per handshake: SNICallback asks the provider (which
 *   reloads changed files), and on reload setSecureContext() updates the default context used by
 *   clients that send no SNI.
 * - In a cluster worker, listen() is shared through the primary (node:cluster: the primary accepts
 *   and hands each connection over), unless the listener binds with `reusePort` (a fixed port and
 *   `server.reuse_port`): then each worker has its own socket and the kernel spreads connections
 *   over them. The bound address reported is the real one (port 0 → the ephemeral port chosen).
 * - PROXY protocol v2 (proxy.ts): an enabled listener reads the header before anything else (before
 *   the TLS handshake too) and hands the protocol a socket whose remoteAddress is the client's.
 */
export { formatAddress, isLoopback, type ListenAddress, parseListenAddress, unmapIpv4 } from "./address.ts";
export { ipKey } from "./conn-limits.ts";
export { admitConnection, upgradeToTls, Waiters } from "./line-session.ts";
export { type Listener, type ListenerOptions, startListener } from "./listener.ts";
export {
  createTlsProvider,
  describeGenerated,
  ensureSelfSignedCert,
  generateSelfSigned,
  type TlsProvider,
} from "./tls.ts";

/** The logger every protocol server takes (pino's API; tests pass a collector). */
export interface ProtocolLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
  debug?(o: object, msg?: string): void;
}

/** Where STARTTLS/STLS gets the current certificate (the TlsProvider satisfies it). */
export interface StartTlsSource {
  context(): import("node:tls").SecureContext;
}
