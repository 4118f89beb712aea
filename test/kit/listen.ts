/** Test listeners: always 127.0.0.1 port 0 (ephemeral), never a fixed or public port. */
import net from "node:net";

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

/**
 * A port free on 127.0.0.1 right now, for a program that cannot listen on port 0 and report the
 * port (postgres, haproxy). Another process can take it before that program binds it: retry then.
 */
export async function freeLoopbackPort(): Promise<number> {
  const srv = net.createServer();
  const port = await listenLoopback(srv);
  await closeServer(srv);
  return port;
}

/**
 * A port below the ephemeral range (32768) free on 127.0.0.1 right now, for a test of what only
 * happens on a fixed port; like freeLoopbackPort, another process can take it before it is used.
 */
export async function freeFixedPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const srv = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (ok) {
      await closeServer(srv);
      return port;
    }
  }
  throw new Error("no free port between 20000 and 32000 after 50 tries");
}
