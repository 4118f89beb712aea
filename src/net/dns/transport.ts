/**
 * One DNS exchange with the configured servers: UDP first (RFC 1035 §4.2.1), short per-attempt
 * timeouts, the next server on each retry, TCP when the answer was truncated (RFC 7766 §5: TC=1 →
 * the same question over TCP) and as the last attempt after UDP attempts were lost. A response
 * counts only when its ID and question match ours (RFC 5452 §9.1); anything else on the socket is
 * ignored. Each UDP query uses its own socket, so the source port is chosen by the OS per query.
 */

import { randomInt } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect, isIPv6 } from "node:net";
import { type DnsResponse, decodeResponse, encodeQuery, normalizeName, RCODE, RR_TYPES } from "./wire.ts";

export interface DnsServer {
  host: string;
  port: number;
}

export interface TransportOptions {
  servers: DnsServer[];
  /** per attempt */
  timeoutMs: number;
  /** attempts in total, over UDP and TCP */
  attempts: number;
}

export function dnsError(code: string, name: string, rrtype: string, detail = ""): Error {
  // no stack trace: a negative answer is an expected outcome (every message's DMARC lookups meet
  // some), made per lookup even from the cache, and its stack would only name resolver internals
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const e = new Error(`${rrtype} ${name}: ${code}${detail ? ` (${detail})` : ""}`) as Error & {
    code: string;
    hostname: string;
  };
  Error.stackTraceLimit = limit;
  e.code = code;
  e.hostname = name;
  return e;
}

/** "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:53" → DnsServer */
export function parseServer(s: string): DnsServer {
  const t = s.trim();
  if (t.startsWith("[")) {
    const end = t.indexOf("]");
    if (end < 0) throw new Error(`invalid DNS server "${s}"`);
    const port = t.slice(end + 1).startsWith(":") ? Number(t.slice(end + 2)) : 53;
    return checkPort({ host: t.slice(1, end), port }, s);
  }
  if (isIPv6(t)) return { host: t, port: 53 };
  const colon = t.lastIndexOf(":");
  if (colon > 0) return checkPort({ host: t.slice(0, colon), port: Number(t.slice(colon + 1)) }, s);
  return { host: t, port: 53 };
}

function checkPort(d: DnsServer, s: string): DnsServer {
  if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) throw new Error(`invalid DNS server "${s}"`);
  return d;
}

function matches(res: DnsResponse, id: number, name: string, type: number): boolean {
  return res.id === id && res.question !== null && res.question.name === name && res.question.type === type;
}

class Lost extends Error {}

function udpExchange(
  server: DnsServer,
  query: Buffer,
  id: number,
  name: string,
  type: number,
  timeoutMs: number,
): Promise<DnsResponse> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(server.host) ? "udp6" : "udp4");
    let done = false;
    const finish = (err: Error | null, res?: DnsResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(res!);
    };
    const timer = setTimeout(() => finish(new Lost("timeout")), timeoutMs);
    sock.on("error", (e) => finish(new Lost(e.message)));
    sock.on("message", (msg, rinfo) => {
      if (rinfo.port !== server.port || rinfo.address !== server.host) return;
      let res: DnsResponse;
      try {
        res = decodeResponse(msg);
      } catch {
        return; // malformed: wait for a proper answer or the timeout
      }
      if (matches(res, id, name, type)) finish(null, res);
    });
    sock.send(query, server.port, server.host, (e) => {
      if (e) finish(new Lost(e.message));
    });
  });
}

function tcpExchange(
  server: DnsServer,
  query: Buffer,
  id: number,
  name: string,
  type: number,
  timeoutMs: number,
): Promise<DnsResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: server.host, port: server.port });
    let done = false;
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err: Error | null, res?: DnsResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const timer = setTimeout(() => finish(new Lost("timeout")), timeoutMs);
    sock.on("error", (e) => finish(new Lost(e.message)));
    sock.on("close", () => finish(new Lost("connection closed")));
    sock.on("connect", () => {
      // RFC 1035 §4.2.2: two-byte length prefix
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length, 0);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on("data", (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const need = buf.readUInt16BE(0);
      if (buf.length < 2 + need) return;
      let res: DnsResponse;
      try {
        res = decodeResponse(buf.subarray(2, 2 + need));
      } catch (e) {
        finish(new Lost((e as Error).message));
        return;
      }
      if (matches(res, id, name, type)) finish(null, res);
      else finish(new Lost("mismatched TCP answer"));
    });
  });
}

/** Ask the servers; returns the first usable response (any RCODE but SERVFAIL/REFUSED when retries remain). */
export async function exchange(o: TransportOptions, qname: string, rrtype: string): Promise<DnsResponse> {
  const name = normalizeName(qname);
  const type = RR_TYPES[rrtype];
  if (type === undefined) throw dnsError("ENOTIMP", qname, rrtype, "record type not supported");
  if (o.servers.length === 0) throw dnsError("ECONNREFUSED", qname, rrtype, "no DNS servers configured");
  const attempts = Math.max(1, o.attempts);
  let lost = 0;
  let last: DnsResponse | null = null;
  for (let i = 0; i < attempts; i++) {
    const server = o.servers[i % o.servers.length]!;
    const id = randomInt(0, 0x10000);
    const query = encodeQuery(id, name, rrtype);
    // the last attempt goes over TCP when UDP answers were lost (a loaded resolver or path drops UDP)
    const useTcp = attempts > 1 && i === attempts - 1 && lost > 0;
    try {
      let res = useTcp
        ? await tcpExchange(server, query, id, name, type, o.timeoutMs)
        : await udpExchange(server, query, id, name, type, o.timeoutMs);
      if (res.truncated && !useTcp) res = await tcpExchange(server, query, id, name, type, o.timeoutMs);
      if ((res.rcode === RCODE.SERVFAIL || res.rcode === RCODE.REFUSED) && i < attempts - 1) {
        last = res;
        continue;
      }
      return res;
    } catch (e) {
      if (!(e instanceof Lost)) throw e;
      lost++;
    }
  }
  if (last) return last;
  throw dnsError("ETIMEOUT", qname, rrtype, `no answer after ${attempts} attempts`);
}
