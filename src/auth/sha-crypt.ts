/**
 * SHA-crypt ($5$ SHA-256, $6$ SHA-512), "Unix crypt using SHA-256 and SHA-512" by U. Drepper
 * (the glibc crypt(3) scheme behind Dovecot's {SHA256-CRYPT}/{SHA512-CRYPT}). Verification only:
 * postkontor writes argon2id; these hashes come from imported Dovecot/passwd data.
 */
import { createHash, timingSafeEqual } from "node:crypto";

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
/** refuse absurd round counts from imported data (a DoS on login) */
const ROUNDS_ACCEPTED_MAX = 1_000_000;

// Byte permutation of the final encoding (spec steps 22e/22f).
// biome-ignore format: table
const ORDER_512: Array<[number, number, number]> = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];
// biome-ignore format: table
const ORDER_256: Array<[number, number, number]> = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14], [15, 25, 5], [6, 16, 26],
  [27, 7, 17], [18, 28, 8], [9, 19, 29],
];

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = "";
  for (let i = 0; i < n; i++) {
    out += ITOA64[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/** Repeats `block` to exactly `len` bytes. */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let o = 0; o < len; o += block.length) block.copy(out, o, 0, Math.min(block.length, len - o));
  return out;
}

/** Computes the full crypt string for setting "$5$[rounds=N$]salt" or "$6$…". null if malformed. */
export function shaCrypt(password: string, setting: string): string | null {
  const m = /^\$([56])\$(?:rounds=(\d{1,9})\$)?([^$]*)/.exec(setting);
  if (!m) return null;
  const is512 = m[1] === "6";
  const alg = is512 ? "sha512" : "sha256";
  const H = (...parts: Buffer[]) => {
    const h = createHash(alg);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  let rounds = ROUNDS_DEFAULT;
  const customRounds = m[2] !== undefined;
  if (customRounds) rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[2])));
  if (rounds > ROUNDS_ACCEPTED_MAX) return null;
  const saltStr = m[3]!.slice(0, 16);
  const pw = Buffer.from(password, "utf8");
  const salt = Buffer.from(saltStr, "utf8");

  const B = H(pw, salt, pw);
  const aParts: Buffer[] = [pw, salt, repeatTo(B, pw.length)];
  for (let n = pw.length; n > 0; n >>>= 1) aParts.push(n & 1 ? B : pw);
  let C = H(...aParts);

  const DP = H(...Array.from({ length: pw.length }, () => pw));
  const P = repeatTo(DP, pw.length);
  const DS = H(...Array.from({ length: 16 + C[0]! }, () => salt));
  const S = repeatTo(DS, salt.length);

  for (let i = 0; i < rounds; i++) {
    const h = createHash(alg);
    h.update(i & 1 ? P : C);
    if (i % 3) h.update(S);
    if (i % 7) h.update(P);
    h.update(i & 1 ? C : P);
    C = h.digest();
  }

  let enc = "";
  if (is512) {
    for (const [a, b, c] of ORDER_512) enc += b64From24(C[a]!, C[b]!, C[c]!, 4);
    enc += b64From24(0, 0, C[63]!, 2);
  } else {
    for (const [a, b, c] of ORDER_256) enc += b64From24(C[a]!, C[b]!, C[c]!, 4);
    enc += b64From24(0, C[31]!, C[30]!, 3);
  }
  return `$${m[1]}$${customRounds ? `rounds=${rounds}$` : ""}${saltStr}$${enc}`;
}

/** Verifies a password against a "$5$…" / "$6$…" hash, in constant time over the result. */
export function verifyShaCrypt(stored: string, password: string): boolean {
  const computed = shaCrypt(password, stored);
  if (computed === null) return false;
  const a = Buffer.from(computed);
  const b = Buffer.from(stored);
  return a.length === b.length && timingSafeEqual(a, b);
}
