/**
 * Size of a message in canonical CRLF form, computed once at append (the bytes are in hand) so
 * POP3 LIST/STAT (RFC 1939 §5: "the exact size of the message in octets") never reads content.
 *
 * Definition (the octets POP3 RETR sends before dot-stuffing, RFC 1939 §3): the delivery-header
 * prefix followed by the blob, every LF not preceded by CR counted as CRLF, plus a final CRLF when
 * the message is non-empty and does not end with LF. A bare CR is kept as is.
 */

const CR = 13;
const LF = 10;

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Octets of `prefix ‖ raw` in CRLF form (see the module comment). Bytes only, no copies. */
export function crlfSize(raw: Uint8Array, prefix: Uint8Array | null = null): number {
  let size = 0;
  /** byte before the current part (the prefix's last byte when scanning raw) */
  let prev = -1;
  for (const part of prefix && prefix.byteLength > 0 ? [prefix, raw] : [raw]) {
    const b = asBuffer(part);
    size += b.length;
    // one iteration per LF; each LF not preceded by CR gains one octet
    for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1)) {
      const before = i === 0 ? prev : b[i - 1]!;
      if (before !== CR) size++;
    }
    if (b.length > 0) prev = b[b.length - 1]!;
  }
  if (size > 0 && prev !== LF) size += 2;
  return size;
}
