/**
 * A check that listen addresses can be bound, made by a cluster primary before its workers bind
 * them with SO_REUSEPORT (docs/architecture.md "Process model"): sockets with SO_REUSEPORT of the
 * same user share a port silently, so a second server started on the same ports would split the
 * first one's connections instead of failing. A socket without it cannot share the port with
 * anyone: all addresses are bound at once that way (so overlapping addresses of one config clash
 * as they would in the workers), then released.
 */
import { createServer, type Server } from "node:net";
import { parseListenAddress } from "./address.ts";

/** Resolves when every address could be bound; rejects with the first failure (its `code`, e.g. EADDRINUSE). */
export async function checkPortsFree(addresses: readonly string[]): Promise<void> {
  const held: Server[] = [];
  try {
    for (const address of addresses) {
      const { host, port } = parseListenAddress(address);
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", (e: NodeJS.ErrnoException) => {
          const err = new Error(
            `cannot listen on ${address}: ${e.code ?? e.message}`,
          ) as NodeJS.ErrnoException;
          if (e.code) err.code = e.code;
          reject(err);
        });
        server.listen({ host, port, exclusive: true }, () => resolve());
      });
      held.push(server);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
