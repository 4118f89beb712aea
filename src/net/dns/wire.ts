/**
 * DNS wire format (RFC 1035 §4): one query out, one response in. Only what a stub resolver needs:
 * A, AAAA, MX, TXT, PTR, CNAME, NS answers and the SOA of the authority section (RFC 2308 §5:
 * the negative-caching TTL). Everything read from the network is bounds-checked; a malformed
 * response throws (the transport treats it as lost).
 */

export const RR_TYPES: Readonly<Record<string, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
};

const TYPE_NAMES = new Map(Object.entries(RR_TYPES).map(([k, v]) => [v, k]));

/** RFC 1035 §4.1.1 RCODE values we act on */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  minimum: number;
}

export interface ResourceRecord {
  name: string;
  /** the mnemonic (A, MX …) or "TYPE<n>" for types we do not decode */
  type: string;
  ttl: number;
  /** A/AAAA/CNAME/PTR/NS → string; MX → {exchange, priority}; TXT → string[]; SOA → SoaData */
  data: unknown;
}

export interface DnsResponse {
  id: number;
  /** TC: the answer did not fit (RFC 1035 §4.1.1); retry over TCP (RFC 7766 §5) */
  truncated: boolean;
  rcode: number;
  question: { name: string; type: number } | null;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
}

/** "Example.ORG." → "example.org"; throws on names a query cannot carry (RFC 1035 §2.3.4). */
export function normalizeName(name: string): string {
  let n = name.toLowerCase();
  if (n.endsWith(".")) n = n.slice(0, -1);
  if (n.length > 253) throw new Error("name too long");
  // printable ASCII only: A-labels (RFC 5890) and underscore labels; other octets would be ambiguous
  if (/[^\x21-\x7e]/.test(n)) throw new Error("name has characters outside printable ASCII");
  if (n !== "") {
    for (const label of n.split(".")) {
      if (label.length === 0 || label.length > 63) throw new Error("bad label length");
    }
  }
  return n;
}

/** RFC 1035 §4.1: header with RD set, one question of class IN. */
export function encodeQuery(id: number, name: string, rrtype: string): Buffer {
  const type = RR_TYPES[rrtype];
  if (type === undefined) throw new Error(`unsupported record type ${rrtype}`);
  const n = normalizeName(name);
  const labels = n === "" ? [] : n.split(".");
  let len = 12 + 1 + 4;
  const encoded = labels.map((l) => Buffer.from(l, "latin1"));
  for (const l of encoded) len += 1 + l.length;
  const b = Buffer.alloc(len);
  b.writeUInt16BE(id & 0xffff, 0);
  b.writeUInt16BE(0x0100, 2); // RD (recursion desired)
  b.writeUInt16BE(1, 4); // QDCOUNT
  let p = 12;
  for (const l of encoded) {
    b[p++] = l.length;
    l.copy(b, p);
    p += l.length;
  }
  b[p++] = 0;
  b.writeUInt16BE(type, p);
  b.writeUInt16BE(1, p + 2); // class IN
  return b;
}

class Reader {
  readonly b: Buffer;
  p = 0;
  constructor(b: Buffer) {
    this.b = b;
  }
  need(n: number, at = this.p): void {
    if (at + n > this.b.length) throw new Error("short DNS message");
  }
  u8(): number {
    this.need(1);
    return this.b[this.p++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16BE(this.p);
    this.p += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32BE(this.p);
    this.p += 4;
    return v;
  }
  /** RFC 1035 §4.1.4: labels with compression pointers; a bounded number of jumps */
  name(): string {
    const labels: string[] = [];
    let p = this.p;
    let jumped = false;
    let jumps = 0;
    let total = 0;
    for (;;) {
      this.need(1, p);
      const len = this.b[p]!;
      if ((len & 0xc0) === 0xc0) {
        this.need(2, p);
        if (++jumps > 64) throw new Error("DNS name pointer loop");
        const target = ((len & 0x3f) << 8) | this.b[p + 1]!;
        if (!jumped) this.p = p + 2;
        jumped = true;
        p = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new Error("bad DNS label type");
      p++;
      if (len === 0) break;
      this.need(len, p);
      total += len + 1;
      if (total > 255) throw new Error("DNS name too long");
      labels.push(this.b.toString("latin1", p, p + len).toLowerCase());
      p += len;
    }
    if (!jumped) this.p = p;
    return labels.join(".");
  }
}

function ipv6(b: Buffer, at: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(at + i).toString(16));
  // RFC 5952 §4.2.3: the longest run of two or more zero groups becomes "::"
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(":");
  return `${parts.slice(0, best).join(":")}::${parts.slice(best + bestLen).join(":")}`;
}

function readRecord(r: Reader): ResourceRecord {
  const name = r.name();
  const typeNum = r.u16();
  r.u16(); // class
  const rawTtl = r.u32();
  const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl; // RFC 2181 §8: a TTL with the top bit set counts as 0
  const rdlen = r.u16();
  r.need(rdlen);
  const start = r.p;
  const end = start + rdlen;
  const type = TYPE_NAMES.get(typeNum) ?? `TYPE${typeNum}`;
  let data: unknown = null;
  switch (type) {
    case "A":
      if (rdlen !== 4) throw new Error("bad A record");
      data = `${r.b[start]}.${r.b[start + 1]}.${r.b[start + 2]}.${r.b[start + 3]}`;
      break;
    case "AAAA":
      if (rdlen !== 16) throw new Error("bad AAAA record");
      data = ipv6(r.b, start);
      break;
    case "CNAME":
    case "PTR":
    case "NS":
      data = r.name();
      break;
    case "MX": {
      const priority = r.u16();
      data = { priority, exchange: r.name() };
      break;
    }
    case "TXT": {
      // RFC 1035 §3.3.14: one or more <character-string>s
      const chunks: string[] = [];
      let p = start;
      while (p < end) {
        const l = r.b[p]!;
        if (p + 1 + l > end) throw new Error("bad TXT record");
        chunks.push(r.b.toString("utf8", p + 1, p + 1 + l));
        p += 1 + l;
      }
      data = chunks;
      break;
    }
    case "SOA": {
      const mname = r.name();
      const rname = r.name();
      const serial = r.u32();
      r.u32(); // refresh
      r.u32(); // retry
      r.u32(); // expire
      data = { mname, rname, serial, minimum: r.u32() } satisfies SoaData;
      break;
    }
  }
  if (r.p > end) throw new Error("DNS record overruns its RDLENGTH");
  r.p = end;
  return { name, type, ttl, data };
}

export function decodeResponse(b: Buffer): DnsResponse {
  const r = new Reader(b);
  const id = r.u16();
  const flags = r.u16();
  const qd = r.u16();
  const an = r.u16();
  const ns = r.u16();
  r.u16(); // ARCOUNT: additional records are not used
  if ((flags & 0x8000) === 0) throw new Error("not a DNS response");
  const truncated = (flags & 0x0200) !== 0;
  const rcode = flags & 0x000f;
  let question: DnsResponse["question"] = null;
  for (let i = 0; i < qd; i++) {
    const name = r.name();
    const type = r.u16();
    r.u16();
    if (i === 0) question = { name, type };
  }
  const answers: ResourceRecord[] = [];
  const authority: ResourceRecord[] = [];
  // a truncated message may end mid-record: keep what was complete
  try {
    for (let i = 0; i < an; i++) answers.push(readRecord(r));
    for (let i = 0; i < ns; i++) authority.push(readRecord(r));
  } catch (e) {
    if (!truncated) throw e;
  }
  return { id, truncated, rcode, question, answers, authority };
}
