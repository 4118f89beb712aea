/**
 * Incremental, bounded IMAP command reader (RFC 9051 §2.2, §4.3 literals; RFC 7888 LITERAL+/-;
 * RFC 3516 literal8).
 *
 * Usage by a session:
 *   reader.push(chunk);
 *   for (let ev = reader.next(); ev; ev = reader.next()) { ... }
 * On `{type:"literal"}` the session MUST call acceptLiteral() (writing `+ Ready for literal data`
 * first when `sync`) or rejectLiteral() before calling next() again.
 * For IDLE's DONE and AUTHENTICATE continuation lines, use nextLine() instead of next().
 *
 * Memory: unconsumed input is only what the session pushed and has not yet pulled with next();
 * the reader itself keeps at most maxLineLength bytes of command text plus the literal(s) of the
 * current command (bounded by maxLiteralSize each and maxCommandSize in total).
 */
import type { Command } from "./commands.ts";
import { type CommandInput, parseCommand } from "./parser.ts";

export interface ReaderLimits {
  /** max bytes of command text (excluding literals and CRLF) of one command; also for nextLine() */
  maxLineLength: number;
  /** max size of one literal */
  maxLiteralSize: number;
  /** RFC 7888 LITERAL-: non-synchronizing literals larger than 4096 bytes are refused */
  literalMinus?: boolean;
  /** max total literal bytes in one command (MULTIAPPEND); default 4 × maxLiteralSize */
  maxCommandSize?: number;
}

export type ReaderEvent =
  | { type: "command"; tag: string; command: Command }
  | {
      type: "literal";
      tag: string | null;
      size: number;
      /** true: `{n}` — the session must send a continuation request before the client sends data */
      sync: boolean;
      /** literal8 `~{n}` (RFC 3516) */
      binary: boolean;
      /** upper-cased command name from the first line ("APPEND", "UID SEARCH", ...), null if unknown */
      commandName: string | null;
    }
  | { type: "bad"; tag: string | null; message: string }
  | { type: "error"; kind: "line-too-long"; tag: string | null }
  | {
      type: "error";
      kind: "literal-too-large";
      tag: string | null;
      size: number;
      sync: boolean;
      /** the limit that was exceeded (maxLiteralSize, 4096 for LITERAL-, or what is left of maxCommandSize) */
      limit: number;
    };

/** Returned by nextLine() when a raw line exceeds maxLineLength (the line has been discarded). */
export interface LineTooLong {
  type: "error";
  kind: "line-too-long";
  tag: null;
}

type State =
  /** reading a line of command text */
  | { s: "line" }
  /** literal event emitted; waiting for acceptLiteral()/rejectLiteral() */
  | { s: "decide"; size: number; sync: boolean; binary: boolean }
  /** reading literal bytes */
  | { s: "literal"; remaining: number; parts: Buffer[]; binary: boolean }
  /** skipping bytes of a refused non-synchronizing literal; then skip the rest of the command */
  | { s: "skip-literal"; remaining: number }
  /** skipping the rest of a refused command: a line, and further non-sync literals */
  | { s: "skip-line" }
  /** discarding up to the end of an over-long line */
  | { s: "discard" };

const LF = 0x0a;
const CR = 0x0d;
/** RFC 7888 §5: LITERAL- limits non-synchronizing literals to 4096 octets */
const LITERAL_MINUS_MAX = 4096;
const SMALL_CHUNK = 4096;
/** the resting state, shared: it has no fields of its own (memory per idle connection) */
const LINE: State = Object.freeze({ s: "line" });
/** normalised limits per limits object: sessions that pass the same object share one */
const normalised = new WeakMap<ReaderLimits, Required<ReaderLimits>>();

/** RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+"> */
function isTagChar(c: number): boolean {
  // ASTRING-CHAR = ATOM-CHAR / resp-specials; ATOM-CHAR excludes ( ) { SP CTL % * " \ ]
  if (c <= 0x20 || c >= 0x7f) return false;
  return (
    c !== 0x28 &&
    c !== 0x29 &&
    c !== 0x7b &&
    c !== 0x25 &&
    c !== 0x2a &&
    c !== 0x22 &&
    c !== 0x5c &&
    c !== 0x2b
  );
}

/** Extract the tag from the start of a first command line, or null when invalid. */
export function extractTag(line: Buffer): string | null {
  let i = 0;
  while (i < line.length && isTagChar(line[i]!)) i++;
  if (i === 0) return null;
  if (i < line.length && line[i] !== 0x20) return null;
  return line.toString("latin1", 0, i);
}

