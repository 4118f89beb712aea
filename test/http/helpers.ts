/**
 * HTTP test set-up: the real `serve` process (test/e2e/helpers.ts startE2E: domain example.test,
 * accounts a@ and b@) with its plain HTTP and HTTPS ports, and requests to it over loopback with
 * node:http(s) (to send any Host header, and to accept the self-signed certificate).
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { ServerOpts } from "../../bench/server.ts";
import { type E2E, startE2E } from "../e2e/helpers.ts";
import { proxyV2 } from "../kit/proxy.ts";

export { DOMAIN, PASS_A, USER_A, USER_B } from "../e2e/helpers.ts";

export interface HttpE2E extends E2E {
  httpPort: number;
  httpsPort: number;
}

async function portOf(e: E2E, protocol: string): Promise<number> {
  const l = await e.server.waitForLog(
    (l) => typeof l.msg === "string" && l.msg.startsWith(`${protocol} listening on `),
    20_000,
  );
  const msg = String(l.msg);
  const port = Number(msg.slice(msg.lastIndexOf(":") + 1).split(" ")[0]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in ${msg}`);
  return port;
}

export async function startHttpE2E(opts: ServerOpts = {}): Promise<HttpE2E> {
  const e = await startE2E(opts);
  try {
    return Object.assign(e, { httpPort: await portOf(e, "http"), httpsPort: await portOf(e, "https") });
  } catch (err) {
    await e.close();
    throw err;
  }
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request (plain or TLS) with any headers, the self-signed certificate accepted. */
export function request(
  port: number,
  o: {
    tls?: boolean;
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const opts = {
      host: "127.0.0.1",
      port,
      method: o.method ?? "GET",
      path: o.path,
      headers: o.headers ?? {},
      rejectUnauthorized: false,
      agent: false as const,
    };
    const req = (o.tls ? https : http).request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/**
 * A raw HTTP/1.1 request on a plain listener with proxy_protocol on, as if from `client` (a PROXY
 * v2 header first); resolves with the whole answer text (the request says Connection: close).
 */
export function proxiedRequest(
  port: number,
  client: string,
  path: string,
  host = "mail.example.test",
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(proxyV2(client));
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    s.on("error", reject);
  });
}

/** The status code and lower-cased header map of a raw HTTP answer. */
export function parseRaw(text: string): { status: number; headers: Map<string, string>; body: string } {
  const split = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
  const headers = new Map<string, string>();
  for (const l of lines)
    headers.set(l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim());
  return { status: Number(statusLine!.split(" ")[1]), headers, body: text.slice(split + 4) };
}
