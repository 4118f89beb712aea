/**
 * PROXY protocol v2 (haproxy's "PROXY protocol" specification, §2.2): a load balancer in front of
 * a listener prefixes each connection with a binary header naming the real client. Pure parser,
 * CIDR matching of the trusted balancers, and the reader that takes the header off a socket.
 *
 * Implementation notes
 * - Only v2 (binary) is accepted; a v1 text header ("PROXY TCP4 …") is malformed here.
 * - parseProxyV2 looks at a prefix of the input: "incomplete" until the whole header is there,
 *   then the header's length (so the caller can keep the bytes after it) and the source address.
 *   The signature is checked byte by byte as it arrives, so garbage is refused at once.
 * - Command LOCAL (health checks by the balancer itself): the socket's own address stays. Command
 *   PROXY with TCP (or UDP) over IPv4/IPv6: the source address and port are the client's. AF_UNIX
 *   and UNSPEC with PROXY are accepted as LOCAL (the spec says: use the real connection address).
 *   TLVs after the addresses are skipped. A header longer than `maxLength` is malformed.
 * - The client address is made visible by an own `remoteAddress` / `remotePort` property on the
 *   socket object (applyPeer), shadowing net.Socket's getter, so every reader downstream (the
 *   protocol sessions, connection limits, login throttling, logs, smtp-server, node:http) sees
 *   the client and nothing needs to know about the balancer. The balancer's address is kept as
 *   `proxyAddress` for logs.
 */
import { isIP, type Socket } from "node:net";

/** §2.2: the 12-byte signature */
export const PROXY_V2_SIGNATURE = Uint8Array.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

export interface ProxyPeer {
  address: string;
  port: number;
}

export type ProxyParse =
  | { kind: "incomplete" }
  | { kind: "error"; reason: string }
  /** `peer` null: LOCAL (or an address family without an IP) — keep the socket's own address */
  | { kind: "ok"; length: number; peer: ProxyPeer | null };

/** Parses a PROXY v2 header at the start of `buf` (see the notes above). */
export function parseProxyV2(buf: Uint8Array, maxLength = 512): ProxyParse {
  const n = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < n; i++) {
    if (buf[i] !== PROXY_V2_SIGNATURE[i]) return { kind: "error", reason: "bad PROXY v2 signature" };
  }
  if (buf.length < 16) return { kind: "incomplete" };
  const verCmd = buf[12]!;
  // §2.2: the high nibble is the version (2), the low one the command (0 LOCAL, 1 PROXY)
  if (verCmd >> 4 !== 2) return { kind: "error", reason: "unsupported PROXY version" };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { kind: "error", reason: "unknown PROXY command" };
  const famProto = buf[13]!;
  const family = famProto >> 4;
  const proto = famProto & 0x0f;
  if (family > 3 || proto > 2) return { kind: "error", reason: "unknown address family or protocol" };
  const len = (buf[14]! << 8) | buf[15]!;
  const total = 16 + len;
  if (total > maxLength) return { kind: "error", reason: "PROXY header too long" };
  if (buf.length < total) return { kind: "incomplete" };
  // §2.2: with LOCAL the receiver must ignore the address information
  if (cmd === 0) return { kind: "ok", length: total, peer: null };
  const a = buf.subarray(16, total);
  if (family === 1 && proto !== 0) {
    // AF_INET: src 4, dst 4, src port 2, dst port 2
    if (len < 12) return { kind: "error", reason: "PROXY IPv4 addresses truncated" };
    return {
      kind: "ok",
      length: total,
      peer: { address: `${a[0]}.${a[1]}.${a[2]}.${a[3]}`, port: (a[8]! << 8) | a[9]! },
    };
  }
  if (family === 2 && proto !== 0) {
    // AF_INET6: src 16, dst 16, src port 2, dst port 2
    if (len < 36) return { kind: "error", reason: "PROXY IPv6 addresses truncated" };
    return {
      kind: "ok",
      length: total,
      peer: { address: formatIpv6(a.subarray(0, 16)), port: (a[32]! << 8) | a[33]! },
    };
  }
  // UNSPEC or AF_UNIX: no IP to report; §2.2 says to use the real connection's address
  return { kind: "ok", length: total, peer: null };
}

/** 16 bytes → the canonical text form (RFC 5952: lowercase, longest zero run as "::"). */
function formatIpv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // IPv4-mapped: keep Node's form (::ffff:a.b.c.d), which unmapIpv4 understands
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** A parsed CIDR block ("192.0.2.0/24", "::1/128"; a bare address = a single host). */
export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
}

