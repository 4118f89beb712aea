/**
 * Authentication: password hashing and verification, the login cache, login throttling, SASL PLAIN.
 *
 * Implementation notes
 * - Stored hashes use Dovecot's scheme-prefix convention: new hashes are written as
 *   `{ARGON2ID}$argon2id$v=19$m=…,t=…,p=…$salt$hash` (PHC string after the prefix). A bare PHC
 *   string (`$argon2id$…`) is accepted too. `{PLAIN}secret` is accepted for tests and imports, and
 *   imported `{SHA512-CRYPT}` / `{SHA256-CRYPT}` / `{CRYPT}` hashes (`$6$` / `$5$`, sha-crypt.ts).
 *   Other Dovecot schemes (`{BLF-CRYPT}` needs bcryptjs, not installed; `{SSHA512}`, `{MD5-CRYPT}`
 *   …) are refused for now (verifyHash returns false).
 * - Login cache (docs/architecture.md, "Protocol servers"): successful verifications are remembered for a short TTL, keyed by
 *   SHA-256(per-process random salt ‖ username ‖ password ‖ credentialsVersion). The account row is
 *   read on every login (cheap), so a password change (credentialsVersion bump) invalidates at once.
 *   Failures are never cached.
 * - App passwords (store/domain/app-passwords.ts): after a cache miss the password is first looked
 *   up as one of the account's app passwords (SHA-256, one indexed read), then checked against the
 *   account's own hash. App-password successes are not cached: deleting one takes effect at once.
 * - Throttling (throttle.ts): failures are counted per remote IP, per IP + username and per
 *   username over all IPs inside a window; every failure answers after failureDelayMs. A locked
 *   IP, or IP + username, is refused without checking the password until the lockout ends; a
 *   username failing from many addresses is only delayed (growing, capped), never refused. The
 *   counters live wherever `throttle` says: in this process, or in the cluster primary.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Algorithm } from "@node-rs/argon2";
import { hash as argon2Hash, verify as argon2Verify } from "@node-rs/argon2";
import type { Account, AccountStore } from "../store/types.ts";
import { verifyShaCrypt } from "./sha-crypt.ts";
import {
  type LoginThrottle,
  localThrottle,
  ThrottleState,
  throttleIpKey,
  throttleUserKey,
} from "./throttle.ts";

export {
  type FailureOutcome,
  type LoginThrottle,
  localThrottle,
  type ThrottleOptions,
  ThrottleState,
  type ThrottleVerdict,
} from "./throttle.ts";

export const ARGON2ID_PREFIX = "{ARGON2ID}";

/** Hashes a password with argon2id; returns `{ARGON2ID}` + PHC string. */
export async function hashPassword(password: string): Promise<string> {
  // OWASP / RFC 9106 §4 second recommended option: m=19 MiB, t=2, p=1.
  const phc = await argon2Hash(password, {
    algorithm: 2 as Algorithm, // Argon2id
    memoryCost: 19456,
    timeCost: 2,
    parallelism: 1,
  });
  return ARGON2ID_PREFIX + phc;
}

/** Splits a Dovecot-style `{SCHEME}rest` string. Without a prefix, a PHC `$argon2…` string is detected. */
export function hashScheme(stored: string): { scheme: string; value: string } {
  const m = /^\{([A-Za-z0-9._-]+)\}/.exec(stored);
  if (m) return { scheme: m[1]!.toUpperCase(), value: stored.slice(m[0].length) };
  if (stored.startsWith("$argon2")) return { scheme: "ARGON2", value: stored };
  if (stored.startsWith("$5$") || stored.startsWith("$6$")) return { scheme: "CRYPT", value: stored };
  return { scheme: "", value: stored };
}