/** Matches a literal announcement at the end of a line: `{n}`, `{n+}`, `~{n}`, `~{n+}`. */
function literalAtEnd(line: Buffer): { size: number; sync: boolean; binary: boolean; start: number } | null {
  const n = line.length;
  if (n < 3 || line[n - 1] !== 0x7d) return null;
  let i = n - 2;
  let sync = true;
  if (line[i] === 0x2b) {
    sync = false;
    i--;
  }
  const digitsEnd = i + 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) i--;
  const digitsStart = i + 1;
  if (digitsStart === digitsEnd || i < 0 || line[i] !== 0x7b) return null;
  // RFC 9051 §9 number64: more than 19 digits cannot be a valid size; treat as huge
  const digits = line.toString("latin1", digitsStart, digitsEnd);
  const size = digits.length > 18 ? Number.MAX_SAFE_INTEGER : Number(digits);
  const binary = i > 0 && line[i - 1] === 0x7e;
  return { size, sync, binary, start: binary ? i - 1 : i };
}

export class CommandReader {
  private limits: Required<ReaderLimits>;
  private rawLimits: ReaderLimits;
  private chunks: Buffer[] = [];
  private head = 0;
  private queued = 0;
  /** bytes from the read position known to contain no LF */
  private noLF = 0;
  private state: State = LINE;
  /** text segments and literals of the command being assembled */
  private texts: Buffer[] = [];
  private literals: CommandInput["literals"] = [];
  private textTotal = 0;
  private literalTotal = 0;
  private tag: string | null = null;
  private commandName: string | null = null;

  /** limits: not copied (treat it as immutable); readers given the same object share its normal form */
  constructor(limits: ReaderLimits) {
    this.rawLimits = limits;
    this.limits = normalise(limits);
  }

  /** Change limits (e.g. raise maxLiteralSize after login); applies to literals announced from now on. */
  setLimits(limits: Partial<ReaderLimits>): void {
    this.useLimits({ ...this.rawLimits, ...limits });
  }

  /** Replace all limits with this (immutable, possibly shared) object. */
  useLimits(limits: ReaderLimits): void {
    this.rawLimits = limits;
    this.limits = normalise(limits);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    // coalesce small chunks (e.g. a client sending a byte per packet) so the chunk list stays short
    const last = this.chunks[this.chunks.length - 1];
    if (last && last.length < SMALL_CHUNK && chunk.length < SMALL_CHUNK) {
      this.chunks[this.chunks.length - 1] = Buffer.concat([last, chunk]);
    } else {
      this.chunks.push(chunk);
    }
    this.queued += chunk.length;
  }

  /** Bytes pushed but not yet consumed (a session may pause its socket when this grows). */
  get bufferedBytes(): number {
    return this.queued;
  }

  /**
   * Removes and returns every byte pushed but not yet consumed (RFC 4978 COMPRESS: what the
   * client pipelined after the command is compressed and belongs to the inflater).
   */
  takeBuffered(): Buffer {
    return this.take(this.queued);
  }

  /** True when the reader sits between commands (no partial command buffered). */
  get idle(): boolean {
    return this.state.s === "line" && this.texts.length === 0 && this.queued === 0;
  }

