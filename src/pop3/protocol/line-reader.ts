/**
 * Bounded line reader for POP3 commands (RFC 1939 §3: commands end with CRLF; a bare LF is
 * accepted too, as most servers do). Input chunks are queued without copying; a line is
 * assembled only when its LF has arrived. A line longer than maxLineLength is discarded up to and
 * including its LF and reported once as "too-long" (RFC 2449 §4: 255 octets for commands; we
 * allow a configurable, larger limit because SASL initial responses are longer, RFC 5034 §4).
 */

export const TOO_LONG = "too-long" as const;

export class LineReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** bytes of the current line already scanned without finding LF (across chunks) */
  private scanned = 0;
  /** discarding an over-long line until its LF */
  private discarding = false;
  private pendingTooLong = false;
  private readonly maxLineLength: number;

  constructor(maxLineLength: number) {
    this.maxLineLength = maxLineLength;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** drops everything buffered (RFC 2595 §4: nothing pipelined after STLS may be used) */
  clear(): void {
    this.chunks = [];
    this.buffered = 0;
    this.scanned = 0;
    this.discarding = false;
    this.pendingTooLong = false;
  }

  /** Next complete line without its CRLF/LF; "too-long" once per over-long line; null = need more input. */
  next(): Buffer | typeof TOO_LONG | null {
    // each iteration consumes input or returns; bounded by the number of queued chunks
    for (let guard = 0; guard <= this.chunks.length + 1; guard++) {
      if (this.pendingTooLong && !this.discarding) {
        this.pendingTooLong = false;
        return TOO_LONG;
      }
      const lf = this.findLf();
      if (lf < 0) {
        if (!this.discarding && this.buffered > this.maxLineLength + 1) {
          // over-long: drop what we have, keep discarding until LF
          this.discarding = true;
          this.chunks = [];
          this.buffered = 0;
          this.scanned = 0;
          this.pendingTooLong = true;
        } else if (this.discarding) {
          this.chunks = [];
          this.buffered = 0;
          this.scanned = 0;
        }
        return null;
      }
      const line = this.take(lf + 1);
      if (this.discarding) {
        this.discarding = false;
        continue; // pendingTooLong is reported at the top of the loop
      }
      let end = line.length - 1;
      if (end > 0 && line[end - 1] === 13) end--;
      if (end > this.maxLineLength) return TOO_LONG;
      return line.subarray(0, end);
    }
    return null;
  }

  /** absolute offset of the first LF in the queued input, or -1 */
  private findLf(): number {
    let base = 0;
    let skip = this.scanned;
    for (const c of this.chunks) {
      if (skip >= c.length) {
        skip -= c.length;
        base += c.length;
        continue;
      }
      const i = c.indexOf(10, skip);
      if (i >= 0) return base + i;
      base += c.length;
      skip = 0;
    }
    this.scanned = this.buffered;
    return -1;
  }

  private take(n: number): Buffer {
    this.scanned = 0;
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        parts.push(c);
        left -= c.length;
        this.chunks.shift();
      } else {
        parts.push(c.subarray(0, left));
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    return Buffer.concat(parts, n);
  }
}
