/**
 * IMAP command parser, part 1: the cursor over text segments and literals, the lexical rules
 * (RFC 9051 §9 atoms, quoted strings, literals, astrings, numbers), sequence sets and flags.
 *
 * Input is a complete command as assembled by the reader: text segments (lines without CRLF)
 * and the literals between them. Every text segment except the last ends with the literal
 * announcement (`{n}`, `{n+}`, `~{n}`, `~{n+}`) whose data is the literal of the same index.
 */
import type { Command, MailboxName, SeqNumber, SeqRange, SequenceSet } from "../commands.ts";
import { canonicalSystemFlag } from "../flags.ts";

export interface CommandInput {
  texts: Buffer[];
  literals: Array<{ data: Buffer; binary: boolean }>;
}

export type ParseResult =
  | { ok: true; tag: string; command: Command }
  | { ok: false; tag: string | null; message: string };

export class ParseError extends Error {}

/** Max nesting of parenthesised lists / NOT / OR in one command (docs/architecture.md "IMAP": bounded nesting). */
export const MAX_DEPTH = 64;

export const SP = 0x20;
export const DQUOTE = 0x22;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const BACKSLASH = 0x5c;

export const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------------------------
// Cursor over text segments and literals

export class Cursor {
  seg = 0;
  pos = 0;
  depth = 0;
  private readonly litStart: number[];

  readonly texts: Buffer[];
  readonly literals: CommandInput["literals"];

  constructor(texts: Buffer[], literals: CommandInput["literals"]) {
    this.texts = texts;
    this.literals = literals;
    this.litStart = texts.slice(0, -1).map(literalMarkerStart);
  }

  private get text(): Buffer {
    return this.texts[this.seg]!;
  }

  /** current byte, or -1 at a literal or at the end */
  peek(): number {
    if (this.atLiteral()) return -1;
    return this.pos < this.text.length ? this.text[this.pos]! : -1;
  }

  atLiteral(): boolean {
    return this.seg < this.texts.length - 1 && this.pos === this.litStart[this.seg];
  }

  atEnd(): boolean {
    return this.seg === this.texts.length - 1 && this.pos >= this.text.length;
  }

  /** consume the literal at the cursor */
  literal(): { data: Buffer; binary: boolean } {
    const lit = this.literals[this.seg]!;
    this.seg++;
    this.pos = 0;
    return lit;
  }

  advance(n = 1): void {
    this.pos += n;
  }

  /** bytes from pos while pred holds (never crosses a literal marker) */
  takeWhile(pred: (c: number) => boolean): Buffer {
    const t = this.text;
    const limit = this.seg < this.texts.length - 1 ? this.litStart[this.seg]! : t.length;
    const start = this.pos;
    while (this.pos < limit && pred(t[this.pos]!)) this.pos++;
    return t.subarray(start, this.pos);
  }

  /** for error messages: what is at the cursor */
  describe(): string {
    if (this.atEnd()) return "end of command";
    if (this.atLiteral()) return "literal";
    const rest = this.text.toString("latin1", this.pos, Math.min(this.text.length, this.pos + 20));
    return JSON.stringify(rest);
  }

  fail(what: string): never {
    throw new ParseError(`Expected ${what} at ${this.describe()}`);
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) throw new ParseError("Too deeply nested");
  }

  leave(): void {
    this.depth--;
  }
}

export function literalMarkerStart(line: Buffer): number {
  // the reader only passes segments that end in a literal marker
  let i = line.lastIndexOf(0x7b); // "{"
  if (i > 0 && line[i - 1] === 0x7e) i--; // "~{"
  return i;
}

// ---------------------------------------------------------------------------------------------
// Lexical rules (RFC 9051 §9)

/** ATOM-CHAR: any CHAR except atom-specials; 8-bit bytes accepted leniently (UTF-8 atoms). */
export function isAtomChar(c: number): boolean {
  if (c <= 0x20 || c === 0x7f) return false;
  // atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
  return (
    c !== 0x28 &&
    c !== 0x29 &&
    c !== 0x7b &&
    c !== 0x25 &&
    c !== 0x2a &&
    c !== 0x22 &&
    c !== 0x5c &&
    c !== 0x5d
  );
}

