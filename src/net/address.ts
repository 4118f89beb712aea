/** Listener address parsing: "host:port", "[v6]:port", "*:port" / ":port" (all interfaces). */
import { isIP } from "node:net";

export interface ListenAddress {
  /** host to bind; "::" / "0.0.0.0" for all interfaces */
  host: string;
  port: number;
}

/** Parses a listener address; throws an Error with a readable message when invalid. */
export function parseListenAddress(s: string): ListenAddress {
  let host: string;
  let portStr: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portStr = v6[2]!;
    if (isIP(host) !== 6) throw new Error(`"${s}": "${host}" is not an IPv6 address`);
  } else {
    const i = s.lastIndexOf(":");
    if (i < 0) throw new Error(`"${s}": expected host:port (e.g. 0.0.0.0:143 or [::1]:143)`);
    host = s.slice(0, i);
    portStr = s.slice(i + 1);
    if (host.includes(":")) throw new Error(`"${s}": IPv6 addresses must be bracketed, e.g. [::1]:143`);
    if (host === "" || host === "*") host = "0.0.0.0";
    if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new Error(`"${s}": invalid host "${host}"`);
  }
  if (!/^\d{1,5}$/.test(portStr)) throw new Error(`"${s}": invalid port "${portStr}"`);
  const port = Number(portStr);
  if (port > 65535) throw new Error(`"${s}": port ${port} is out of range 0-65535`);
  return { host, port };
}

/** Formats host and port for logs and configs, bracketing IPv6. */
export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as plain IPv4; anything else unchanged. */
export function unmapIpv4(addr: string): string {
  return addr.startsWith("::ffff:") && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

/**
 * Is the remote address loopback (127.0.0.0/8, ::1, or IPv4-mapped 127.x)? Plaintext
 * authentication before TLS is allowed from there (docs/architecture.md, "Protocol servers").
 */
export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  if (addr === "::1") return true;
  return unmapIpv4(addr).startsWith("127.");
}
