/**
 * Typed IMAP command parser (RFC 9051 §9 formal syntax, plus RFC 3501 and the extensions listed
 * in index.ts). Functions are named after the ABNF rules they implement.
 *
 * Input is a complete command as assembled by the reader: text segments (lines without CRLF)
 * and the literals between them. Every text segment except the last ends with the literal
 * announcement (`{n}`, `{n+}`, `~{n}`, `~{n+}`) whose data is the literal of the same index.
 */
import type { SectionSpec } from "../../mime/types.ts";
import type {
  AppendMessage,
  Command,
  FetchAtt,
  ImapDate,
  ListReturn,
  ListSelection,
  MailboxName,
  Partial,
  QresyncParams,
  SearchKey,
  SearchReturnOpt,
  SeqNumber,
  SeqRange,
  SequenceSet,
  SimpleFetchAttName,
  SortCriterion,
  SortKeyName,
  StatusItem,
} from "./commands.ts";
import { parseDate, parseDateTime } from "./datetime.ts";
import { canonicalSystemFlag } from "./flags.ts";

export interface CommandInput {
  texts: Buffer[];
  literals: Array<{ data: Buffer; binary: boolean }>;
}

export type ParseResult =
  | { ok: true; tag: string; command: Command }
  | { ok: false; tag: string | null; message: string };

export class ParseError extends Error {}

/** Max nesting of parenthesised lists / NOT / OR in one command (DESIGN §4: bounded nesting). */
export const MAX_DEPTH = 64;

const SP = 0x20;
const DQUOTE = 0x22;
const LPAREN = 0x28;
const RPAREN = 0x29;
const BACKSLASH = 0x5c;

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------------------------
// Cursor over text segments and literals

