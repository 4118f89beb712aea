/**
 * A small authoritative-style DNS server for tests: UDP and TCP on 127.0.0.1 (one port for both),
 * answering from a zone table, with a per-query policy that can drop, delay, truncate or hold
 * answers. Unknown names get NXDOMAIN, known names without the asked type NODATA; both carry an
 * SOA in the authority section (RFC 2308 §3) whose TTL/minimum is `negativeTtl`.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import { RR_TYPES } from "../../src/net/dns/wire.ts";

export interface ZoneRecord {
  type: string;
  ttl?: number;
  /** A/AAAA/CNAME/PTR: string; MX: {priority, exchange}; TXT: string or string[] */
  data: unknown;
}

export type Zone = Record<string, ZoneRecord[]>;

export interface Query {
  name: string;
  type: string;
  tcp: boolean;
  /** 1-based count of queries seen so far (both transports) */
  n: number;
}

/** what to do with a query: answer now, never, after a delay, truncated (UDP), or when released */
export type Action = "answer" | "drop" | "truncate" | "hold" | { delayMs: number };

export interface TestDnsServer {
  port: number;
  /** "127.0.0.1:port" for [dns] servers */
  address: string;
  queries: Query[];
  zone: Zone;
  policy: (q: Query) => Action;
  /** answer every held query */
  release(): void;
  held(): number;
  close(): Promise<void>;
}

const TYPE_NAMES = new Map(Object.entries(RR_TYPES).map(([k, v]) => [v, k]));

