/**
 * New Email ids (`M…`; a new Thread takes the same characters after `T`, threads.ts): 48 bits of
 * the clock in milliseconds, then 48 random bits, written as 16 characters of base64url's alphabet
 * taken in ASCII order (docs/architecture.md "Object ids"). Ids made later sort later as strings,
 * so the message indexes keyed by them ((account, email id) and (account, thread id)) take a bulk
 * append's rows at one end, and a deleted mailbox's rows lie side by side for the purge, instead
 * of one random index page per message. The ids stay
 * opaque to clients (RFC 8620 §1.2 characters, RFC 8474 OBJECTID syntax); the random half keeps
 * ids made in the same millisecond, by any process or node, apart.
 */
import { randomFillSync } from "node:crypto";

/** the 64 characters of base64url (RFC 4648 §5) in ASCII order */
const SORTED_BASE64URL = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/** random bytes drawn from the system at a time (6 per id) */
const POOL_BYTES = 6 * 512;

const pool = Buffer.alloc(POOL_BYTES);
let poolAt = POOL_BYTES;
const bytes = Buffer.alloc(12);

/** 12 bytes as 16 characters of SORTED_BASE64URL (3 bytes → 4 characters, most significant first) */
function encode(b: Buffer): string {
  let s = "";
  for (let i = 0; i < 12; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s +=
      SORTED_BASE64URL[v >>> 18]! +
      SORTED_BASE64URL[(v >>> 12) & 63]! +
      SORTED_BASE64URL[(v >>> 6) & 63]! +
      SORTED_BASE64URL[v & 63]!;
  }
  return s;
}

/** `prefix` followed by a new time-ordered id (`now`: the clock, for tests) */
export function newObjectId(prefix: string, now = Date.now()): string {
  if (poolAt >= POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  bytes.writeUIntBE(Math.max(0, Math.min(now, 2 ** 48 - 1)), 0, 6);
  pool.copy(bytes, 6, poolAt, poolAt + 6);
  poolAt += 6;
  return prefix + encode(bytes);
}