  /** Next event, or null when more input is needed. */
  next(): ReaderEvent | null {
    // each iteration consumes input or changes state; bounded by the bytes queued
    for (;;) {
      const st = this.state;
      switch (st.s) {
        case "decide":
          throw new Error("CommandReader: acceptLiteral() or rejectLiteral() must be called first");
        case "discard": {
          const lf = this.indexOfLF(Number.POSITIVE_INFINITY);
          if (lf < 0) {
            this.skip(this.queued);
            return null;
          }
          this.skip(lf + 1);
          this.resetCommand();
          continue;
        }
        case "skip-literal": {
          const n = Math.min(st.remaining, this.queued);
          this.skip(n);
          st.remaining -= n;
          if (st.remaining > 0) return null;
          this.state = { s: "skip-line" };
          continue;
        }
        case "skip-line": {
          const lf = this.indexOfLF(this.limits.maxLineLength + 2);
          if (lf === -2) {
            this.state = { s: "discard" };
            continue;
          }
          if (lf < 0) return null;
          const line = stripCR(this.take(lf + 1));
          const lit = literalAtEnd(line);
          if (lit && !lit.sync) {
            this.state = { s: "skip-literal", remaining: lit.size };
          } else {
            this.resetCommand();
          }
          continue;
        }
        case "literal": {
          if (this.queued === 0) return null;
          const n = Math.min(st.remaining, this.queued);
          st.parts.push(this.take(n));
          st.remaining -= n;
          if (st.remaining > 0) return null;
          const data = st.parts.length === 1 ? st.parts[0]! : Buffer.concat(st.parts);
          this.literals.push({ data, binary: st.binary });
          this.literalTotal += data.length;
          this.state = LINE;
          continue;
        }
        case "line": {
          const room = this.limits.maxLineLength - this.textTotal;
          const lf = this.indexOfLF(room + 2);
          if (lf === -2 || (lf >= 0 && lineLength(this, lf) > room)) {
            // RFC 9051 §4.3 / docs/architecture.md "Limits": bounded line; discard to the next LF and go on
            const tag =
              this.tag ?? (this.texts.length === 0 ? extractTag(this.peek(Math.min(this.queued, 64))) : null);
            this.state = { s: "discard" };
            this.texts = [];
            this.literals = [];
            return { type: "error", kind: "line-too-long", tag };
          }
          if (lf < 0) return null;
          const line = stripCR(this.take(lf + 1));
          const first = this.texts.length === 0;
          if (first) {
            if (line.length === 0) continue; // empty line between commands: ignore
            this.tag = extractTag(line);
            this.commandName = commandNameOf(line);
          }
          this.texts.push(line);
          this.textTotal += line.length;
          const lit = literalAtEnd(line);
          if (!lit) return this.finishCommand();
          if (this.tag === null) {
            // no valid tag: refuse at once instead of collecting a literal for a command we cannot answer
            this.refuse(lit.sync, lit.size);
            return { type: "bad", tag: null, message: "Missing or invalid tag" };
          }
          const left = this.limits.maxCommandSize - this.literalTotal;
          let limit = -1;
          if (!lit.sync && this.limits.literalMinus && lit.size > LITERAL_MINUS_MAX)
            limit = LITERAL_MINUS_MAX;
          else if (lit.size > this.limits.maxLiteralSize) limit = this.limits.maxLiteralSize;
          else if (lit.size > left) limit = left;
          if (limit >= 0) {
            const tag = this.tag;
            this.refuse(lit.sync, lit.size);
            return { type: "error", kind: "literal-too-large", tag, size: lit.size, sync: lit.sync, limit };
          }
          this.state = { s: "decide", size: lit.size, sync: lit.sync, binary: lit.binary };
          return {
            type: "literal",
            tag: this.tag,
            size: lit.size,
            sync: lit.sync,
            binary: lit.binary,
            commandName: this.commandName,
          };
        }
      }
    }
  }

  /** Accept the announced literal: its bytes become part of the command. */
  acceptLiteral(): void {
    const st = this.state;
    if (st.s !== "decide") throw new Error("CommandReader: no literal pending");
    this.state = { s: "literal", remaining: st.size, parts: [], binary: st.binary };
    if (st.size === 0) {
      this.literals.push({ data: Buffer.alloc(0), binary: st.binary });
      this.state = LINE;
    }
  }

  /**
   * Refuse the announced literal: the rest of the command is discarded (for a non-synchronizing
   * literal the announced bytes and any further non-synchronizing literals are skipped, RFC 7888 §4).
   */
  rejectLiteral(): void {
    const st = this.state;
    if (st.s !== "decide") throw new Error("CommandReader: no literal pending");
    this.refuse(st.sync, st.size);
  }

  /**
   * A raw line without its CRLF (IDLE "DONE", AUTHENTICATE responses), or null when more input is
   * needed. An over-long line is discarded and reported as LineTooLong.
   */
  nextLine(): Buffer | LineTooLong | null {
    if (this.state.s === "discard") {
      const lf = this.indexOfLF(Number.POSITIVE_INFINITY);
      if (lf < 0) {
        this.skip(this.queued);
        return null;
      }
      this.skip(lf + 1);
      this.resetCommand();
    }
    if (this.state.s !== "line" || this.texts.length > 0) {
      throw new Error("CommandReader: nextLine() called in the middle of a command");
    }
    const lf = this.indexOfLF(this.limits.maxLineLength + 2);
    if (lf === -2 || (lf >= 0 && lineLength(this, lf) > this.limits.maxLineLength)) {
      if (lf >= 0) this.skip(lf + 1);
      else this.state = { s: "discard" };
      return { type: "error", kind: "line-too-long", tag: null };
    }
    if (lf < 0) return null;
    return stripCR(this.take(lf + 1));
  }

