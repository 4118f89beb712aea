/**
 * Message octets on the POP3 wire — PURE, bytes only (never decoded to strings).
 *
 * RFC 1939 §3: multi-line responses are byte-stuffed: a line starting with "." gets another "."
 * prepended, and the response ends with CRLF "." CRLF. Lines end with CRLF on the wire, so a stored
 * message with bare LF line ends is sent with CRLF. A bare CR (not followed by LF) is sent as is.
 *
 * Sizes (RFC 1939 §5 LIST/STAT: "the exact size of the message in octets"): pop3Size() is the number
 * of octets RETR sends before dot-stuffing and before the terminating ".CRLF": the message with
 * LF normalised to CRLF, plus the CRLF we must add when the message does not end with a line end.
 * DotStuffer emits exactly those octets (plus the stuffing dots) followed by ".CRLF".
 */

const CR = 13;
const LF = 10;
const DOT = 46;
const CRLF = Buffer.from("\r\n");
const TERMINATOR = Buffer.from(".\r\n");
const DOT_BUF = Buffer.from(".");
const LF_DOT = Buffer.from("\n.");

/** true when `pop3Size` (see below) of `raw` shows it has no bare LF (DotStuffer crlfOnly) */
export function isCrlfOnly(raw: Uint8Array, pop3Size: number): boolean {
  const n = raw.length;
  if (pop3Size === n) return true; // no bare LF, ends with a line end
  return pop3Size === n + 2 && n > 0 && raw[n - 1] !== LF; // no bare LF, no final line end
}

/** Octets RETR sends for `raw` (CRLF-normalised, final line end included), before dot-stuffing. */
export function pop3Size(raw: Uint8Array): number {
  const b = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let size = b.length;
  // count LFs not preceded by CR: each gains one octet
  for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1)) {
    if (i === 0 || b[i - 1] !== CR) size++;
  }
  if (b.length > 0 && b[b.length - 1] !== LF) size += 2;
  return size;
}

/**
 * Streaming CRLF normalisation + dot-stuffing. transform() may be called with consecutive slices
 * of one message; finish() returns the tail (a line end if needed) and the terminator.
 * Output chunks reference the input where no change is needed (no copies of unchanged runs).
 *
 * crlfOnly: the caller knows the message has no bare LF (its pop3Size() equals its length, or
 * its length + 2 when it lacks a final line end). Then every LF ends a CRLF line and only
 * "LF ." needs work: one indexOf per stuffed line instead of one per line.
 */
export class DotStuffer {
  /** the next input byte starts a line */
  private atLineStart = true;
  /** the last input byte was CR (for a CRLF split across slices) */
  private lastCr = false;
  private readonly crlfOnly: boolean;

  constructor(opts: { crlfOnly?: boolean } = {}) {
    this.crlfOnly = opts.crlfOnly ?? false;
  }

  transform(input: Uint8Array): Buffer {
    const out = this.transformParts(input);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** like transform(), as a list of chunks (slices of the input where unchanged; never empty) */
  transformParts(input: Uint8Array): Buffer[] {
    const b = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (b.length === 0) return [b];
    const out: Buffer[] = [];
    let runStart = 0; // start of the current unchanged run
    if (this.atLineStart && b[0] === DOT) out.push(DOT_BUF); // RFC 1939 §3 byte-stuffing
    if (this.crlfOnly) {
      // one iteration per line starting with "."
      for (let i = b.indexOf(LF_DOT); i >= 0; i = b.indexOf(LF_DOT, i + 1)) {
        out.push(b.subarray(runStart, i + 1), DOT_BUF);
        runStart = i + 1;
      }
    } else {
      let pos = 0;
      // one iteration per LF in the input
      for (let lf = b.indexOf(LF, pos); lf >= 0; lf = b.indexOf(LF, pos)) {
        const prevCr = lf > 0 ? b[lf - 1] === CR : this.lastCr;
        if (!prevCr) {
          // bare LF → CRLF
          out.push(b.subarray(runStart, lf), CRLF);
          runStart = lf + 1;
        }
        pos = lf + 1;
        if (pos < b.length && b[pos] === DOT) {
          out.push(b.subarray(runStart, pos), DOT_BUF);
          runStart = pos;
        }
      }
    }
    out.push(b.subarray(runStart));
    const last = b[b.length - 1]!;
    this.atLineStart = last === LF;
    this.lastCr = last === CR;
    return out;
  }

  /** CRLF if the data did not end with a line end, then ".CRLF" (RFC 1939 §3). */
  finish(): Buffer {
    return this.atLineStart ? TERMINATOR : Buffer.concat([CRLF, TERMINATOR]);
  }
}

/**
 * RFC 1939 §7 TOP msg n: the header, the blank line separating it from the body, and the first n
 * lines of the body. Returns the offset just past those octets in `raw`. A message without a blank
 * line is all header. Works on raw bytes with CRLF or bare LF line ends.
 */
export function topEnd(raw: Uint8Array, n: number): number {
  const b = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let pos = 0;
  // header: lines until an empty one (RFC 5322 §2.1); one iteration per header line
  for (;;) {
    const lf = b.indexOf(LF, pos);
    if (lf < 0) return b.length;
    const empty = lf === pos || (lf === pos + 1 && b[pos] === CR);
    pos = lf + 1;
    if (empty) break;
  }
  // n body lines; one iteration per line
  for (let i = 0; i < n; i++) {
    if (pos >= b.length) return b.length;
    const lf = b.indexOf(LF, pos);
    if (lf < 0) return b.length;
    pos = lf + 1;
  }
  return pos;
}
