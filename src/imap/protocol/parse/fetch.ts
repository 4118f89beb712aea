/**
 * FETCH and STORE arguments (RFC 9051 §6.4.5, §6.4.6, §9 fetch-att; RFC 7162 §3.1.3).
 */
import type { SectionSpec } from "../../../mime/types.ts";
import type { Command, FetchAtt, Partial, PartialRange, SimpleFetchAttName } from "../commands.ts";
import { parsePartialRange } from "./partial.ts";
import {
  type Cursor,
  expectByte,
  isAtomChar,
  isDigit,
  keyword,
  LPAREN,
  ParseError,
  parenList,
  parseAstring,
  parseFlag,
  parseFlagList,
  parseModSequenceValue,
  parseNumber64,
  parseNzNumber,
  parseSequenceSet,
  parseSize,
  SP,
  sp,
  tryByte,
} from "./primitives.ts";

// ---------------------------------------------------------------------------------------------
// FETCH (RFC 9051 §6.4.5, §9 fetch-att)

export const SIMPLE_FETCH = new Set<string>([
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
  "PREVIEW",
]);

export const FETCH_MACROS: Record<string, SimpleFetchAttName[]> = {
  // RFC 9051 §6.4.5 macros
  ALL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
  FAST: ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
  FULL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
};

/** section-part = nz-number *("." nz-number) */
export function parseSectionPart(c: Cursor): number[] {
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
export function parseHeaderList(c: Cursor): string[] {
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
export function parseSectionBinary(c: Cursor): number[] {
  expectByte(c, 0x5b, '"["');
  const part = isDigit(c.peek()) ? parseSectionPart(c) : [];
  expectByte(c, 0x5d, '"]"');
  return part;
}

/** partial = "<" number64 "." nz-number64 ">" */
export function parsePartial(c: Cursor): Partial | null {
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
  if (name === "PREVIEW") parsePreviewModifiers(c);
  if (SIMPLE_FETCH.has(name)) return { type: name as SimpleFetchAttName };
  if (name === "BODY.PEEK" || name === "BINARY" || name === "BINARY.PEEK" || name === "BINARY.SIZE") {
    throw new ParseError(`${name} requires a section`);
  }
  throw new ParseError(`Unknown fetch attribute ${JSON.stringify(name)}`);
}

/**
 * RFC 8970 §6: fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"],
 * preview-mod = "LAZY". No fetch-att starts with "(", so SP "(" after PREVIEW is its modifiers.
 */
function parsePreviewModifiers(c: Cursor): void {
  const save = c.pos;
  if (!tryByte(c, SP)) return;
  if (c.peek() !== LPAREN) {
    c.pos = save;
    return;
  }
  parenList(
    c,
    (c) => {
      const m = keyword(c);
      if (m !== "LAZY") throw new ParseError(`Unknown PREVIEW modifier ${JSON.stringify(m)}`);
    },
    false,
    "PREVIEW modifiers",
  );
}

export function parseFetch(c: Cursor, uid: boolean): Command {
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
  let partial: PartialRange | undefined;
  if (tryByte(c, SP)) {
    // fetch-modifiers (RFC 7162 §3.1.4, §3.2.6; RFC 9394 §3.3 PARTIAL, in any order per §3.4)
    parenList(
      c,
      (c) => {
        const m = keyword(c);
        if (m === "CHANGEDSINCE") {
          sp(c);
          changedSince = parseModSequenceValue(c);
        } else if (m === "VANISHED") {
          vanished = true;
        } else if (m === "PARTIAL") {
          if (partial) throw new ParseError("PARTIAL given twice");
          sp(c);
          partial = parsePartialRange(c);
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
  // RFC 9394 §3.3: "extends the UID FETCH command" — the modifier pages by position among the
  // UIDs named, which only the UID form names without knowing how many exist
  if (partial && !uid) throw new ParseError("PARTIAL requires UID FETCH");
  const cmd: Command = { name: "FETCH", uid, set, atts, changedSince, vanished };
  if (partial) cmd.partial = partial;
  return cmd;
}

// ---------------------------------------------------------------------------------------------
// STORE (RFC 9051 §6.4.6; RFC 7162 §3.1.3)

export function parseStore(c: Cursor, uid: boolean): Command {
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
