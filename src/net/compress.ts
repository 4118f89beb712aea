/**
 * DEFLATE compression layer beneath a line session (IMAP COMPRESS=DEFLATE, RFC 4978): raw
 * DEFLATE (RFC 1951, no zlib header) in both directions over the session's socket.
 *
 * Implementation notes
 * - Input: socket bytes → inflater → `onPlain` (the session's reader). The session's own limits
 *   (line length, literal size, buffered input) apply to the decompressed stream. Decompression
 *   bombs: the inflater emits at most INFLATE_CHUNK bytes per 'data' event and stops producing
 *   while paused (Node's zlib waits for the consumer before it decompresses more of a chunk), and
 *   the socket is paused while the inflater has input queued, so decompressed bytes in memory
 *   stay bounded by the session's buffered-input limit plus a few chunks.
 * - Output: `write` feeds the deflater; one Z_SYNC_FLUSH per burst (the writes made before the
 *   event loop turns, setImmediate) so the client sees each response promptly (RFC 4978 §4:
 *   the server flushes when it has nothing more to send). The deflater's output goes to the
 *   socket with backpressure: the deflater pauses while the socket is full, its input then
 *   backs up, and `write` returns false until its 'drain' (→ `onDrain`).
 * - Memory (docs/architecture.md, docs/benchmarks.md): the deflater uses windowBits 12 and
 *   memLevel 6 — zlib needs 2^(wb+2) + 2^(ml+9) = 48 KiB instead of 256 KiB with the defaults;
 *   RFC 4978 §4 lets the compressor pick its window. The inflater must accept the client's
 *   window (up to 15: 32 KiB, allocated by zlib on first output). Node's output buffers are
 *   small (chunkSize), so an idle connection holds only the two zlib states.
 * - Quiet release (`quiet(true)`, the session in IDLE): once a flush has gone out whole, the
 *   deflater is destroyed and the next write makes a fresh one. This is sound because a raw
 *   DEFLATE stream is only a sequence of blocks (RFC 1951 §3.2.3, no header): after Z_SYNC_FLUSH
 *   the stream stands at a byte-aligned block boundary with no block open and no final block
 *   sent, and a new compressor's blocks may follow — they just reference nothing before them
 *   (back-references are allowed, never required). The deflater is most of a compressed idle
 *   connection's memory (measured ~115 KiB RSS with Node's zlib, the hash table included; see
 *   docs/benchmarks.md). The inflater cannot be released the same way: the client's next
 *   block may reference up to 32 KiB of earlier input, so its window must live on; only the
 *   pages zlib has written to count, which for an idle connection is little.
 * - end(): finishes the deflate stream and ends the socket once everything was written.
 */
import type { Socket } from "node:net";
import zlib, { type DeflateRaw, type InflateRaw } from "node:zlib";

/** deflate window (RFC 1951: 2^wb bytes of history); see the memory note above */
export const DEFLATE_WINDOW_BITS = 12;
export const DEFLATE_MEM_LEVEL = 6;
/** decompressed bytes per 'data' event (the per-chunk inflate cap) */
export const INFLATE_CHUNK = 16 * 1024;
const DEFLATE_CHUNK = 4 * 1024;

export interface CompressionHooks {
  /** decompressed input for the session's reader */
  onPlain(chunk: Buffer): void;
  /** the deflater accepts writes again */
  onDrain(): void;
  /** corrupt input or a zlib failure: the connection cannot continue */
  onError(err: Error): void;
}

export class DeflateLayer {
  private readonly socket: Socket;
  private readonly inflater: InflateRaw;
  /** created on the first write after a quiet release (and at first) */
  private deflater: DeflateRaw | null = null;
  private readonly hooks: CompressionHooks;
  /** release the deflater whenever a flush has gone out whole (see the quiet-release note) */
  private releaseWhenFlushed = false;
  /** a flush was handed to zlib and its callback has not run yet */
  private flushing = false;
  /** the session asked to stop input (its reader holds enough) */
  private held = false;
  /** the inflater has input queued beyond its buffer */
  private inflaterFull = false;
  private flushPending = false;
  private ended = false;

