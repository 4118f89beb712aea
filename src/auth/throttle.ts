/**
 * Login throttling: failure counters, lockouts and the per-username delay.
 *
 * Implementation notes
 * - Three counters, each over failure_window:
 *   - per IP (all usernames): at maxFailuresPerIp failures the IP is refused for lockoutMs;
 *   - per IP + username: at maxFailuresPerUser failures that IP is refused for that username for
 *     lockoutMs (other usernames from the IP, and the username from other IPs, still work);
 *   - per username over all IPs: never refuses. From maxFailuresPerUser failures on, every login
 *     for the username (right password or not) is answered after a delay that doubles with each
 *     further failure, from USER_DELAY_BASE_MS up to maxUserDelayMs. So a flood of wrong passwords
 *     from one address cannot lock the owner out on their own addresses, while guessing spread
 *     over many addresses is slowed down.
 * - IPv6 addresses are counted by their /64 (one subnet: a single host can use all of it);
 *   IPv4-mapped IPv6 addresses count as IPv4. Usernames longer than a mail address can be are
 *   replaced by a hash so that the tracked keys stay small.
 * - A success clears the IP + username counter, not the IP's counter (an attacker holding one
 *   valid account would otherwise reset it) and not the username's counter over all IPs (a mail
 *   client logging in every minute would reset it for the attacker).
 * - ThrottleState is synchronous and exact for the process that holds it. With several worker
 *   processes the primary holds the one instance and the workers ask it over cluster IPC
 *   (src/server/limits-ipc.ts); `LoginThrottle` is the interface both sides of that present.
 * - Bounded: each counter keeps at most MAX_TRACKED keys (least recently failed evicted first).
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { unmapIpv4 } from "../net/address.ts";

export interface ThrottleOptions {
  /** failures per remote IP inside failureWindowMs before that IP is locked out; 0 = no limit */
  maxFailuresPerIp: number;
  /** failures per IP + username before that pair is locked out, and per username over all IPs
   *  before its logins are delayed; 0 = no limit */
  maxFailuresPerUser: number;
  failureWindowMs: number;
  lockoutMs: number;
  /** longest delay for a username with too many failures over all IPs; 0 = no delay */
  maxUserDelayMs: number;
}

/** what to do before checking a password */
export interface ThrottleVerdict {
  /** which lockout refuses the attempt (the password is not checked), or null */
  refused: "ip" | "ip+user" | null;
  /** wait this long before answering (username under attack from several addresses) */
  delayMs: number;
}

/** what a failure changed (for the log) */
export interface FailureOutcome {
  /** a lockout this failure started */
  lockout: "ip" | "ip+user" | null;
  /** this failure brought the username to the delay threshold over all IPs */
  userDelayStarted: boolean;
}

/** The throttle as the authenticator uses it: in-process, or answered by the cluster primary. */
export interface LoginThrottle {
  check(ip: string, user: string): Promise<ThrottleVerdict>;
  /** resolves once the failure is counted (so the next attempt, on any worker, sees it) */
  fail(ip: string, user: string): Promise<FailureOutcome>;
  succeed(ip: string, user: string): void;
}

/** first per-username delay; doubles with each further failure up to maxUserDelayMs */
export const USER_DELAY_BASE_MS = 200;

const MAX_TRACKED = 100_000;
/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so no mail address is longer */
const MAX_USER_KEY = 256;

interface FailureRecord {
  count: number;
  windowStart: number;
  lockedUntil: number;
}

/** Failure counts per key inside a window, with an optional lockout; bounded (LRU eviction). */
class FailureTracker {
  private readonly map = new Map<string, FailureRecord>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly lockoutMs: number;
  constructor(limit: number, windowMs: number, lockoutMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.lockoutMs = lockoutMs;
  }

  isLocked(key: string, now: number): boolean {
    if (this.limit <= 0 || this.lockoutMs <= 0) return false;
    const r = this.map.get(key);
    return r !== undefined && r.lockedUntil > now;
  }

  /** failures inside the current window */
  count(key: string, now: number): number {
    const r = this.map.get(key);
    if (!r || (now - r.windowStart > this.windowMs && r.lockedUntil <= now)) return 0;
    return r.count;
  }