function addressBytes(addr: string): Uint8Array | null {
  const v = isIP(addr);
  if (v === 4) return Uint8Array.from(addr.split(".").map(Number));
  if (v !== 6) return null;
  let s = addr;
  const out = new Uint8Array(16);
  // a dotted IPv4 tail (::ffff:1.2.3.4) becomes two words
  const dot = s.lastIndexOf(":");
  const tail = s.slice(dot + 1);
  let tailWords: number[] = [];
  if (tail.includes(".")) {
    const p = tail.split(".").map(Number);
    tailWords = [(p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!];
    s = `${s.slice(0, dot + 1)}0:0`;
  }
  const [head, rest] = s.includes("::") ? s.split("::") : [s, null];
  const hw = head ? head.split(":") : [];
  const rw = rest ? rest.split(":") : [];
  const words = [...hw, ...Array<string>(8 - hw.length - rw.length).fill("0"), ...rw].map((w) =>
    Number.parseInt(w, 16),
  );
  if (tailWords.length) words.splice(6, 2, ...tailWords);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Parses "addr/prefix" or "addr"; throws with a readable message. */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const bytes = addressBytes(addr);
  if (!bytes) throw new Error(`"${s}": not an IP address or CIDR block`);
  const max = bytes.length * 8;
  const pstr = slash < 0 ? String(max) : s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(pstr) || Number(pstr) > max) throw new Error(`"${s}": invalid prefix length`);
  return { bytes, prefix: Number(pstr) };
}

/** Is `addr` inside one of the blocks? IPv4-mapped IPv6 addresses match IPv4 blocks. */
export function inCidrs(addr: string | undefined, cidrs: readonly Cidr[]): boolean {
  if (!addr) return false;
  const plain = addr.startsWith("::ffff:") && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  const b = addressBytes(plain);
  if (!b) return false;
  return cidrs.some((c) => {
    if (c.bytes.length !== b.length) return false;
    let bits = c.prefix;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((b[i]! & mask) !== (c.bytes[i]! & mask)) return false;
    }
    return true;
  });
}

export interface ProxyOptions {
  trusted: readonly Cidr[];
  /** ms to wait for the whole header */
  timeoutMs: number;
  /** longest header accepted, bytes */
  maxLength?: number;
}

/**
 * Takes the PROXY v2 header off a fresh socket: resolves with the client (null = LOCAL, keep the
 * socket's address) once the header is read, the bytes after it put back (unshift) for the
 * protocol. Rejects for an untrusted peer, a malformed header, a timeout or a
 * closed socket; the caller destroys the socket (no greeting is ever sent).
 */
export function readProxyHeader(socket: Socket, o: ProxyOptions): Promise<ProxyPeer | null> {
  return new Promise((resolve, reject) => {
    if (!inCidrs(socket.remoteAddress, o.trusted)) {
      reject(new Error("PROXY protocol: peer is not a trusted load balancer"));
      return;
    }
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err: Error | null, peer: ProxyPeer | null = null) => {
      clearTimeout(timer);
      socket.off("readable", onReadable);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      if (err) reject(err);
      else resolve(peer);
    };
    // 'readable' + read(), not 'data': once the listener is gone the stream is back in its
    // initial state, so the protocol's own 'data' listener starts it as on a fresh socket
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        const r = parseProxyV2(buf, o.maxLength);
        if (r.kind === "incomplete") continue;
        if (r.kind === "error") return finish(new Error(`PROXY protocol: ${r.reason}`));
        if (buf.length > r.length) socket.unshift(buf.subarray(r.length));
        return finish(null, r.peer);
      }
    };
    const onEnd = () => finish(new Error("PROXY protocol: connection closed before the header"));
    const onError = (e: Error) => finish(e);
    const timer = setTimeout(() => finish(new Error("PROXY protocol: header timeout")), o.timeoutMs);
    timer.unref();
    socket.on("readable", onReadable);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.on("error", onError);
  });
}

/** Makes the client address what `socket.remoteAddress` / `remotePort` say (see the notes). */
export function applyPeer(socket: Socket, peer: ProxyPeer | null): void {
  if (!peer) return;
  const proxyAddress = socket.remoteAddress;
  Object.defineProperty(socket, "remoteAddress", { value: peer.address, configurable: true });
  Object.defineProperty(socket, "remotePort", { value: peer.port, configurable: true });
  Object.defineProperty(socket, "proxyAddress", { value: proxyAddress, configurable: true });
}

/** Carries the client address over to a socket layered on top (TLS); no-op without one. */
export function copyPeer(from: Socket | undefined, to: Socket): void {
  if (!from || !Object.hasOwn(from, "proxyAddress")) return;
  const f = from as Socket & { proxyAddress?: string };
  applyPeer(to, { address: f.remoteAddress ?? "", port: f.remotePort ?? 0 });
  Object.defineProperty(to, "proxyAddress", { value: f.proxyAddress, configurable: true });
}