class Cursor {
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

function literalMarkerStart(line: Buffer): number {
  // the reader only passes segments that end in a literal marker
  let i = line.lastIndexOf(0x7b); // "{"
  if (i > 0 && line[i - 1] === 0x7e) i--; // "~{"
  return i;
}

// ---------------------------------------------------------------------------------------------
// Lexical rules (RFC 9051 §9)

/** ATOM-CHAR: any CHAR except atom-specials; 8-bit bytes accepted leniently (UTF-8 atoms). */
function isAtomChar(c: number): boolean {
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

function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d;
}

/** list-char = ATOM-CHAR / list-wildcards / resp-specials */
function isListChar(c: number): boolean {
  return isAstringChar(c) || c === 0x25 || c === 0x2a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function sp(c: Cursor): void {
  if (c.peek() !== SP) c.fail("SP");
  c.advance();
}

function expectByte(c: Cursor, b: number, what: string): void {
  if (c.peek() !== b) c.fail(what);
  c.advance();
}

function tryByte(c: Cursor, b: number): boolean {
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
function keyword(c: Cursor): string {
  return parseAtom(c).toUpperCase();
}

/** peek whether the next atom (case-insensitive) equals word, followed by a non-atom byte */
function peekWord(c: Cursor, word: string): boolean {
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
function parseNstring(c: Cursor): Buffer | null {
  if (!c.atLiteral() && c.peek() !== DQUOTE) {
    if (keyword(c) === "NIL") return null;
    throw new ParseError("Expected string or NIL");
  }
  return parseString(c);
}

function utf8(b: Buffer, what: string): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new ParseError(`${what} is not valid UTF-8`);
  }
}

function astringText(c: Cursor, what: string): string {
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
function parseSize(c: Cursor): number {
  const n = parseNumber64(c);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError("Number out of range");
  return Number(n);
}

/** RFC 7162 §7 mod-sequence-value = 1*DIGIT (1 .. 2^63-1) */
function parseModSequenceValue(c: Cursor): bigint {
  const n = parseNumber64(c);
  if (n === 0n) throw new ParseError("Mod-sequence must be non-zero");
  return n;
}

// ---------------------------------------------------------------------------------------------
// Sequence sets (RFC 9051 §9 sequence-set; RFC 5182 "$")

function parseSeqNumber(c: Cursor): SeqNumber {
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
function parenList<T>(c: Cursor, item: (c: Cursor) => T, allowEmpty: boolean, what: string): T[] {
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

// ---------------------------------------------------------------------------------------------
// FETCH (RFC 9051 §6.4.5, §9 fetch-att)

const SIMPLE_FETCH = new Set<string>([
  "FLAGS",
  "INTERNALDATE",
  "RFC822.SIZE",
  "RFC822",
  "RFC822.HEADER",
  "RFC822.TEXT",
  "ENVELOPE",
  "BODY",
  "BODYSTRUCTURE",
  "UID",
  "MODSEQ",
  "EMAILID",
  "THREADID",
  "SAVEDATE",
]);

const FETCH_MACROS: Record<string, SimpleFetchAttName[]> = {
  // RFC 9051 §6.4.5 macros
  ALL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
  FAST: ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
  FULL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
};

/** section-part = nz-number *("." nz-number) */
function parseSectionPart(c: Cursor): number[] {
  const part = [parseNzNumber(c)];
  while (c.peek() === 0x2e) {
    const save = c.pos;
    c.advance();
    if (!isDigit(c.peek())) {
      c.pos = save;
      break;
    }
    part.push(parseNzNumber(c));
  }
  return part;
}

/** header-list = "(" header-fld-name *(SP header-fld-name) ")"; header-fld-name = astring */
function parseHeaderList(c: Cursor): string[] {
  return parenList(c, (c) => parseAstring(c).toString("latin1"), false, "header list");
}

/** section = "[" [section-spec] "]" */
export function parseSection(c: Cursor): SectionSpec {
  expectByte(c, 0x5b, '"["');
  let part: number[] = [];
  if (isDigit(c.peek())) {
    part = parseSectionPart(c);
    if (tryByte(c, 0x5d)) return { part, kind: "" };
    expectByte(c, 0x2e, '"." or "]"');
  }
  const word = c
    .takeWhile((b) => b !== 0x5d && b !== SP)
    .toString("latin1")
    .toUpperCase();
  let spec: SectionSpec;
  switch (word) {
    case "HEADER":
    case "TEXT":
      spec = { part, kind: word };
      break;
    case "MIME":
      // RFC 9051 §9 section-text: MIME only after a section-part
      if (part.length === 0) throw new ParseError("MIME requires a part number");
      spec = { part, kind: "MIME" };
      break;
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT":
      sp(c);
      spec = { part, kind: word, fields: parseHeaderList(c) };
      break;
    case "":
      if (part.length > 0) c.fail("section text");
      spec = { part, kind: "" };
      break;
    default:
      throw new ParseError(`Unknown section text ${JSON.stringify(word)}`);
  }
  expectByte(c, 0x5d, '"]"');
  return spec;
}

/** section-binary = "[" [section-part] "]" (RFC 3516 §6) */
function parseSectionBinary(c: Cursor): number[] {
  expectByte(c, 0x5b, '"["');
  const part = isDigit(c.peek()) ? parseSectionPart(c) : [];
  expectByte(c, 0x5d, '"]"');
  return part;
}

/** partial = "<" number64 "." nz-number64 ">" */
function parsePartial(c: Cursor): Partial | null {
  if (!tryByte(c, 0x3c)) return null;
  const offset = parseSize(c);
  expectByte(c, 0x2e, '"." in partial');
  const length = parseSize(c);
  if (length === 0) throw new ParseError("Partial length must be non-zero");
  expectByte(c, 0x3e, '">"');
  return { offset, length };
}

/** fetch-att (one item) */
export function parseFetchAtt(c: Cursor): FetchAtt {
  const name = c
    .takeWhile((b) => isAtomChar(b) && b !== 0x5b)
    .toString("latin1")
    .toUpperCase();
  if (name === "") c.fail("fetch attribute");
  if (c.peek() === 0x5b) {
    switch (name) {
      case "BODY":
      case "BODY.PEEK": {
        const section = parseSection(c);
        return { type: "BODY[]", peek: name === "BODY.PEEK", section, partial: parsePartial(c) };
      }
      case "BINARY":
      case "BINARY.PEEK": {
        const part = parseSectionBinary(c);
        return { type: "BINARY[]", peek: name === "BINARY.PEEK", part, partial: parsePartial(c) };
      }
      case "BINARY.SIZE":
        return { type: "BINARY.SIZE[]", part: parseSectionBinary(c) };
      default:
        throw new ParseError(`Unexpected "[" after ${name}`);
    }
  }
  if (SIMPLE_FETCH.has(name)) return { type: name as SimpleFetchAttName };
  if (name === "BODY.PEEK" || name === "BINARY" || name === "BINARY.PEEK" || name === "BINARY.SIZE") {
    throw new ParseError(`${name} requires a section`);
  }
  throw new ParseError(`Unknown fetch attribute ${JSON.stringify(name)}`);
}

function parseFetch(c: Cursor, uid: boolean): Command {
  sp(c);
  const set = parseSequenceSet(c);
  sp(c);
  let atts: FetchAtt[];
  if (c.peek() === LPAREN) {
    atts = parenList(c, parseFetchAtt, false, "fetch attribute list");
  } else {
    const save = c.pos;
    const word = c.takeWhile(isAtomChar).toString("latin1").toUpperCase();
    const macro = FETCH_MACROS[word];
    if (macro && (c.peek() === SP || c.peek() === -1)) {
      atts = macro.map((type) => ({ type }));
    } else {
      c.pos = save;
      atts = [parseFetchAtt(c)];
    }
  }
  let changedSince: bigint | null = null;
  let vanished = false;
  if (tryByte(c, SP)) {
    // fetch-modifiers (RFC 7162 §3.1.4, §3.2.6)
    parenList(
      c,
      (c) => {
        const m = keyword(c);
        if (m === "CHANGEDSINCE") {
          sp(c);
          changedSince = parseModSequenceValue(c);
        } else if (m === "VANISHED") {
          vanished = true;
        } else {
          throw new ParseError(`Unknown FETCH modifier ${m}`);
        }
      },
      false,
      "fetch modifiers",
    );
  }
  if (vanished) {
    // RFC 7162 §3.2.6: VANISHED only with UID FETCH and together with CHANGEDSINCE
    if (!uid) throw new ParseError("VANISHED requires UID FETCH");
    if (changedSince === null) throw new ParseError("VANISHED requires CHANGEDSINCE");
  }
  return { name: "FETCH", uid, set, atts, changedSince, vanished };
}

// ---------------------------------------------------------------------------------------------
// STORE (RFC 9051 §6.4.6; RFC 7162 §3.1.3)

function parseStore(c: Cursor, uid: boolean): Command {
  sp(c);
  const set = parseSequenceSet(c);
  sp(c);
  let unchangedSince: bigint | null = null;
  if (c.peek() === LPAREN) {
    parenList(
      c,
      (c) => {
        const m = keyword(c);
        if (m !== "UNCHANGEDSINCE") throw new ParseError(`Unknown STORE modifier ${m}`);
        sp(c);
        // mod-sequence-valzer: 0 allowed
        unchangedSince = parseNumber64(c);
      },
      false,
      "store modifiers",
    );
    sp(c);
  }
  let op: "replace" | "add" | "remove" = "replace";
  if (tryByte(c, 0x2b)) op = "add";
  else if (tryByte(c, 0x2d)) op = "remove";
  const item = keyword(c);
  if (item !== "FLAGS" && item !== "FLAGS.SILENT") throw new ParseError("Expected FLAGS, +FLAGS or -FLAGS");
  sp(c);
  let flags: string[];
  if (c.peek() === LPAREN) {
    flags = parseFlagList(c);
  } else {
    flags = [parseFlag(c)];
    while (tryByte(c, SP)) flags.push(parseFlag(c));
  }
  return { name: "STORE", uid, set, unchangedSince, op, silent: item === "FLAGS.SILENT", flags };
}

// ---------------------------------------------------------------------------------------------
// SEARCH (RFC 9051 §6.4.4, §9 search-key)

function parseSearchDate(c: Cursor): ImapDate {
  // date = date-text / DQUOTE date-text DQUOTE
  const text = c.peek() === DQUOTE ? parseQuoted(c).toString("latin1") : parseAtom(c);
  const d = parseDate(text);
  if (!d) throw new ParseError(`Invalid date ${JSON.stringify(text)}`);
  return d;
}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ["\\Answered", true],
  DELETED: ["\\Deleted", true],
  DRAFT: ["\\Draft", true],
  FLAGGED: ["\\Flagged", true],
  SEEN: ["\\Seen", true],
  RECENT: ["\\Recent", true],
  OLD: ["\\Recent", false],
  UNANSWERED: ["\\Answered", false],
  UNDELETED: ["\\Deleted", false],
  UNDRAFT: ["\\Draft", false],
  UNFLAGGED: ["\\Flagged", false],
  UNSEEN: ["\\Seen", false],
};

const HEADER_KEYS = new Set(["FROM", "TO", "CC", "BCC", "SUBJECT"]);

const DATE_KEYS: Record<string, ["internal" | "sent" | "saved", "before" | "on" | "since"]> = {
  BEFORE: ["internal", "before"],
  ON: ["internal", "on"],
  SINCE: ["internal", "since"],
  SENTBEFORE: ["sent", "before"],
  SENTON: ["sent", "on"],
  SENTSINCE: ["sent", "since"],
  // RFC 8514 §4.3
  SAVEDBEFORE: ["saved", "before"],
  SAVEDON: ["saved", "on"],
  SAVEDSINCE: ["saved", "since"],
};

/** objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 §7) */
function parseObjectId(c: Cursor): string {
  const b = c.takeWhile(
    (x) => isDigit(x) || (x >= 0x41 && x <= 0x5a) || (x >= 0x61 && x <= 0x7a) || x === 0x5f || x === 0x2d,
  );
  if (b.length === 0 || b.length > 255) c.fail("object id");
  return b.toString("latin1");
}

/** search-key (RFC 9051 §9, RFC 3501 §9, RFC 7162, RFC 5032, RFC 8474, RFC 8514) */
export function parseSearchKey(c: Cursor): SearchKey {
  const b = c.peek();
  if (b === LPAREN) {
    const keys = parenList(c, parseSearchKey, false, "search key list");
    return keys.length === 1 ? keys[0]! : { type: "and", keys };
  }
  if (isDigit(b) || b === 0x2a || b === 0x24) return { type: "seq", set: parseSequenceSet(c) };
  const k = keyword(c);
  const flag = FLAG_KEYS[k];
  if (flag) {
    const key: SearchKey = { type: "flag", flag: flag[0] };
    return flag[1] ? key : { type: "not", key };
  }
  if (HEADER_KEYS.has(k)) {
    sp(c);
    const key: SearchKey = { type: "header", field: k.toLowerCase(), value: parseAstring(c) };
    // RFC 3501 §6.4.4: FROM/TO/CC/BCC search "the envelope structure's … field"
    if (k !== "SUBJECT") key.address = true;
    return key;
  }
  const dk = DATE_KEYS[k];
  if (dk) {
    sp(c);
    return { type: "date", field: dk[0], op: dk[1], date: parseSearchDate(c) };
  }
  switch (k) {
    case "ALL":
      return { type: "all" };
    case "NEW":
      // RFC 3501 §6.4.4: NEW = RECENT UNSEEN
      return {
        type: "and",
        keys: [
          { type: "flag", flag: "\\Recent" },
          { type: "not", key: { type: "flag", flag: "\\Seen" } },
        ],
      };
    case "BODY":
    case "TEXT":
      sp(c);
      return { type: k === "BODY" ? "body" : "text", value: parseAstring(c) };
    case "HEADER": {
      sp(c);
      const field = parseAstring(c).toString("latin1").toLowerCase();
      sp(c);
      return { type: "header", field, value: parseAstring(c) };
    }
    case "KEYWORD":
    case "UNKEYWORD": {
      sp(c);
      const key: SearchKey = { type: "flag", flag: parseFlag(c) };
      return k === "KEYWORD" ? key : { type: "not", key };
    }
    case "LARGER":
    case "SMALLER":
      sp(c);
      return { type: "size", op: k === "LARGER" ? "larger" : "smaller", size: parseSize(c) };
    case "NOT": {
      sp(c);
      c.enter();
      const key = parseSearchKey(c);
      c.leave();
      return { type: "not", key };
    }
    case "OR": {
      sp(c);
      c.enter();
      const left = parseSearchKey(c);
      sp(c);
      const right = parseSearchKey(c);
      c.leave();
      return { type: "or", left, right };
    }
    case "UID":
      sp(c);
      return { type: "uid", set: parseSequenceSet(c) };
    case "OLDER":
    case "YOUNGER":
      // RFC 5032 §3: interval in seconds, nz-number
      sp(c);
      return { type: "age", op: k === "OLDER" ? "older" : "younger", seconds: parseNzNumber(c) };
    case "MODSEQ": {
      // RFC 7162 §3.1.5: "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
      sp(c);
      let entry: { name: string; type: "priv" | "shared" | "all" } | null = null;
      if (c.peek() === DQUOTE) {
        const name = parseQuoted(c).toString("latin1");
        sp(c);
        const t = keyword(c).toLowerCase();
        if (t !== "priv" && t !== "shared" && t !== "all")
          throw new ParseError("Expected priv, shared or all");
        entry = { name, type: t };
        sp(c);
      }
      return { type: "modseq", modseq: parseNumber64(c), entry };
    }
    case "EMAILID":
    case "THREADID":
      sp(c);
      return { type: k === "EMAILID" ? "emailid" : "threadid", id: parseObjectId(c) };
    case "SAVEDATESUPPORTED":
      return { type: "savedatesupported" };
    default:
      throw new ParseError(`Unknown search key ${JSON.stringify(k)}`);
  }
}

/** search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")" */
function parseSearchReturnOpts(c: Cursor): SearchReturnOpt[] {
  const opts = parenList(
    c,
    (c) => {
      const o = keyword(c);
      if (o !== "MIN" && o !== "MAX" && o !== "ALL" && o !== "COUNT" && o !== "SAVE") {
        throw new ParseError(`Unknown search return option ${o}`);
      }
      return o as SearchReturnOpt;
    },
    true,
    "search return options",
  );
  return [...new Set(opts)];
}

/** charset = atom / quoted */
function parseCharset(c: Cursor): string {
  const cs = c.peek() === DQUOTE ? parseQuoted(c).toString("latin1") : parseAtom(c);
  return cs.toUpperCase();
}

/** search-program = ["CHARSET" SP charset SP] search-key *(SP search-key) — rest of the command */
function parseSearchProgram(c: Cursor): SearchKey {
  const keys: SearchKey[] = [parseSearchKey(c)];
  while (tryByte(c, SP)) keys.push(parseSearchKey(c));
  return keys.length === 1 ? keys[0]! : { type: "and", keys };
}

/** [search-return-opts SP] of SEARCH (RFC 4731 §3) and SORT (RFC 5267 §3.2) */
function parseOptionalReturn(c: Cursor): SearchReturnOpt[] | null {
  if (!peekWord(c, "RETURN")) return null;
  keyword(c);
  sp(c);
  const opts = parseSearchReturnOpts(c);
  sp(c);
  return opts;
}

function parseSearch(c: Cursor, uid: boolean): Command {
  sp(c);
  const returnOpts = parseOptionalReturn(c);
  let charset: string | null = null;
  if (peekWord(c, "CHARSET")) {
    keyword(c);
    sp(c);
    charset = parseCharset(c);
    sp(c);
  }
  return { name: "SEARCH", uid, charset, returnOpts, criteria: parseSearchProgram(c) };
}

// ---------------------------------------------------------------------------------------------
// SORT / THREAD (RFC 5256 §5; RFC 5267 ESORT; RFC 5957 DISPLAY)

const SORT_KEYS = new Set([
  "ARRIVAL",
  "CC",
  "DATE",
  "FROM",
  "SIZE",
  "SUBJECT",
  "TO",
  "DISPLAYFROM",
  "DISPLAYTO",
]);

function parseSort(c: Cursor, uid: boolean): Command {
  sp(c);
  const returnOpts = parseOptionalReturn(c);
  const criteria = parenList(
    c,
    (c): SortCriterion => {
      let k = keyword(c);
      let reverse = false;
      if (k === "REVERSE") {
        reverse = true;
        sp(c);
        k = keyword(c);
      }
      if (!SORT_KEYS.has(k)) throw new ParseError(`Unknown sort key ${k}`);
      return { key: k as SortKeyName, reverse };
    },
    false,
    "sort criteria",
  );
  sp(c);
  const charset = parseCharset(c);
  sp(c);
  return { name: "SORT", uid, returnOpts, criteria, charset, search: parseSearchProgram(c) };
}

function parseThread(c: Cursor, uid: boolean): Command {
  sp(c);
  const algorithm = keyword(c);
  sp(c);
  const charset = parseCharset(c);
  sp(c);
  return { name: "THREAD", uid, algorithm, charset, search: parseSearchProgram(c) };
}

// ---------------------------------------------------------------------------------------------
// Mailbox commands

const STATUS_ITEMS = new Set([
  "MESSAGES",
  "UIDNEXT",
  "UIDVALIDITY",
  "UNSEEN",
  "DELETED",
  "SIZE",
  "HIGHESTMODSEQ",
  "RECENT",
  "APPENDLIMIT",
  "MAILBOXID", // RFC 8474 §4
]);

/** status-att */
function parseStatusAtt(c: Cursor): StatusItem {
  const k = keyword(c);
  if (!STATUS_ITEMS.has(k)) throw new ParseError(`Unknown status item ${k}`);
  return k as StatusItem;
}

function parseStatusAttList(c: Cursor): StatusItem[] {
  return [...new Set(parenList(c, parseStatusAtt, false, "status items"))];
}

/** select-params (RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC) */
function parseSelect(c: Cursor, name: "SELECT" | "EXAMINE"): Command {
  sp(c);
  const mailbox = parseMailbox(c);
  let condstore = false;
  let qresync: QresyncParams | null = null;
  if (tryByte(c, SP)) {
    parenList(
      c,
      (c) => {
        const p = keyword(c);
        if (p === "CONDSTORE") {
          condstore = true;
        } else if (p === "QRESYNC") {
          sp(c);
          expectByte(c, LPAREN, '"(" after QRESYNC');
          const uidValidity = parseNzNumber(c);
          sp(c);
          const modseq = parseModSequenceValue(c);
          let knownUids: SequenceSet | null = null;
          let seqMatch: QresyncParams["seqMatch"] = null;
          if (tryByte(c, SP) && c.peek() !== LPAREN) {
            knownUids = parseSequenceSet(c);
            if (knownUids.type === "saved") throw new ParseError("$ not allowed in QRESYNC");
            if (c.peek() === SP) c.advance();
          }
          if (c.peek() === LPAREN) {
            c.advance();
            const seqs = parseSequenceSet(c);
            sp(c);
            const uids = parseSequenceSet(c);
            expectByte(c, RPAREN, '")" after seq-match-data');
            if (seqs.type === "saved" || uids.type === "saved")
              throw new ParseError("$ not allowed in QRESYNC");
            seqMatch = { seqs, uids };
          }
          expectByte(c, RPAREN, '")" closing QRESYNC');
          qresync = { uidValidity, modseq, knownUids, seqMatch };
        } else {
          throw new ParseError(`Unknown select parameter ${p}`);
        }
      },
      false,
      "select parameters",
    );
  }
  return { name, mailbox, condstore, qresync };
}

/** LIST (RFC 9051 §6.3.9, RFC 5258 §3) */
function parseList(c: Cursor): Command {
  sp(c);
  const selection: ListSelection = {
    subscribed: false,
    remote: false,
    recursiveMatch: false,
    specialUse: false,
  };
  const returnOpts: ListReturn = { children: false, subscribed: false, specialUse: false, status: null };
  let extended = false;
  if (c.peek() === LPAREN) {
    extended = true;
    parenList(
      c,
      (c) => {
        const o = keyword(c);
        if (o === "SUBSCRIBED") selection.subscribed = true;
        else if (o === "REMOTE") selection.remote = true;
        else if (o === "RECURSIVEMATCH") selection.recursiveMatch = true;
        else if (o === "SPECIAL-USE") selection.specialUse = true;
        // RFC 5258 §3.1: unrecognised selection options → BAD
        else throw new ParseError(`Unknown LIST selection option ${o}`);
      },
      true,
      "selection options",
    );
    // RFC 5258 §3.1: RECURSIVEMATCH must not occur alone or only with REMOTE
    if (selection.recursiveMatch && !selection.subscribed && !selection.specialUse) {
      throw new ParseError("RECURSIVEMATCH requires another selection option");
    }
    sp(c);
  }
  const reference = parseMailbox(c);
  sp(c);
  let patterns: MailboxName[];
  if (c.peek() === LPAREN) {
    extended = true;
    patterns = parenList(c, parseListMailbox, false, "mailbox patterns");
  } else {
    patterns = [parseListMailbox(c)];
  }
  if (tryByte(c, SP)) {
    extended = true;
    if (keyword(c) !== "RETURN") throw new ParseError("Expected RETURN");
    sp(c);
    parenList(
      c,
      (c) => {
        const o = keyword(c);
        if (o === "CHILDREN") returnOpts.children = true;
        else if (o === "SUBSCRIBED") returnOpts.subscribed = true;
        else if (o === "SPECIAL-USE") returnOpts.specialUse = true;
        else if (o === "STATUS") {
          // RFC 5819 §2
          sp(c);
          returnOpts.status = parseStatusAttList(c);
        } else throw new ParseError(`Unknown LIST return option ${o}`);
      },
      true,
      "return options",
    );
  }
  return { name: "LIST", reference, patterns, selection, returnOpts, extended };
}

/** APPEND (RFC 9051 §6.3.12, RFC 3502 MULTIAPPEND, RFC 3516 literal8, RFC 6855 §4 UTF8) */
function parseAppend(c: Cursor): Command {
  sp(c);
  const mailbox = parseMailbox(c);
  const messages: AppendMessage[] = [];
  do {
    sp(c);
    let flags: string[] = [];
    let date: Date | null = null;
    if (c.peek() === LPAREN) {
      flags = parseFlagList(c);
      sp(c);
    }
    if (c.peek() === DQUOTE) {
      const text = parseQuoted(c).toString("latin1");
      date = parseDateTime(text);
      if (!date) throw new ParseError(`Invalid date-time ${JSON.stringify(text)}`);
      sp(c);
    }
    let utf8Form = false;
    if (!c.atLiteral()) {
      if (keyword(c) !== "UTF8") c.fail("message literal");
      sp(c);
      expectByte(c, LPAREN, '"(" after UTF8');
      utf8Form = true;
    }
    if (!c.atLiteral()) c.fail("message literal");
    const lit = c.literal();
    if (utf8Form) {
      // RFC 6855 §4: append-data =/ "UTF8" SP "(" literal8 ")"
      if (!lit.binary) throw new ParseError("UTF8 APPEND requires literal8");
      expectByte(c, RPAREN, '")" after UTF8 literal');
    }
    messages.push({ flags, date, data: lit.data, binary: lit.binary, utf8: utf8Form });
  } while (!c.atEnd());
  return { name: "APPEND", mailbox, messages };
}

function parseCreate(c: Cursor): Command {
  sp(c);
  const mailbox = parseMailbox(c);
  const specialUse: string[] = [];
  if (tryByte(c, SP)) {
    // RFC 6154 §3 / RFC 9051 §6.3.4: create-param "USE" SP "(" [use-attr *(SP use-attr)] ")"
    parenList(
      c,
      (c) => {
        const p = keyword(c);
        if (p !== "USE") throw new ParseError(`Unknown CREATE parameter ${p}`);
        sp(c);
        specialUse.push(...parseFlagList(c).map(canonicalSpecialUse));
      },
      false,
      "create parameters",
    );
  }
  return { name: "CREATE", mailbox, specialUse };
}

const SPECIAL_USE = [
  "\\All",
  "\\Archive",
  "\\Drafts",
  "\\Flagged",
  "\\Junk",
  "\\Sent",
  "\\Trash",
  "\\Important",
];
function canonicalSpecialUse(f: string): string {
  return SPECIAL_USE.find((s) => s.toLowerCase() === f.toLowerCase()) ?? f;
}

function parseId(c: Cursor): Command {
  sp(c);
  if (c.peek() !== LPAREN) {
    if (keyword(c) !== "NIL") throw new ParseError("Expected ID parameter list or NIL");
    return { name: "ID", params: null };
  }
  const params: Array<[string, string | null]> = [];
  expectByte(c, LPAREN, '"("');
  if (!tryByte(c, RPAREN)) {
    for (;;) {
      const field = parseString(c).toString("utf8");
      sp(c);
      const value = parseNstring(c);
      params.push([field, value === null ? null : value.toString("utf8")]);
      // RFC 2971 §3.3: at most 30 field-value pairs
      if (params.length > 30) throw new ParseError("Too many ID parameters");
      if (tryByte(c, RPAREN)) break;
      sp(c);
    }
  }
  return { name: "ID", params };
}

function parseAuthenticate(c: Cursor): Command {
  sp(c);
  const mechanism = keyword(c);
  let initialResponse: Buffer | null = null;
  if (tryByte(c, SP)) {
    // RFC 4959 §3: initial-response = base64 / "="
    const t = c.takeWhile((b) => b !== SP).toString("latin1");
    if (t === "=") initialResponse = Buffer.alloc(0);
    else {
      const decoded = decodeBase64(t);
      if (!decoded) throw new ParseError("Invalid base64 in initial response");
      initialResponse = decoded;
    }
  }
  return { name: "AUTHENTICATE", mechanism, initialResponse };
}

/** strict base64 (RFC 9051 §9 base64; padding required); null when invalid */
export function decodeBase64(t: string): Buffer | null {
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return null;
  return Buffer.from(t, "base64");
}

function parseSetQuota(c: Cursor): Command {
  sp(c);
  const root = astringText(c, "Quota root");
  sp(c);
  const limits = parenList(
    c,
    (c) => {
      const resource = keyword(c);
      sp(c);
      return { resource, limit: parseNumber64(c) };
    },
    true,
    "quota limits",
  );
  return { name: "SETQUOTA", root, limits };
}

// ---------------------------------------------------------------------------------------------
// command

function mailboxCmd<N extends "DELETE" | "SUBSCRIBE" | "UNSUBSCRIBE" | "GETQUOTAROOT">(
  c: Cursor,
  name: N,
): { name: N; mailbox: MailboxName } {
  sp(c);
  return { name, mailbox: parseMailbox(c) };
}

function parseUidCommand(c: Cursor): Command {
  sp(c);
  const sub = keyword(c);
  switch (sub) {
    case "FETCH":
      return parseFetch(c, true);
    case "STORE":
      return parseStore(c, true);
    case "SEARCH":
      return parseSearch(c, true);
    case "COPY":
    case "MOVE": {
      sp(c);
      const set = parseSequenceSet(c);
      sp(c);
      return { name: sub, uid: true, set, mailbox: parseMailbox(c) };
    }
    case "EXPUNGE":
      // RFC 4315 §2.1 uid-expunge
      sp(c);
      return { name: "EXPUNGE", uidSet: parseSequenceSet(c) };
    case "SORT":
      return parseSort(c, true);
    case "THREAD":
      return parseThread(c, true);
    default:
      throw new ParseError(`Unknown UID command ${JSON.stringify(sub)}`);
  }
}

/** command-any / command-auth / command-nonauth / command-select (after the tag) */
function parseCommandBody(c: Cursor): Command {
  const name = keyword(c);
  switch (name) {
    case "CAPABILITY":
    case "NOOP":
    case "LOGOUT":
    case "STARTTLS":
    case "NAMESPACE":
    case "IDLE":
    case "CHECK":
    case "CLOSE":
    case "UNSELECT":
      return { name };
    case "EXPUNGE":
      return { name: "EXPUNGE", uidSet: null };
    case "AUTHENTICATE":
      return parseAuthenticate(c);
    case "LOGIN": {
      sp(c);
      const username = astringText(c, "User name");
      sp(c);
      const password = astringText(c, "Password");
      return { name: "LOGIN", username, password };
    }
    case "ENABLE": {
      const capabilities: string[] = [];
      // ENABLE 1*(SP capability)
      do {
        sp(c);
        capabilities.push(keyword(c));
      } while (!c.atEnd());
      return { name: "ENABLE", capabilities };
    }
    case "ID":
      return parseId(c);
    case "SELECT":
    case "EXAMINE":
      return parseSelect(c, name);
    case "CREATE":
      return parseCreate(c);
    case "DELETE":
    case "SUBSCRIBE":
    case "UNSUBSCRIBE":
    case "GETQUOTAROOT":
      return mailboxCmd(c, name);
    case "RENAME": {
      sp(c);
      const from = parseMailbox(c);
      sp(c);
      return { name: "RENAME", from, to: parseMailbox(c) };
    }
    case "LIST":
      return parseList(c);
    case "LSUB": {
      sp(c);
      const reference = parseMailbox(c);
      sp(c);
      return { name: "LSUB", reference, pattern: parseListMailbox(c) };
    }
    case "STATUS": {
      sp(c);
      const mailbox = parseMailbox(c);
      sp(c);
      return { name: "STATUS", mailbox, items: parseStatusAttList(c) };
    }
    case "APPEND":
      return parseAppend(c);
    case "SEARCH":
      return parseSearch(c, false);
    case "FETCH":
      return parseFetch(c, false);
    case "STORE":
      return parseStore(c, false);
    case "COPY":
    case "MOVE": {
      sp(c);
      const set = parseSequenceSet(c);
      sp(c);
      return { name, uid: false, set, mailbox: parseMailbox(c) };
    }
    case "SORT":
      return parseSort(c, false);
    case "THREAD":
      return parseThread(c, false);
    case "UID":
      return parseUidCommand(c);
    case "GETQUOTA": {
      sp(c);
      return { name: "GETQUOTA", root: astringText(c, "Quota root") };
    }
    case "SETQUOTA":
      return parseSetQuota(c);
    default:
      throw new ParseError(`Unknown command ${JSON.stringify(name)}`);
  }
}

/** RFC 9051 §9 tag = 1*<any ASTRING-CHAR except "+"> */
function parseTag(c: Cursor): string {
  const b = c.takeWhile((x) => isAstringChar(x) && x !== 0x2b && x < 0x80);
  if (b.length === 0) throw new ParseError("Missing or invalid tag");
  return b.toString("latin1");
}

/** Parse a complete command (tag SP command). */
export function parseCommand(input: CommandInput): ParseResult {
  const c = new Cursor(input.texts, input.literals);
  let tag: string | null = null;
  try {
    tag = parseTag(c);
    if (c.atEnd()) throw new ParseError("Missing command name");
    if (c.peek() !== SP) throw new ParseError("Missing or invalid tag");
    c.advance();
    const command = parseCommandBody(c);
    if (!c.atEnd()) {
      throw new ParseError(`Unexpected ${c.describe()} after ${command.name} arguments`);
    }
    return { ok: true, tag, command };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, tag, message: e.message };
    throw e;
  }
}

/** Convenience for tests and tools: parse a command given as one string/Buffer with literals inline. */
export function parseCommandText(text: string | Buffer): ParseResult {
  const buf = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const texts: Buffer[] = [];
  const literals: CommandInput["literals"] = [];
  let pos = 0;
  // bounded: each iteration consumes at least one line
  while (pos <= buf.length) {
    let lf = buf.indexOf(0x0a, pos);
    if (lf < 0) lf = buf.length;
    let end = lf;
    if (end > pos && buf[end - 1] === 0x0d) end--;
    const line = buf.subarray(pos, end);
    texts.push(line);
    pos = lf + 1;
    const m = /(~?)\{(\d+)\+?\}$/.exec(line.toString("latin1"));
    if (!m || pos > buf.length) break;
    const size = Number(m[2]);
    literals.push({ data: buf.subarray(pos, pos + size), binary: m[1] === "~" });
    pos += size;
  }
  return parseCommand({ texts, literals });
}