  /** records a failure; returns the new count and whether it starts a lockout */
  fail(key: string, now: number): { count: number; locked: boolean } {
    if (this.limit <= 0) return { count: 0, locked: false };
    let r = this.map.get(key);
    if (!r || (now - r.windowStart > this.windowMs && r.lockedUntil <= now)) {
      r = { count: 0, windowStart: now, lockedUntil: 0 };
    }
    this.map.delete(key); // re-insert: Map order = recency
    this.map.set(key, r);
    r.count++;
    let locked = false;
    if (this.lockoutMs > 0 && r.count >= this.limit && r.lockedUntil <= now) {
      r.lockedUntil = now + this.lockoutMs;
      locked = true;
    }
    if (this.map.size > MAX_TRACKED) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    return { count: r.count, locked };
  }

  clear(key: string): void {
    this.map.delete(key);
  }
}

/** The counters of one server (one process, or the cluster primary). */
export class ThrottleState {
  private readonly opts: ThrottleOptions;
  private readonly byIp: FailureTracker;
  private readonly byIpUser: FailureTracker;
  /** over all IPs: counted, never locked (lockout 0) */
  private readonly byUser: FailureTracker;

  constructor(opts: ThrottleOptions) {
    this.opts = opts;
    this.byIp = new FailureTracker(opts.maxFailuresPerIp, opts.failureWindowMs, opts.lockoutMs);
    this.byIpUser = new FailureTracker(opts.maxFailuresPerUser, opts.failureWindowMs, opts.lockoutMs);
    this.byUser = new FailureTracker(opts.maxFailuresPerUser, opts.failureWindowMs, 0);
  }

  check(ip: string, user: string, now: number): ThrottleVerdict {
    if (this.byIp.isLocked(ip, now)) return { refused: "ip", delayMs: 0 };
    if (this.byIpUser.isLocked(pairKey(ip, user), now)) return { refused: "ip+user", delayMs: 0 };
    return { refused: null, delayMs: this.userDelay(this.byUser.count(user, now)) };
  }

  fail(ip: string, user: string, now: number): FailureOutcome {
    const a = this.byIp.fail(ip, now);
    const b = this.byIpUser.fail(pairKey(ip, user), now);
    const c = this.byUser.fail(user, now);
    return {
      lockout: a.locked ? "ip" : b.locked ? "ip+user" : null,
      userDelayStarted: this.opts.maxFailuresPerUser > 0 && c.count === this.opts.maxFailuresPerUser,
    };
  }

  succeed(ip: string, user: string): void {
    this.byIpUser.clear(pairKey(ip, user));
  }

  /** delay for a username with `count` failures over all IPs */
  userDelay(count: number): number {
    const limit = this.opts.maxFailuresPerUser;
    const max = this.opts.maxUserDelayMs;
    if (limit <= 0 || max <= 0 || count < limit) return 0;
    const doublings = Math.min(count - limit, 30);
    return Math.min(max, USER_DELAY_BASE_MS * 2 ** doublings);
  }
}

function pairKey(ip: string, user: string): string {
  return `${ip}\0${user}`;
}

/** The in-process throttle (a single process; tests). */
export function localThrottle(state: ThrottleState, now: () => number = Date.now): LoginThrottle {
  return {
    check: (ip, user) => Promise.resolve(state.check(ip, user, now())),
    fail: (ip, user) => Promise.resolve(state.fail(ip, user, now())),
    succeed: (ip, user) => state.succeed(ip, user),
  };
}

/** Throttle key of a username (already trimmed and lower-cased): long ones become a hash. */
export function throttleUserKey(username: string): string {
  if (username.length <= MAX_USER_KEY) return username;
  return `#${createHash("sha256").update(username).digest("base64")}`;
}

/** Throttle key of a remote address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function throttleIpKey(remoteAddress: string): string {
  let a = remoteAddress;
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  a = unmapIpv4(a);
  if (isIP(a) !== 6) return a;
  const groups = expandIpv6(a);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : a;
}

/** the eight 16-bit groups of a valid IPv6 address, lower-case hex without leading zeros */
function expandIpv6(a: string): string[] | null {
  const parts = (s: string): string[] => {
    if (s === "") return [];
    const p = s.split(":");
    const last = p[p.length - 1]!;
    // an embedded IPv4 address fills the last two groups (RFC 4291 §2.2 form 3)
    if (last.includes(".")) p.splice(p.length - 1, 1, "0", "0");
    return p;
  };
  const dbl = a.indexOf("::");
  let groups: string[];
  if (dbl >= 0) {
    const head = parts(a.slice(0, dbl));
    const tail = parts(a.slice(dbl + 2));
    const fill = 8 - head.length - tail.length;
    if (fill < 0) return null;
    groups = [...head, ...new Array<string>(fill).fill("0"), ...tail];
  } else {
    groups = parts(a);
  }
  if (groups.length !== 8) return null;
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}
