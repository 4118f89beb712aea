/**
 * Modified UTF-7 for mailbox names (RFC 3501 §5.1.3; RFC 9051 §5.1.3 keeps it for clients that
 * have not enabled UTF-8). Printable US-ASCII except "&" stands for itself; "&" is "&-"; other
 * characters are UTF-16 code units in modified BASE64 (RFC 2045 alphabet with "," for "/", no
 * padding) between "&" and "-".
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

function isDirect(code: number): boolean {
  // RFC 3501 §5.1.3: 0x20-0x25 and 0x27-0x7e represent themselves
  return code >= 0x20 && code <= 0x7e && code !== 0x26;
}

function encodeRun(units: number[]): string {
  let out = "&";
  let bits = 0;
  let acc = 0;
  for (const u of units) {
    acc = (acc << 16) | u;
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 0x3f];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 0x3f];
  return out + "-";
}

/** Encode a Unicode mailbox name to modified UTF-7. */
export function mutf7Encode(name: string): string {
  let out = "";
  let run: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (isDirect(code)) {
      if (run.length) {
        out += encodeRun(run);
        run = [];
      }
      out += name[i];
    } else if (code === 0x26 && run.length === 0) {
      out += "&-";
    } else if (code === 0x26) {
      out += encodeRun(run) + "&-";
      run = [];
    } else {
      run.push(code);
    }
  }
  if (run.length) out += encodeRun(run);
  return out;
}

/**
 * Decode a modified UTF-7 mailbox name. Returns null for invalid input: 8-bit or control
 * characters, unterminated or empty-but-not-"&-" shifts, non-zero padding bits, characters that
 * should have been direct, unpaired surrogates, or two adjacent encoded runs (RFC 3501 §5.1.3
 * requires one shift per run) — so that each name has exactly one encoding.
 */
export function mutf7Decode(text: string): string | null {
  let out = "";
  let i = 0;
  let lastRunEnd = -1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code !== 0x26) {
      if (!isDirect(code)) return null;
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf("-", i + 1);
    if (end < 0) return null;
    if (end === i + 1) {
      out += "&";
      i = end + 1;
      continue;
    }
    if (lastRunEnd === i) return null; // "&AAA-&BBB-" must be one run
    let bits = 0;
    let acc = 0;
    const units: number[] = [];
    for (let j = i + 1; j < end; j++) {
      const c = text.charCodeAt(j);
      const v = c < 128 ? DECODE[c]! : -1;
      if (v < 0) return null;
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 16) {
        bits -= 16;
        units.push((acc >> bits) & 0xffff);
        acc &= (1 << bits) - 1;
      }
    }
    // leftover must be fewer than 6 bits and zero
    if (bits >= 6 || acc !== 0 || units.length === 0) return null;
    for (let k = 0; k < units.length; k++) {
      const u = units[k]!;
      if (isDirect(u) || u === 0x26) return null;
      if (u >= 0xd800 && u <= 0xdbff) {
        const lo = units[k + 1];
        if (lo === undefined || lo < 0xdc00 || lo > 0xdfff) return null;
        out += String.fromCharCode(u, lo);
        k++;
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return null;
      } else {
        out += String.fromCharCode(u);
      }
    }
    i = end + 1;
    lastRunEnd = i;
  }
  return out;
}
