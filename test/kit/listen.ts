/** Test listeners: always 127.0.0.1 port 0 (ephemeral), never a fixed or public port. */
import type net from "node:net";

/** listens on 127.0.0.1:0; resolves with the port chosen */
export function listenLoopback(server: net.Server, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port)),
  );
}

/** stops accepting and resolves once the server is closed */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
