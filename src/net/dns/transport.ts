/**
 * One DNS exchange with the configured servers: UDP first (RFC 1035 §4.2.1), TCP when the answer
 * was truncated (RFC 7766 §5: TC=1 → the same question over TCP) and as the last attempt after UDP
 * attempts went unanswered. A response counts only when its ID and question match ours
 * (RFC 5452 §9.1); anything else on the socket is ignored. Each UDP query uses its own socket, so
 * the source port is chosen by the OS per query.
 *
 * Retries are timed by each server's measured round trip (RFC 6298's estimator, as recursive
 * resolvers do for their upstreams): once a server has answered, an unanswered query is sent again
 * after a few round trips (at least MIN_RETRY_MS), doubling for each further attempt, never later
 * than `timeoutMs`; a server that has not answered yet gets the full `timeoutMs`. Earlier attempts
 * stay open: whichever answer comes first is taken, so a slow answer is not thrown away by the
 * retry that overtook it. The exchange gives up `timeoutMs` after its last attempt.
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
  /** round trips measured per server, kept by the caller across exchanges (none: each exchange starts afresh) */
  rtt?: Map<string, RoundTrip>;
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

type Outcome = { res: DnsResponse } | { lost: string };

/** Send one query over UDP; `done` gets the first matching response or a socket error. Returns a cancel. */
function udpQuery(
  server: DnsServer,
  query: Buffer,
  id: number,
  name: string,
  type: number,
  done: (o: Outcome) => void,
): () => void {
  const sock = createSocket(isIPv6(server.host) ? "udp6" : "udp4");
  let open = true;
  const close = (): void => {
    if (!open) return;
    open = false;
    sock.close();
  };
  const finish = (o: Outcome): void => {
    if (!open) return;
    close();
    done(o);
  };
  sock.on("error", (e) => finish({ lost: e.message }));
  sock.on("message", (msg, rinfo) => {
    if (rinfo.port !== server.port || rinfo.address !== server.host) return;
    let res: DnsResponse;
    try {
      res = decodeResponse(msg);
    } catch {
      return; // malformed: wait for a proper answer or the exchange's end
    }
    if (matches(res, id, name, type)) finish({ res });
  });
  sock.send(query, server.port, server.host, (e) => {
    if (e) finish({ lost: e.message });
  });
  return close;
}

/** Send one query over TCP (RFC 1035 §4.2.2 length prefix). Returns a cancel. */
function tcpQuery(
  server: DnsServer,
  query: Buffer,
  id: number,
  name: string,
  type: number,
  done: (o: Outcome) => void,
): () => void {
  const sock = connect({ host: server.host, port: server.port });
  let open = true;
  let buf: Buffer = Buffer.alloc(0);
  const close = (): void => {
    if (!open) return;
    open = false;
    sock.destroy();
  };
  const finish = (o: Outcome): void => {
    if (!open) return;
    close();
    done(o);
  };
  sock.on("error", (e) => finish({ lost: e.message }));
  sock.on("close", () => finish({ lost: "connection closed" }));
  sock.on("connect", () => {
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
      finish({ lost: (e as Error).message });
      return;
    }
    finish(matches(res, id, name, type) ? { res } : { lost: "mismatched TCP answer" });
  });
  return close;
}

/** RFC 6298 §2 state of one server: smoothed round trip and its variation, in ms */
export interface RoundTrip {
  srtt: number;
  rttvar: number;
}

/** the earliest retry after an unanswered query to a server that has answered before */
export const MIN_RETRY_MS = 50;

function serverKey(s: DnsServer): string {
  return `${s.host}|${s.port}`;
}

/** RFC 6298 §2.2–2.3 with α = 1/8, β = 1/4 */
export function addRoundTrip(rtt: Map<string, RoundTrip>, server: DnsServer, ms: number): void {
  const k = serverKey(server);
  const r = rtt.get(k);
  if (!r) rtt.set(k, { srtt: ms, rttvar: ms / 2 });
  else {
    r.rttvar = 0.75 * r.rttvar + 0.25 * Math.abs(r.srtt - ms);
    r.srtt = 0.875 * r.srtt + 0.125 * ms;
  }
}

/** how long to wait for an answer before attempt `i` (0-based) is followed by the next */
export function retryAfter(
  rtt: Map<string, RoundTrip>,
  server: DnsServer,
  i: number,
  timeoutMs: number,
): number {
  const r = rtt.get(serverKey(server));
  if (!r) return timeoutMs;
  const rto = Math.max(MIN_RETRY_MS, r.srtt + 4 * r.rttvar);
  return Math.min(timeoutMs, rto * 2 ** i);
}

/** Ask the servers; returns the first usable response (any RCODE but SERVFAIL/REFUSED when retries remain). */
export function exchange(o: TransportOptions, qname: string, rrtype: string): Promise<DnsResponse> {
  const name = normalizeName(qname);
  const type = RR_TYPES[rrtype];
  if (type === undefined)
    return Promise.reject(dnsError("ENOTIMP", qname, rrtype, "record type not supported"));
  if (o.servers.length === 0)
    return Promise.reject(dnsError("ECONNREFUSED", qname, rrtype, "no DNS servers configured"));
  const attempts = Math.max(1, o.attempts);
  const rtt = o.rtt ?? new Map<string, RoundTrip>();
  return new Promise((resolve, reject) => {
    const open = new Set<() => void>();
    let started = 0;
    let answered = 0;
    let last: DnsResponse | null = null;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;

    const finish = (res: DnsResponse | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const cancel of open) cancel();
      open.clear();
      const r = res ?? last;
      if (r) resolve(r);
      else reject(dnsError("ETIMEOUT", qname, rrtype, `no answer after ${attempts} attempts`));
    };
    /** nothing is waiting for an answer any more: the next attempt now, or the end */
    const idle = (): void => {
      if (open.size > 0) return;
      if (started < attempts) next();
      else finish(null);
    };
    const send = (server: DnsServer, tcp: boolean): void => {
      const id = randomInt(0, 0x10000);
      const query = encodeQuery(id, name, rrtype);
      const sentAt = performance.now();
      const cancel = (tcp ? tcpQuery : udpQuery)(server, query, id, name, type, (out) => {
        open.delete(cancel);
        if (finished) return;
        if ("lost" in out) return idle();
        const res = out.res;
        answered++;
        if (!tcp) addRoundTrip(rtt, server, performance.now() - sentAt);
        if (res.truncated && !tcp) {
          // the server is there and the answer is too big: TCP gets its full time
          clearTimeout(timer);
          timer = setTimeout(started < attempts ? next : () => finish(null), o.timeoutMs);
          return send(server, true);
        }
        if (res.rcode === RCODE.SERVFAIL || res.rcode === RCODE.REFUSED) {
          // another server (or a retry) may do better; this one is the answer if none does
          last = res;
          return idle();
        }
        finish(res);
      });
      open.add(cancel);
    };
    const next = (): void => {
      clearTimeout(timer);
      const i = started++;
      const server = o.servers[i % o.servers.length]!;
      const final = i === attempts - 1;
      // the last attempt goes over TCP when earlier ones went unanswered (a loaded resolver or path drops UDP)
      send(server, attempts > 1 && final && answered < i);
      timer = final
        ? setTimeout(() => finish(null), o.timeoutMs)
        : setTimeout(next, retryAfter(rtt, server, i, o.timeoutMs));
    };
    next();
  });
}