/** Verifies a password against a stored hash. Unknown or unsupported schemes verify as false. */
export async function verifyHash(stored: string, password: string): Promise<boolean> {
  const { scheme, value } = hashScheme(stored);
  switch (scheme) {
    case "ARGON2ID":
    case "ARGON2I":
    case "ARGON2":
      if (!value.startsWith("$argon2")) return false;
      try {
        return await argon2Verify(value, password);
      } catch {
        return false; // malformed hash
      }
    case "PLAIN":
    case "CLEARTEXT": {
      const a = Buffer.from(value, "utf8");
      const b = Buffer.from(password, "utf8");
      return a.length === b.length && timingSafeEqual(a, b);
    }
    case "SHA512-CRYPT":
    case "SHA256-CRYPT":
    case "CRYPT":
      // glibc crypt(3) formats Dovecot imports carry; only the SHA-crypt variants are supported
      return verifyShaCrypt(value, password);
    default:
      // {BLF-CRYPT}, {MD5-CRYPT}, {SSHA512}, …: not supported yet.
      return false;
  }
}

/**
 * SASL PLAIN message (RFC 4616 §2): message = [authzid] UTF8NUL authcid UTF8NUL passwd.
 * Returns null when malformed: not exactly two NULs, empty authcid or password, invalid UTF-8.
 */
export function decodeSaslPlain(buf: Buffer): { authzid: string; authcid: string; password: string } | null {
  const first = buf.indexOf(0);
  if (first < 0) return null;
  const second = buf.indexOf(0, first + 1);
  if (second < 0 || buf.indexOf(0, second + 1) >= 0) return null;
  const dec = new TextDecoder("utf-8", { fatal: true });
  try {
    const authzid = dec.decode(buf.subarray(0, first));
    const authcid = dec.decode(buf.subarray(first + 1, second));
    const password = dec.decode(buf.subarray(second + 1));
    // RFC 4616 §2: authcid and passwd are 1*SAFE (non-empty).
    if (authcid.length === 0 || password.length === 0) return null;
    return { authzid, authcid, password };
  } catch {
    return null;
  }
}

export interface AuthContext {
  protocol: "imap" | "pop3" | "smtp" | "http";
  remoteAddress: string;
  /**
   * called when the login is refused by throttling without a password check (the answer is null
   * as for any failure; the webmail login tells the user with 429)
   */
  onThrottled?(): void;
}

export interface Authenticator {
  verifyPassword(username: string, password: string, ctx: AuthContext): Promise<Account | null>;
}

export interface AuthenticatorOptions {
  /** successful-login cache TTL in ms; 0 disables the cache */
  cacheTtlMs: number;
  /** most cached entries kept (oldest evicted first) */
  cacheMaxEntries?: number;
  /** delay before answering a failed login, ms */
  failureDelayMs: number;
  /** failures per remote IP inside failureWindowMs before lockout; 0 = no limit */
  maxFailuresPerIp: number;
  /** failures per IP + username before that pair's lockout, and per username over all IPs before
   *  its logins are delayed (throttle.ts); 0 = no limit */
  maxFailuresPerUser: number;
  failureWindowMs: number;
  lockoutMs: number;
  /** longest delay for a username with too many failures over all IPs; absent/0 = no delay */
  maxUserDelayMs?: number;
  /** the throttle shared by all worker processes; absent = one in this process from the options above */
  throttle?: LoginThrottle;
  /** optional clock for tests */
  now?: () => number;
  /** optional sleep for tests */
  sleep?: (ms: number) => Promise<void>;
  logger?: { warn(o: object, msg?: string): void };
}

/**
 * The account lookup (the row is read on every login) and, where the store has them, app
 * passwords: a password that is not the account's own is tried as one of its app passwords.
 */
export type AccountLookup = Pick<AccountStore, "getAccount"> &
  Partial<Pick<AccountStore, "verifyAppPassword">>;

// A syntactically valid argon2id hash of a random password, verified when the user does not exist so
// that a missing account takes as long as a wrong password (no user enumeration by timing).
let dummyHash: Promise<string> | null = null;
function getDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString("hex"));
  return dummyHash;
}

