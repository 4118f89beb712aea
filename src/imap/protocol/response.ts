/**
 * The IMAP response serializer (RFC 9051 §4 data formats, §7 responses, §9 formal syntax): every
 * quoted string, literal, astring, nstring, mailbox name and flag list the server writes is made
 * here (ENVELOPE / BODYSTRUCTURE in body-structure.ts use the same quoting). Values that may carry
 * message bytes are Buffers; short protocol tokens are strings (ASCII).
 */
import type { FetchAtt, SequenceSet } from "./commands.ts";
import { mutf7Encode } from "./mutf7.ts";
import { formatParsedSequenceSet } from "./sequence-set.ts";

export { dateToMillis, formatDate, formatDateTime, parseDate, parseDateTime } from "./datetime.ts";
export { mutf7Decode, mutf7Encode } from "./mutf7.ts";
export {
  formatIntervals,
  formatParsedSequenceSet,
  formatSequenceSet,
  type Interval,
  intervalsContain,
  intervalsSize,
  iterateIntervals,
  mergeIntervals,
  resolveSequenceSet,
  sequenceSetContains,
  sequenceSetExceeds,
} from "./sequence-set.ts";

export const CRLF = "\r\n";

/** RFC 9051 §9 ATOM-CHAR / ASTRING-CHAR test (7-bit only). */
function isAstringChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  return c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== 0x22 && c !== 0x5c;
}

function toBuf(v: string | Buffer): Buffer {
  return typeof v === "string" ? Buffer.from(v, "utf8") : v;
}

/**
 * Can these bytes go out as a quoted string? RFC 9051 §9 QUOTED-CHAR: no CR, LF or NUL; 8-bit
 * bytes only when UTF-8 is enabled (RFC 9051 §9 QUOTED-CHAR =/ UTF8-2..4; RFC 6855 §3) and they
 * form valid UTF-8. Very long values go out as literals (kinder to clients' line limits).
 */
export function canQuote(buf: Buffer, utf8: boolean): boolean {
  if (buf.length > 1024) return false;
  let high = false;
  for (const c of buf) {
    if (c === 0x0d || c === 0x0a || c === 0) return false;
    if (c >= 0x80) {
      if (!utf8) return false;
      high = true;
    }
  }
  return !high || Buffer.from(buf.toString("utf8"), "utf8").equals(buf);
}

/** `"..."` with `\` and `"` escaped; the caller has checked the text may be quoted (quotable). */
export function quoteText(s: string): string {
  return `"${s.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
}

/**
 * May this text go out as a quoted string? RFC 9051 §9 QUOTED-CHAR: no CR, LF or NUL; 8-bit
 * characters only when UTF-8 is enabled (RFC 9051 §6.3.1, RFC 6855 §3).
 */
export function quotable(s: string, utf8: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d || (!utf8 && c >= 0x80)) return false;
  }
  return true;
}

/** string = quoted / literal for text in a response line: quoted when quotable, else `{n}\r\n…`. */
export function stringText(s: string, utf8: boolean): string {
  return quotable(s, utf8) ? quoteText(s) : `{${Buffer.byteLength(s, "utf8")}}\r\n${s}`;
}

/** nstring = string / nil, as text */
export function nstringText(s: string | null | undefined, utf8: boolean): string {
  return s === null || s === undefined ? "NIL" : stringText(s, utf8);
}

/** `"..."` with `\` and `"` escaped. Throws on values that cannot be quoted (use imapString). */
export function quoted(s: string | Buffer): string {
  const b = toBuf(s);
  if (b.includes(0x0d) || b.includes(0x0a) || b.includes(0))
    throw new Error("quoted(): value contains CR, LF or NUL");
  return quoteText(b.toString("utf8"));
}

/** RFC 9051 §4.3 literal `{n}\r\n` + data. */
export function literal(data: string | Buffer): Buffer {
  const b = toBuf(data);
  return Buffer.concat([Buffer.from(`{${b.length}}\r\n`, "latin1"), b]);
}

/** RFC 3516 §4.3 literal8 `~{n}\r\n` + data (BINARY[] responses). */
export function literal8(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`~{${data.length}}\r\n`, "latin1"), data]);
}