export function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d;
}

/** list-char = ATOM-CHAR / list-wildcards / resp-specials */
export function isListChar(c: number): boolean {
  return isAstringChar(c) || c === 0x25 || c === 0x2a;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function sp(c: Cursor): void {
  if (c.peek() !== SP) c.fail("SP");
  c.advance();
}

export function expectByte(c: Cursor, b: number, what: string): void {
  if (c.peek() !== b) c.fail(what);
  c.advance();
}

export function tryByte(c: Cursor, b: number): boolean {
  if (c.peek() === b) {
    c.advance();
    return true;
  }
  return false;
}

export function parseAtom(c: Cursor): string {
  const b = c.takeWhile(isAtomChar);
  if (b.length === 0) c.fail("atom");
  return b.toString("latin1");
}

/** an atom upper-cased (keywords) */
export function keyword(c: Cursor): string {
  return parseAtom(c).toUpperCase();
}

/** peek whether the next atom (case-insensitive) equals word, followed by a non-atom byte */
export function peekWord(c: Cursor, word: string): boolean {
  const save = c.pos;
  const b = c.takeWhile(isAtomChar);
  c.pos = save;
  return b.length === word.length && b.toString("latin1").toUpperCase() === word;
}

/** RFC 9051 §9 quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR escapes only `\` and `"` */
export function parseQuoted(c: Cursor): Buffer {
  expectByte(c, DQUOTE, "quoted string");
  const out: number[] = [];
  for (;;) {
    const b = c.peek();
    if (b === -1) throw new ParseError("Unterminated quoted string");
    c.advance();
    if (b === DQUOTE) break;
    if (b === BACKSLASH) {
      const e = c.peek();
      if (e !== DQUOTE && e !== BACKSLASH) throw new ParseError("Invalid escape in quoted string");
      c.advance();
      out.push(e);
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

/** RFC 9051 §9 string = quoted / literal (literal8 only where the caller allows it) */
export function parseString(c: Cursor): Buffer {
  if (c.atLiteral()) {
    const lit = c.literal();
    // RFC 3516 §4.3: literal8 only in APPEND (and FETCH responses)
    if (lit.binary) throw new ParseError("literal8 not allowed here");
    return lit.data;
  }
  if (c.peek() === DQUOTE) return parseQuoted(c);
  return c.fail("string");
}

/** RFC 9051 §9 astring = 1*ASTRING-CHAR / string */
export function parseAstring(c: Cursor): Buffer {
  if (c.atLiteral() || c.peek() === DQUOTE) return parseString(c);
  const b = c.takeWhile(isAstringChar);
  if (b.length === 0) c.fail("astring");
  return b;
}

/** nstring = string / nil */
export function parseNstring(c: Cursor): Buffer | null {
  if (!c.atLiteral() && c.peek() !== DQUOTE) {
    if (keyword(c) === "NIL") return null;
    throw new ParseError("Expected string or NIL");
  }
  return parseString(c);
}

export function utf8(b: Buffer, what: string): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new ParseError(`${what} is not valid UTF-8`);
  }
}

export function astringText(c: Cursor, what: string): string {
  return utf8(parseAstring(c), what);
}

/** RFC 9051 §9 mailbox = "INBOX" / astring — INBOX is case-insensitive (normalised to "INBOX") */
export function parseMailbox(c: Cursor): MailboxName {
  const name = utf8(parseAstring(c), "Mailbox name");
  return name.toUpperCase() === "INBOX" ? "INBOX" : name;
}

/** RFC 9051 §9 list-mailbox = 1*list-char / string */
export function parseListMailbox(c: Cursor): MailboxName {
  if (c.atLiteral() || c.peek() === DQUOTE) return utf8(parseString(c), "Mailbox pattern");
  const b = c.takeWhile(isListChar);
  if (b.length === 0) c.fail("mailbox pattern");
  return utf8(b, "Mailbox pattern");
}

/** number (32-bit unsigned, RFC 9051 §9) */
export function parseNumber(c: Cursor): number {
  const b = c.takeWhile(isDigit);
  if (b.length === 0 || b.length > 10) c.fail("number");
  const n = Number(b.toString("latin1"));
  if (n > 0xffffffff) throw new ParseError("Number out of range");
  return n;
}

export function parseNzNumber(c: Cursor): number {
  const n = parseNumber(c);
  if (n === 0) throw new ParseError("Expected non-zero number");
  return n;
}

/** number64 (RFC 9051 §9: 0 .. 2^63-1) */
export function parseNumber64(c: Cursor): bigint {
  const b = c.takeWhile(isDigit);
  if (b.length === 0 || b.length > 19) c.fail("number");
  const n = BigInt(b.toString("latin1"));
  if (n > 0x7fffffffffffffffn) throw new ParseError("Number out of range");
  return n;
}

/** number64 as a JS number (sizes, offsets); must be a safe integer */
export function parseSize(c: Cursor): number {
  const n = parseNumber64(c);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError("Number out of range");
  return Number(n);
}

/** RFC 7162 §7 mod-sequence-value = 1*DIGIT (1 .. 2^63-1) */
export function parseModSequenceValue(c: Cursor): bigint {
  const n = parseNumber64(c);
  if (n === 0n) throw new ParseError("Mod-sequence must be non-zero");
  return n;
}

// ---------------------------------------------------------------------------------------------
// Sequence sets (RFC 9051 §9 sequence-set; RFC 5182 "$")

export function parseSeqNumber(c: Cursor): SeqNumber {
  if (tryByte(c, 0x2a)) return "*";
  return parseNzNumber(c);
}

/** sequence-set = (seq-number / seq-range) ["," sequence-set]; or "$" (RFC 5182 §2) */
export function parseSequenceSet(c: Cursor): SequenceSet {
  if (tryByte(c, 0x24)) return { type: "saved" };
  const ranges: SeqRange[] = [];
  do {
    const b = c.peek();
    if (b !== 0x2a && !isDigit(b)) c.fail("sequence set");
    const start = parseSeqNumber(c);
    const end = tryByte(c, 0x3a) ? parseSeqNumber(c) : start;
    ranges.push({ start, end });
  } while (tryByte(c, 0x2c));
  const next = c.peek();
  if (next !== -1 && next !== SP && next !== RPAREN) throw new ParseError("Invalid sequence set");
  return { type: "ranges", ranges };
}

// ---------------------------------------------------------------------------------------------
// Flags (RFC 9051 §9 flag, flag-list)

/** flag = "\Answered" / ... / flag-keyword / flag-extension; system flags canonicalised */
export function parseFlag(c: Cursor): string {
  if (tryByte(c, BACKSLASH)) {
    const name = c.takeWhile(isAtomChar);
    if (name.length === 0) c.fail("flag name");
    const f = `\\${name.toString("latin1")}`;
    return canonicalSystemFlag(f) ?? f;
  }
  return parseAtom(c);
}

/** flag-list = "(" [flag *(SP flag)] ")" */
export function parseFlagList(c: Cursor): string[] {
  expectByte(c, LPAREN, "flag list");
  const flags: string[] = [];
  if (tryByte(c, RPAREN)) return flags;
  for (;;) {
    flags.push(parseFlag(c));
    if (tryByte(c, RPAREN)) return flags;
    sp(c);
  }
}

/** generic "(" item *(SP item) ")" with at least one item unless allowEmpty */
export function parenList<T>(c: Cursor, item: (c: Cursor) => T, allowEmpty: boolean, what: string): T[] {
  expectByte(c, LPAREN, `"(" starting ${what}`);
  c.enter();
  const out: T[] = [];
  if (tryByte(c, RPAREN)) {
    if (!allowEmpty) throw new ParseError(`Empty ${what}`);
    c.leave();
    return out;
  }
  for (;;) {
    out.push(item(c));
    if (tryByte(c, RPAREN)) break;
    sp(c);
  }
  c.leave();
  return out;
}