  // -------------------------------------------------------------------------------------------

  private refuse(sync: boolean, size: number): void {
    this.texts = [];
    this.literals = [];
    this.textTotal = 0;
    this.literalTotal = 0;
    // RFC 9051 §7.5: after a refused synchronizing literal the client sends nothing more of the command
    if (sync) this.resetCommand();
    else this.state = { s: "skip-literal", remaining: size };
  }

  private finishCommand(): ReaderEvent {
    const input: CommandInput = { texts: this.texts, literals: this.literals };
    this.resetCommand();
    const r = parseCommand(input);
    if (r.ok) return { type: "command", tag: r.tag, command: r.command };
    return { type: "bad", tag: r.tag, message: r.message };
  }

  private resetCommand(): void {
    this.state = LINE;
    this.texts = [];
    this.literals = [];
    this.textTotal = 0;
    this.literalTotal = 0;
    this.tag = null;
    this.commandName = null;
  }

  /**
   * Offset of the next LF relative to the read position; -1 when not found among the queued bytes
   * and fewer than `limit` bytes are queued; -2 when not found within `limit` bytes.
   */
  private indexOfLF(limit: number): number {
    // resume after the bytes already known to hold no LF: keeps byte-at-a-time input linear
    let off = 0;
    let start = this.head;
    for (const c of this.chunks) {
      const len = c.length - start;
      if (off + len <= this.noLF) {
        off += len;
        start = 0;
        continue;
      }
      const from = Math.max(start, start + this.noLF - off);
      const idx = c.indexOf(LF, from);
      if (idx >= 0) {
        const at = off + idx - start;
        return at >= limit ? -2 : at;
      }
      off += len;
      start = 0;
      this.noLF = off;
      if (off >= limit) return -2;
    }
    return -1;
  }

  /** byte at relative offset i (i < queued) */
  byteAt(i: number): number {
    let j = i + this.head;
    for (const c of this.chunks) {
      if (j < c.length) return c[j]!;
      j -= c.length;
    }
    return -1;
  }

  private peek(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let w = 0;
    let start = this.head;
    for (const c of this.chunks) {
      if (w >= n) break;
      const k = Math.min(c.length - start, n - w);
      c.copy(out, w, start, start + k);
      w += k;
      start = 0;
    }
    return out;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) {
      // fast path: a view into the first chunk. Copy so that the chunk can be released.
      const out = Buffer.from(first.subarray(this.head, this.head + n));
      this.skip(n);
      return out;
    }
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  private skip(n: number): void {
    this.queued -= n;
    this.noLF = Math.max(0, this.noLF - n);
    while (n > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      if (n < avail) {
        this.head += n;
        return;
      }
      n -= avail;
      this.chunks.shift();
      this.head = 0;
    }
    if (this.chunks[0] && this.head === this.chunks[0].length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}

/** length of a line ending at LF offset lf, excluding CRLF */
function lineLength(r: CommandReader, lf: number): number {
  return lf > 0 && r.byteAt(lf - 1) === CR ? lf - 1 : lf;
}

function stripCR(line: Buffer): Buffer {
  // line includes the LF
  let end = line.length - 1;
  if (end > 0 && line[end - 1] === CR) end--;
  return line.subarray(0, end);
}

function commandNameOf(line: Buffer): string | null {
  const words = line.toString("latin1", 0, Math.min(line.length, 64)).split(" ");
  const w1 = words[1]?.toUpperCase();
  if (!w1 || !/^[A-Z]+$/.test(w1)) return null;
  if (w1 === "UID") {
    const w2 = words[2]?.toUpperCase();
    return w2 && /^[A-Z]+$/.test(w2) ? `UID ${w2}` : w1;
  }
  return w1;
}

function normalise(l: ReaderLimits): Required<ReaderLimits> {
  let n = normalised.get(l);
  if (!n) {
    n = Object.freeze({
      maxLineLength: l.maxLineLength,
      maxLiteralSize: l.maxLiteralSize,
      literalMinus: l.literalMinus ?? false,
      maxCommandSize: l.maxCommandSize ?? l.maxLiteralSize * 4,
    });
    normalised.set(l, n);
  }
  return n;
}