/** string = quoted / literal, choosing quoted when allowed (see canQuote). */
export function imapString(value: string | Buffer, utf8: boolean): Buffer {
  const b = toBuf(value);
  if (canQuote(b, utf8)) return Buffer.from(quoted(b), "utf8");
  return literal(b);
}

/** nstring = string / nil */
export function nstring(value: string | Buffer | null, utf8: boolean): Buffer {
  return value === null ? Buffer.from("NIL", "latin1") : imapString(value, utf8);
}

/** astring = 1*ASTRING-CHAR / string (an atom when possible, never the atom NIL). */
export function astring(value: string | Buffer, utf8: boolean): Buffer {
  const b = toBuf(value);
  if (
    b.length > 0 &&
    b.length <= 1024 &&
    b.every(isAstringChar) &&
    b.toString("latin1").toUpperCase() !== "NIL"
  ) {
    return b;
  }
  return imapString(b, utf8);
}

/**
 * A mailbox name for responses (LIST, STATUS, ...): UTF-8 when the client enabled it (RFC 9051
 * §5.1, RFC 6855 §3), otherwise modified UTF-7 (RFC 3501 §5.1.3).
 */
export function mailboxName(name: string, utf8: boolean): Buffer {
  if (name.toUpperCase() === "INBOX") return Buffer.from("INBOX", "latin1");
  return astring(utf8 ? name : mutf7Encode(name), utf8);
}

/**
 * `head` + " n1 n2 …" + `tail` as bytes, the numbers (non-negative integers) written digit by digit
 * into one buffer: a SEARCH answer of 100,000 numbers as a string is ~600 KB of heap built by
 * join and then encoded again for the socket; this is one allocation outside the JS heap.
 */
export function numberListBytes(head: string, nums: ArrayLike<number>, tail: string): Buffer {
  // bounded: at most 16 digits per safe integer, plus the space
  const out = Buffer.allocUnsafe(head.length + tail.length + nums.length * 17);
  let at = out.write(head, 0, "latin1");
  for (let i = 0; i < nums.length; i++) {
    out[at++] = 0x20;
    at = writeUint(out, at, nums[i]!);
  }
  at += out.write(tail, at, "latin1");
  return out.subarray(0, at);
}

/** the decimal digits of a non-negative safe integer written at `at` (room for 16 needed); the end */
function writeUint(out: Uint8Array, at: number, n: number): number {
  if (n < 10) {
    out[at] = 0x30 + n;
    return at + 1;
  }
  let len = 0;
  for (let m = n; m > 0 && len < 16; m = Math.floor(m / 10)) len++;
  for (let k = len - 1; k >= 0; k--) {
    const q = Math.floor(n / 10);
    out[at + k] = 0x30 + (n - q * 10);
    n = q;
  }
  return at + len;
}

/**
 * Response bytes built in place: numbers digit by digit and pre-encoded pieces copied in, so that a
 * response line made of them puts nothing on the JS heap (`UID FETCH 1:* (UID FLAGS)` over
 * 100,000 messages made ~70 MB of strings as template literals). The buffer starts small and
 * doubles as needed (a one-line FETCH takes a few hundred bytes); `take()` hands the filled part
 * over (it is then the socket's) and the next buffer, allocated when written to, has the size the
 * last one grew to.
 */
export class ResponseBytes {
  #buf: Buffer | null = null;
  #at = 0;
  #size: number;

  constructor(size = 256) {
    this.#size = Math.max(1, size);
  }

  get length(): number {
    return this.#at;
  }

