/**
 * Byte helpers shared by the MIME parser: buffer views, header-text → string, charset decoding,
 * transfer-encoding decoders (base64, quoted-printable) working on bytes.
 */
import iconv from "iconv-lite";
import libmime from "libmime";

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HT = 9;

/** A Buffer view over the same memory (no copy). */
export function asBuffer(raw: Uint8Array): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/** true when every byte in [s, e) is 7-bit. */
export function isAscii(buf: Uint8Array, s = 0, e = buf.length): boolean {
  for (let i = s; i < e; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

/**
 * Header bytes → JS string. RFC 6532 allows UTF-8 in headers; anything that is not valid UTF-8 is
 * taken as ISO-8859-1 (the most common legacy 8-bit header charset), so no byte is lost.
 */
export function headerText(buf: Buffer, s: number, e: number): string {
  if (e <= s) return "";
  if (isAscii(buf, s, e)) return buf.toString("latin1", s, e);
  try {
    return utf8Fatal.decode(buf.subarray(s, e));
  } catch {
    return buf.toString("latin1", s, e);
  }
}

const decoderCache = new Map<string, InstanceType<typeof TextDecoder> | null>();

function textDecoderFor(charset: string): InstanceType<typeof TextDecoder> | null {
  const key = charset.toLowerCase();
  let d = decoderCache.get(key);
  if (d === undefined) {
    try {
      d = new TextDecoder(key);
    } catch {
      d = null;
    }
    if (decoderCache.size < 256) decoderCache.set(key, d);
  }
  return d;
}

/**
 * Decode bytes in a declared charset to a string. WHATWG TextDecoder first (covers the ISO-8859,
 * windows-125x, KOI8, ISO-2022-JP, Shift_JIS, EUC, GBK, Big5 families), then iconv-lite for the
 * rest (UTF-7, odd code pages), then libmime's normaliser; unknown charsets decode as UTF-8 with
 * replacement characters (never throws).
 */
export function decodeCharset(bytes: Uint8Array, charset: string | null | undefined): string {
  let cs = (charset ?? "").trim().replace(/^["']|["']$/g, "");
  if (cs === "" || /^(us-)?ascii$/i.test(cs)) cs = "utf-8"; // 8-bit in "us-ascii" text is usually UTF-8
  const d = textDecoderFor(cs);
  if (d) {
    try {
      return d.decode(bytes);
    } catch {
      // fall through
    }
  }
  try {
    if (iconv.encodingExists(cs)) return iconv.decode(asBuffer(bytes), cs);
    const norm = libmime.normalizeCharset(cs);
    const d2 = textDecoderFor(norm);
    if (d2) return d2.decode(bytes);
    if (iconv.encodingExists(norm)) return iconv.decode(asBuffer(bytes), norm);
  } catch {
    // fall through
  }
  return asBuffer(bytes).toString("utf8");
}

/** RFC 2047 encoded words → text. Never throws; undecodable words stay as they are. */
export function decodeWords(s: string): string {
  if (!s.includes("=?")) return s;
  try {
    return libmime.decodeWords(s);
  } catch {
    return s;
  }
}

// ---- base64 (RFC 2045 §6.8), tolerant: bytes outside the alphabet are skipped ----
const B64 = new Int8Array(256).fill(-1);
{
  const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alpha.length; i++) B64[alpha.charCodeAt(i)] = i;
  // URL-safe alphabet seen in the wild
  B64["-".charCodeAt(0)] = 62;
  B64["_".charCodeAt(0)] = 63;
}

export function decodeBase64(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.floor((src.length * 3) / 4) + 3);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const v = B64[c]!;
    if (v < 0) {
      // padding ends a quantum (so concatenated base64 blobs decode); whitespace and other
      // characters outside the alphabet are ignored (RFC 2045 §6.8)
      if (c === 61) {
        acc = 0;
        bits = 0;
      }
      continue;
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

/** Decoded length of a base64 body without allocating the output. */
export function base64DecodedSize(src: Uint8Array): number {
  let total = 0;
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (B64[c]! >= 0) n++;
    else if (c === 61) {
      total += Math.floor((n * 6) / 8);
      n = 0;
    }
  }
  return total + Math.floor((n * 6) / 8);
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Quoted-printable (RFC 2045 §6.7): "=XX" → octet, "=" at line end → soft line break, trailing
 * whitespace before a line break is dropped (rule 3). Malformed "=" sequences are kept literally.
 * Line breaks are kept as they are in the input (CRLF or bare LF).
 */
export function decodeQuotedPrintable(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(src.length);
  let o = 0;
  const n = src.length;
  let i = 0;
  while (i < n) {
    const c = src[i]!;
    if (c === 61 /* = */) {
      // soft line break: "=" [WSP...] (CRLF | LF | end)
      let j = i + 1;
      while (j < n && (src[j] === SP || src[j] === HT)) j++;
      if (j >= n) {
        i = n;
        continue;
      }
      if (src[j] === LF) {
        i = j + 1;
        continue;
      }
      if (src[j] === CR && src[j + 1] === LF) {
        i = j + 2;
        continue;
      }
      if (i + 2 < n) {
        const h = hexVal(src[i + 1]!);
        const l = hexVal(src[i + 2]!);
        if (h >= 0 && l >= 0) {
          out[o++] = (h << 4) | l;
          i += 3;
          continue;
        }
      }
      out[o++] = c;
      i++;
      continue;
    }
    if (c === SP || c === HT) {
      // drop trailing whitespace at end of line
      let j = i;
      while (j < n && (src[j] === SP || src[j] === HT)) j++;
      if (j >= n || src[j] === LF || (src[j] === CR && src[j + 1] === LF)) {
        i = j;
        continue;
      }
      while (i < j) out[o++] = src[i++]!;
      continue;
    }
    out[o++] = c;
    i++;
  }
  return out.subarray(0, o);
}

/** Number of text lines in [s, e): LF count, plus one for a final line without LF. */
export function countLines(buf: Buffer, s: number, e: number): number {
  if (e <= s) return 0;
  const view = buf.subarray(s, e);
  let n = 0;
  let pos = view.indexOf(LF, 0);
  while (pos !== -1) {
    n++;
    pos = view.indexOf(LF, pos + 1);
  }
  if (view[view.length - 1] !== LF) n++;
  return n;
}
