/**
 * A TCP forwarder on 127.0.0.1 port 0 to a loopback target, whose open connections can be frozen:
 * bytes stop flowing both ways but the sockets stay open, as on a network partition. New
 * connections after freeze() flow normally. For tests of dead-connection detection (heartbeats).
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface TcpForwarder {
  port: number;
  /** stops every open connection's traffic, leaving the sockets open */
  freeze(): void;
  close(): Promise<void>;
}

export async function startTcpForwarder(targetPort: number): Promise<TcpForwarder> {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((inbound) => {
    const outbound = createConnection({ host: "127.0.0.1", port: targetPort });
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", end).on("close", end);
    outbound.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const a = server.address();
  return {
    port: typeof a === "object" && a ? a.port : 0,
    freeze() {
      for (const [i, o] of pairs) {
        i.unpipe(o);
        o.unpipe(i);
        i.pause();
        o.pause();
      }
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [i, o] of pairs) {
        i.destroy();
        o.destroy();
      }
      await closed;
    },
  };
}