  #room(n: number): Buffer {
    const buf = this.#buf;
    if (buf && this.#at + n <= buf.length) return buf;
    const b = Buffer.allocUnsafe(Math.max(this.#size, (buf?.length ?? 0) * 2, this.#at + n));
    if (buf) buf.copy(b, 0, 0, this.#at);
    this.#buf = b;
    this.#size = b.length;
    return b;
  }

  /** a non-negative safe integer in decimal */
  uint(n: number): this {
    this.#at = writeUint(this.#room(16), this.#at, n);
    return this;
  }

  /** bytes as they are (short pieces copied byte by byte: cheaper than a call into the runtime) */
  bytes(b: Uint8Array): this {
    const buf = this.#room(b.length);
    let at = this.#at;
    if (b.length <= 16) for (let i = 0; i < b.length; i++) buf[at++] = b[i]!;
    else {
      buf.set(b, at);
      at += b.length;
    }
    this.#at = at;
    return this;
  }

  /** text encoded as UTF-8 (for pieces not worth encoding once: rare or per line anyway) */
  text(t: string): this {
    const buf = this.#room(Buffer.byteLength(t, "utf8"));
    this.#at += buf.write(t, this.#at, "utf8");
    return this;
  }

  /** the bytes so far (an empty buffer when nothing was written); the builder starts over */
  take(): Buffer {
    const out = this.#buf ? this.#buf.subarray(0, this.#at) : Buffer.alloc(0);
    this.#buf = null;
    this.#at = 0;
    return out;
  }
}

/** flag-list `(\Seen $Forwarded)` */
export function flagList(flags: Iterable<string>): string {
  return `(${Array.from(flags).join(" ")})`;
}

/** Sanitise human-readable resp-text: no CR/LF, and no leading "[" (it would read as a resp-text-code). */
export function respText(text: string): string {
  const t = text.replace(/[\r\n\0]+/g, " ");
  return t.startsWith("[") ? ` ${t}` : t;
}

/** `tag OK [CODE] text\r\n` (or `*` / `+`). */
export function statusResponse(
  tag: string,
  status: "OK" | "NO" | "BAD" | "BYE" | "PREAUTH",
  text: string,
  code?: string,
): string {
  return `${tag} ${status} ${code ? `[${code}] ` : ""}${respText(text)}${CRLF}`;
}

function sectionText(att: Extract<FetchAtt, { type: "BODY[]" }>): string {
  const s = att.section;
  const parts: string[] = [];
  if (s.part.length) parts.push(s.part.join("."));
  if (s.kind) {
    let t: string = s.kind;
    if (s.fields) t += ` (${s.fields.join(" ")})`;
    parts.push(t);
  }
  return parts.join(".");
}

/**
 * The name a fetch attribute has in the FETCH response (RFC 9051 §7.5.2): PEEK dropped, partial
 * reduced to its origin octet: `BODY[1.HEADER.FIELDS (DATE FROM)]<0>`, `BINARY[1]`, `BINARY.SIZE[2]`.
 */
export function fetchAttResponseName(att: FetchAtt): string {
  switch (att.type) {
    case "BODY[]":
      return `BODY[${sectionText(att)}]${att.partial ? `<${att.partial.offset}>` : ""}`;
    case "BINARY[]":
      return `BINARY[${att.part.join(".")}]${att.partial ? `<${att.partial.offset}>` : ""}`;
    case "BINARY.SIZE[]":
      return `BINARY.SIZE[${att.part.join(".")}]`;
    default:
      return att.type;
  }
}

/** Apply a `<offset.length>` partial to content (RFC 9051 §6.4.5: past the end gives empty). */
export function applyPartial(
  data: Uint8Array,
  partial: { offset: number; length: number } | null,
): Uint8Array {
  if (!partial) return data;
  if (partial.offset >= data.length) return data.subarray(0, 0);
  return data.subarray(partial.offset, Math.min(data.length, partial.offset + partial.length));
}

/** A parsed sequence set in wire form (for logs and the IMAP client side). */
export function sequenceSetText(set: SequenceSet): string {
  return formatParsedSequenceSet(set);
}