function encName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const l of name.replace(/\.$/, "").split(".")) {
    if (l === "") continue;
    const b = Buffer.from(l, "latin1");
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function rdata(r: ZoneRecord): Buffer {
  switch (r.type) {
    case "A":
      return Buffer.from(String(r.data).split(".").map(Number));
    case "AAAA": {
      const b = Buffer.alloc(16);
      const [head, tail] = String(r.data).split("::");
      const h = head ? head.split(":") : [];
      const t = tail ? tail.split(":") : [];
      const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
      for (const [i, g] of groups.entries()) b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
      return b;
    }
    case "CNAME":
    case "PTR":
    case "NS":
      return encName(String(r.data));
    case "MX": {
      const mx = r.data as { priority: number; exchange: string };
      const p = Buffer.alloc(2);
      p.writeUInt16BE(mx.priority, 0);
      return Buffer.concat([p, encName(mx.exchange)]);
    }
    case "TXT": {
      const chunks = Array.isArray(r.data) ? (r.data as string[]) : [String(r.data)];
      return Buffer.concat(chunks.flatMap((c) => [Buffer.from([Buffer.byteLength(c)]), Buffer.from(c)]));
    }
    case "SOA": {
      const min = Number(r.data);
      const nums = Buffer.alloc(20);
      nums.writeUInt32BE(1, 0);
      nums.writeUInt32BE(3600, 4);
      nums.writeUInt32BE(600, 8);
      nums.writeUInt32BE(86400, 12);
      nums.writeUInt32BE(min, 16);
      return Buffer.concat([encName("ns.test"), encName("hostmaster.test"), nums]);
    }
  }
  throw new Error(`test DNS server: no encoder for ${r.type}`);
}

function rr(name: string, r: ZoneRecord): Buffer {
  const d = rdata(r);
  const h = Buffer.alloc(10);
  h.writeUInt16BE(RR_TYPES[r.type]!, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt32BE(r.ttl ?? 300, 4);
  h.writeUInt16BE(d.length, 8);
  return Buffer.concat([encName(name), h, d]);
}

function parseQuery(b: Buffer): { id: number; name: string; typeNum: number; question: Buffer } | null {
  if (b.length < 17) return null;
  const labels: string[] = [];
  let p = 12;
  while (p < b.length && b[p] !== 0) {
    const l = b[p]!;
    labels.push(b.toString("latin1", p + 1, p + 1 + l));
    p += 1 + l;
  }
  p++;
  if (p + 4 > b.length) return null;
  return {
    id: b.readUInt16BE(0),
    name: labels.join(".").toLowerCase(),
    typeNum: b.readUInt16BE(p),
    question: b.subarray(12, p + 4),
  };
}

export async function startDnsServer(
  zone: Zone = {},
  opts: { negativeTtl?: number; policy?: (q: Query) => Action } = {},
): Promise<TestDnsServer> {
  const negativeTtl = opts.negativeTtl ?? 60;
  const held: Array<() => void> = [];
  const queries: Query[] = [];
  let udp: UdpSocket = createSocket("udp4");
  const tcp: Server = createServer();
  const tcpSockets = new Set<Socket>();

  const respond = (raw: Buffer, truncate: boolean): Buffer | null => {
    const q = parseQuery(raw);
    if (!q) return null;
    const type = TYPE_NAMES.get(q.typeNum) ?? "";
    const answers: Buffer[] = [];
    let name = q.name;
    let known = s.zone[name] !== undefined;
    // follow CNAMEs inside the zone as a recursive server would
    for (let i = 0; i < 8 && type !== "CNAME"; i++) {
      const c = (s.zone[name] ?? []).find((r) => r.type === "CNAME");
      if (!c) break;
      answers.push(rr(name, c));
      name = String(c.data).toLowerCase();
      known = s.zone[name] !== undefined;
    }
    for (const r of s.zone[name] ?? []) if (r.type === type) answers.push(rr(name, r));
    const rcode = known || answers.length > 0 ? 0 : 3;
    const authority =
      answers.length === 0 ? [rr("test", { type: "SOA", ttl: negativeTtl, data: negativeTtl })] : [];
    const h = Buffer.alloc(12);
    h.writeUInt16BE(q.id, 0);
    h.writeUInt16BE(0x8180 | (truncate ? 0x0200 : 0) | rcode, 2); // QR, RD, RA
    h.writeUInt16BE(1, 4);
    h.writeUInt16BE(truncate ? 0 : answers.length, 6);
    h.writeUInt16BE(truncate ? 0 : authority.length, 8);
    return Buffer.concat([h, q.question, ...(truncate ? [] : [...answers, ...authority])]);
  };

  const handle = (raw: Buffer, tcpQuery: boolean, send: (b: Buffer) => void): void => {
    const q = parseQuery(raw);
    if (!q) return;
    const query: Query = {
      name: q.name,
      type: TYPE_NAMES.get(q.typeNum) ?? String(q.typeNum),
      tcp: tcpQuery,
      n: queries.length + 1,
    };
    queries.push(query);
    const action = s.policy(query);
    const go = (truncate = false) => {
      const out = respond(raw, truncate);
      if (out) send(out);
    };
    if (action === "drop") return;
    if (action === "answer") go();
    else if (action === "truncate") go(!tcpQuery);
    else if (action === "hold") held.push(() => go());
    else setTimeout(() => go(), action.delayMs);
  };

  tcp.on("connection", (sock) => {
    tcpSockets.add(sock);
    sock.on("close", () => tcpSockets.delete(sock));
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    sock.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        handle(msg, true, (b) => {
          const l = Buffer.alloc(2);
          l.writeUInt16BE(b.length, 0);
          if (!sock.destroyed) sock.write(Buffer.concat([l, b]));
        });
      }
    });
  });

  // one port for UDP and TCP: bind TCP on port 0, then UDP on the same number (retry if taken)
  let port = 0;
  for (let i = 0; i < 20 && port === 0; i++) {
    await new Promise<void>((res) => tcp.listen(0, "127.0.0.1", () => res()));
    const p = (tcp.address() as { port: number }).port;
    udp = createSocket("udp4");
    const ok = await new Promise<boolean>((res) => {
      udp.once("error", () => res(false));
      udp.bind(p, "127.0.0.1", () => res(true));
    });
    if (ok) port = p;
    else await new Promise<void>((res) => tcp.close(() => res()));
  }
  if (port === 0) throw new Error("test DNS server: no free port for UDP and TCP");
  const u = udp;
  u.on("message", (msg, rinfo) => handle(msg, false, (b) => u.send(b, rinfo.port, rinfo.address)));

  const s: TestDnsServer = {
    port,
    address: `127.0.0.1:${port}`,
    queries,
    zone,
    policy: opts.policy ?? (() => "answer"),
    release() {
      for (const f of held.splice(0)) f();
    },
    held: () => held.length,
    async close() {
      held.length = 0;
      for (const t of tcpSockets) t.destroy();
      await new Promise<void>((res) => tcp.close(() => res()));
      await new Promise<void>((res) => udp.close(() => res()));
    },
  };
  return s;
}
