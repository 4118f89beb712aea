/**
 * Login throttling whose counters are shared by all nodes on one PostgreSQL store: the
 * LoginThrottle of throttle.ts over the counters port (src/store/counters/port.ts), with the same
 * three counters and rules as ThrottleState (per IP, per IP + username, per username over all
 * IPs; the delay from ThrottleState.userDelay). Failures on node A refuse or delay logins on
 * node B, whichever node the load balancer picks.
 *
 * Fail safe, as the cluster-IPC throttle (src/server/limits-ipc.ts): every failure is also
 * recorded in a local ThrottleState, and when the database does not answer, check() and fail()
 * answer from that local copy (the limits then hold per process) — a database hiccup neither
 * blocks logins nor lifts the limits entirely.
 */
import type { FailureCounters } from "../store/counters/port.ts";
import {
  type FailureOutcome,
  type LoginThrottle,
  type ThrottleOptions,
  ThrottleState,
  type ThrottleVerdict,
} from "./throttle.ts";

// PostgreSQL text cannot hold NUL (a username might): it becomes U+FFFD in the key
const text = (s: string) => (s.includes("\u0000") ? s.replaceAll("\u0000", "\ufffd") : s);
const ipKey = (ip: string) => `ip:${text(ip)}`;
// an IP key never holds a space, so the pair key is unambiguous
const pairKey = (ip: string, user: string) => `pair:${text(ip)} ${text(user)}`;
const userKey = (user: string) => `user:${text(user)}`;

export function sharedThrottle(
  counters: FailureCounters,
  opts: ThrottleOptions,
  onError: (e: unknown) => void = () => {},
  now: () => number = Date.now,
): LoginThrottle {
  const local = new ThrottleState(opts);
  const locks = opts.lockoutMs;
  return {
    async check(ip, user): Promise<ThrottleVerdict> {
      try {
        const [a, b, c] = await counters.read(
          [ipKey(ip), pairKey(ip, user), userKey(user)],
          opts.failureWindowMs,
        );
        if (opts.maxFailuresPerIp > 0 && locks > 0 && a!.locked) return { refused: "ip", delayMs: 0 };
        if (opts.maxFailuresPerUser > 0 && locks > 0 && b!.locked) return { refused: "ip+user", delayMs: 0 };
        return { refused: null, delayMs: local.userDelay(c!.count) };
      } catch (e) {
        onError(e);
        return local.check(ip, user, now());
      }
    },
    async fail(ip, user): Promise<FailureOutcome> {
      const fallback = local.fail(ip, user, now());
      const hits = [
        { key: ipKey(ip), limit: opts.maxFailuresPerIp, windowMs: opts.failureWindowMs, lockoutMs: locks },
        {
          key: pairKey(ip, user),
          limit: opts.maxFailuresPerUser,
          windowMs: opts.failureWindowMs,
          lockoutMs: locks,
        },
        { key: userKey(user), limit: opts.maxFailuresPerUser, windowMs: opts.failureWindowMs, lockoutMs: 0 },
      ].filter((h) => h.limit > 0);
      if (hits.length === 0) return { lockout: null, userDelayStarted: false };
      try {
        const r = await counters.fail(hits);
        const of = (key: string) => r[hits.findIndex((h) => h.key === key)];
        const a = of(ipKey(ip));
        const b = of(pairKey(ip, user));
        const c = of(userKey(user));
        return {
          lockout: a?.lockedNow ? "ip" : b?.lockedNow ? "ip+user" : null,
          userDelayStarted: c !== undefined && c.count === opts.maxFailuresPerUser,
        };
      } catch (e) {
        onError(e);
        return fallback;
      }
    },
    succeed(ip, user): void {
      local.succeed(ip, user);
      counters.clear(pairKey(ip, user)).catch(onError);
    },
  };
}