export function createAuthenticator(store: AccountLookup, opts: AuthenticatorOptions): Authenticator {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.()));
  const salt = randomBytes(32);
  const cacheMax = opts.cacheMaxEntries ?? 10_000;
  const cache = new Map<string, { accountId: number; expires: number }>();
  const throttle =
    opts.throttle ??
    localThrottle(
      new ThrottleState({
        maxFailuresPerIp: opts.maxFailuresPerIp,
        maxFailuresPerUser: opts.maxFailuresPerUser,
        failureWindowMs: opts.failureWindowMs,
        lockoutMs: opts.lockoutMs,
        maxUserDelayMs: opts.maxUserDelayMs ?? 0,
      }),
      now,
    );

  function cacheKey(username: string, password: string, version: number): string {
    const h = createHash("sha256");
    h.update(salt);
    h.update(username);
    h.update("\0");
    h.update(password);
    h.update("\0");
    h.update(String(version));
    return h.digest("base64");
  }

  async function failed(ip: string, user: string, username: string, ctx: AuthContext): Promise<null> {
    const r = await throttle.fail(ip, user);
    if (r.lockout) {
      opts.logger?.warn(
        {
          user: username.slice(0, 100),
          remoteAddress: ctx.remoteAddress,
          protocol: ctx.protocol,
          by: r.lockout,
        },
        "login throttled after repeated failures",
      );
    }
    if (r.userDelayStarted) {
      opts.logger?.warn(
        {
          user: username.slice(0, 100),
          remoteAddress: ctx.remoteAddress,
          protocol: ctx.protocol,
          by: "user",
        },
        "logins for this username are delayed after repeated failures",
      );
    }
    if (opts.failureDelayMs > 0) await sleep(opts.failureDelayMs);
    return null;
  }

  return {
    async verifyPassword(rawUsername, password, ctx) {
      const username = rawUsername.trim().toLowerCase();
      const ip = throttleIpKey(ctx.remoteAddress);
      const user = throttleUserKey(username);
      const verdict = await throttle.check(ip, user);
      if (verdict.refused) {
        // locked out: the password is not checked; the answer looks like any failure
        ctx.onThrottled?.();
        if (opts.failureDelayMs > 0) await sleep(opts.failureDelayMs);
        return null;
      }
      // a username failing from several addresses: every attempt waits, the right password too
      if (verdict.delayMs > 0) await sleep(verdict.delayMs);
      const t = now();
      if (username.length === 0 || password.length === 0) return failed(ip, user, username, ctx);
      const account = await store.getAccount(username);
      if (!account) {
        await verifyHash(await getDummyHash(), password);
        return failed(ip, user, username, ctx);
      }
      if (ctx.protocol === "imap" && !account.settings.imapEnabled) return failed(ip, user, username, ctx);
      if (ctx.protocol === "pop3" && !account.settings.pop3Enabled) return failed(ip, user, username, ctx);

      const key = opts.cacheTtlMs > 0 ? cacheKey(username, password, account.credentialsVersion) : "";
      if (key) {
        const hit = cache.get(key);
        if (hit && hit.expires > t && hit.accountId === account.id) {
          throttle.succeed(ip, user);
          return account;
        }
        if (hit) cache.delete(key);
      }
      // an app password first: one indexed lookup of its SHA-256 (store/domain/app-passwords.ts),
      // cheaper than the argon2 check; never cached, so a revoked one stops working at once
      if (store.verifyAppPassword && (await store.verifyAppPassword(account.id, password, ctx.protocol))) {
        throttle.succeed(ip, user);
        return account;
      }
      if (!(await verifyHash(account.passwordHash, password))) return failed(ip, user, username, ctx);
      throttle.succeed(ip, user);
      if (key) {
        cache.set(key, { accountId: account.id, expires: now() + opts.cacheTtlMs });
        while (cache.size > cacheMax) {
          const oldest = cache.keys().next();
          if (oldest.done) break;
          cache.delete(oldest.value);
        }
      }
      return account;
    },
  };
}