  constructor(socket: Socket, hooks: CompressionHooks) {
    this.socket = socket;
    this.hooks = hooks;
    // RFC 4978 §4: the client may use any window up to 32 KiB, so the inflater takes 15
    this.inflater = zlib.createInflateRaw({ windowBits: 15, chunkSize: INFLATE_CHUNK });
    this.inflater.on("data", hooks.onPlain);
    this.inflater.on("drain", () => {
      this.inflaterFull = false;
      if (!this.held) this.socket.resume();
    });
    this.inflater.on("error", hooks.onError);
    this.getDeflater();
    // the connection is gone: free both zlib states at once
    socket.once("close", () => this.destroy());
  }

  private getDeflater(): DeflateRaw {
    if (this.deflater !== null) return this.deflater;
    const d = zlib.createDeflateRaw({
      windowBits: DEFLATE_WINDOW_BITS,
      memLevel: DEFLATE_MEM_LEVEL,
      chunkSize: DEFLATE_CHUNK,
    });
    d.on("data", (out: Buffer) => {
      if (!this.socket.destroyed && !this.socket.write(out)) d.pause();
    });
    d.on("drain", this.hooks.onDrain);
    d.on("error", this.hooks.onError);
    d.on("end", () => {
      if (!this.socket.destroyed) this.socket.end();
    });
    this.deflater = d;
    return d;
  }

  /**
   * Quiet mode (the session idles, e.g. in IDLE): the deflater is released after every flush
   * that has gone out whole, and re-created by the next write. Off again when the session works.
   */
  quiet(on: boolean): void {
    this.releaseWhenFlushed = on;
    if (on) this.maybeRelease();
  }

  /** true while a deflater (its zlib state) exists */
  get holdsDeflater(): boolean {
    return this.deflater !== null;
  }

  private maybeRelease(): void {
    const d = this.deflater;
    if (!this.releaseWhenFlushed || d === null || this.ended) return;
    // everything written was flushed, and the flush's output was handed to the socket
    if (this.flushPending || this.flushing || d.writableLength > 0 || d.readableLength > 0) return;
    if (d.isPaused()) return; // the socket is full: release after a later flush
    this.deflater = null;
    d.destroy();
  }

  /** compressed bytes from the socket */
  input(chunk: Buffer): void {
    if (chunk.length === 0 || this.inflater.destroyed) return;
    if (!this.inflater.write(chunk)) {
      this.inflaterFull = true;
      this.socket.pause();
    }
  }

  pause(): void {
    this.held = true;
    this.inflater.pause();
    this.socket.pause();
  }

  resume(): void {
    this.held = false;
    this.inflater.resume();
    if (!this.inflaterFull) this.socket.resume();
  }

  /** the socket drained: let the deflater's output flow again */
  socketDrained(): void {
    this.deflater?.resume();
  }

  /** Compresses data; false = wait for onDrain before writing more. */
  write(data: string | Uint8Array): boolean {
    if (this.ended) return true;
    const d = this.getDeflater();
    if (d.destroyed) return true;
    const ok = d.write(data);
    if (!this.flushPending) {
      this.flushPending = true;
      setImmediate(this.flush);
    }
    return ok;
  }

  private readonly flush = (): void => {
    this.flushPending = false;
    const d = this.deflater;
    if (this.ended || d === null || d.destroyed) return;
    // RFC 4978 §4: flush so that the client can decompress the whole response now
    this.flushing = true;
    d.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      if (this.deflater !== d) return;
      this.flushing = false;
      this.maybeRelease();
    });
  };

  /** Finishes the compressed stream; the socket ends once the last bytes were written. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.inflater.destroy();
    // released while quiet: a fresh deflater writes the final block (RFC 1951 §3.2.3 BFINAL)
    const d = this.deflater ?? this.getDeflater();
    if (d.destroyed) {
      this.socket.end();
      return;
    }
    d.end();
  }

  /** Frees the zlib states (the connection is gone). */
  destroy(): void {
    this.ended = true;
    this.inflater.destroy();
    this.deflater?.destroy();
  }
}
