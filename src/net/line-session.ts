/**
 * Connection plumbing shared by the line protocols (IMAP, POP3; SMTP uses admitConnection):
 * admission under the per-IP connection limit, output backpressure, and the STARTTLS swap.
 *
 * Implementation notes
 * - admitConnection: the socket gets a no-op error listener first (a reset while the slot is
 *   asked for must not crash the process), then the protocol's `acquire` runs (per-IP slot and
 *   session registration, conn-limits.ts). Refused: the protocol's refusal line, then end; the
 *   socket is destroyed after `destroyAfterMs` whatever the peer does. A failure of `acquire`
 *   destroys the socket. A socket that went away meanwhile is not started.
 * - upgradeToTls (RFC 9051 §6.2.1 STARTTLS, RFC 2595 §4 STLS, RFC 3207 §4.2 lesson): the plain
 *   socket's listeners are removed, so bytes pipelined after the command never reach the
 *   session (command injection), and the TLS socket takes over the same TCP connection; reading
 *   resumes once the handshake is done. The caller discards its buffered input.
 * - Waiters: resolvers waiting for one event (drain, input); allocated only while someone waits,
 *   so an idle connection holds no array.
 */
import type { Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";
import { copyPeer } from "./proxy.ts";

function ignoreError(): void {}

export interface Admission {
  /** the refusal written before closing (e.g. `* BYE [UNAVAILABLE] …`) */
  refusal: string | Uint8Array;
  /** ms until a refused socket is destroyed even if the peer keeps it open */
  destroyAfterMs: number;
  /** takes the per-IP slot (and registers the session); false = limit reached */
  acquire(): Promise<boolean>;
  /** the connection may start (greeting) */
  start(): void;
  onRefused(): void;
  onFailed(err: unknown): void;
}

/** Admits a new connection under the connection limits, or refuses it (see the notes above). */
export function admitConnection(socket: Socket, a: Admission): void {
  socket.on("error", ignoreError);
  a.acquire().then(
    (ok) => {
      if (!ok) {
        socket.end(a.refusal);
        setTimeout(() => socket.destroy(), a.destroyAfterMs).unref();
        a.onRefused();
        return;
      }
      if (socket.destroyed) return;
      a.start();
    },
    (e) => {
      a.onFailed(e);
      socket.destroy();
    },
  );
}

/** Resolvers waiting for one kind of event; wake() releases all of them. */
export class Waiters {
  private list: Array<() => void> | null = null;

  wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      (this.list ??= []).push(resolve);
    });
  }

  wake(): void {
    const ws = this.list;
    if (!ws) return;
    this.list = null;
    for (const w of ws) w();
  }
}

/**
 * Writes with backpressure: resolves once the socket accepted the data, waiting for 'drain'
 * (through `drain`, which the session wakes from its drain listener and when it closes).
 */
export async function writeWithBackpressure(
  socket: Socket,
  data: string | Uint8Array,
  drain: Waiters,
  closed: () => boolean,
): Promise<void> {
  if (closed() || socket.destroyed) return;
  if (!socket.write(data) && !closed()) await drain.wait();
}

/**
 * STARTTLS/STLS: detaches the session from the plain socket (data, drain, error and close
 * listeners removed; later errors surface on the TLS socket) and returns the server-side TLS
 * socket over the same connection, which resumes reading after the handshake.
 */
export function upgradeToTls(plain: Socket, context: SecureContext): TLSSocket {
  plain.removeAllListeners("data");
  plain.removeAllListeners("drain");
  plain.removeAllListeners("error");
  plain.removeAllListeners("close");
  plain.on("error", ignoreError); // errors surface on the TLS socket; never crash on the raw one
  const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
  secure.on("secure", () => secure.resume());
  copyPeer(plain, secure); // behind a PROXY balancer: the client's address, not the balancer's
  return secure;
}
