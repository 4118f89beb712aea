/**
 * SEARCH, SORT and THREAD arguments (RFC 9051 §6.4.4, §9 search-key; RFC 5256 §5; RFC 5267;
 * RFC 5957).
 */
import type {
  Command,
  ImapDate,
  PartialRange,
  SearchKey,
  SearchReturnOpt,
  SortCriterion,
  SortKeyName,
} from "../commands.ts";
import { parseDate } from "../datetime.ts";
import { parsePartialRange } from "./partial.ts";
import {
  type Cursor,
  DQUOTE,
  isDigit,
  keyword,
  LPAREN,
  ParseError,
  parenList,
  parseAstring,
  parseAtom,
  parseFlag,
  parseNumber64,
  parseNzNumber,
  parseQuoted,
  parseSequenceSet,
  parseSize,
  peekWord,
  SP,
  sp,
  tryByte,
} from "./primitives.ts";

// ---------------------------------------------------------------------------------------------
// SEARCH (RFC 9051 §6.4.4, §9 search-key)

export function parseSearchDate(c: Cursor): ImapDate {
  // date = date-text / DQUOTE date-text DQUOTE
  const text = c.peek() === DQUOTE ? parseQuoted(c).toString("latin1") : parseAtom(c);
  const d = parseDate(text);
  if (!d) throw new ParseError(`Invalid date ${JSON.stringify(text)}`);
  return d;
}

export const FLAG_KEYS: Record<string, [string, boolean]> = {
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

export const HEADER_KEYS = new Set(["FROM", "TO", "CC", "BCC", "SUBJECT"]);

export const DATE_KEYS: Record<string, ["internal" | "sent" | "saved", "before" | "on" | "since"]> = {
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
export function parseObjectId(c: Cursor): string {
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

export interface ReturnOpts {
  opts: SearchReturnOpt[];
  partial?: PartialRange;
}

/**
 * search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
 * (RFC 4731 §3.1, RFC 5182 SAVE, RFC 5267 §5 CONTEXT / UPDATE, RFC 9394 §5 "PARTIAL" SP partial-range)
 */
export function parseSearchReturnOpts(c: Cursor): ReturnOpts {
  let partial: PartialRange | undefined;
  const opts: SearchReturnOpt[] = [];
  parenList(
    c,
    (c) => {
      const o = keyword(c);
      if (o === "PARTIAL") {
        sp(c);
        // RFC 9394 §3.1: at most one PARTIAL, and never together with ALL
        if (partial) throw new ParseError("PARTIAL given twice");
        partial = parsePartialRange(c);
      } else if (
        o === "MIN" ||
        o === "MAX" ||
        o === "ALL" ||
        o === "COUNT" ||
        o === "SAVE" ||
        o === "CONTEXT" || // RFC 5267 §4.2
        o === "UPDATE" // RFC 5267 §4.3
      ) {
        opts.push(o);
      } else {
        throw new ParseError(`Unknown search return option ${o}`);
      }
    },
    true,
    "search return options",
  );
  if (partial && opts.includes("ALL")) throw new ParseError("PARTIAL and ALL are mutually exclusive");
  const unique = [...new Set(opts)];
  return partial ? { opts: unique, partial } : { opts: unique };
}

/** charset = atom / quoted */
export function parseCharset(c: Cursor): string {
  const cs = c.peek() === DQUOTE ? parseQuoted(c).toString("latin1") : parseAtom(c);
  return cs.toUpperCase();
}

/** search-program = ["CHARSET" SP charset SP] search-key *(SP search-key) — rest of the command */
export function parseSearchProgram(c: Cursor): SearchKey {
  const keys: SearchKey[] = [parseSearchKey(c)];
  while (tryByte(c, SP)) keys.push(parseSearchKey(c));
  return keys.length === 1 ? keys[0]! : { type: "and", keys };
}

/** [search-return-opts SP] of SEARCH (RFC 4731 §3) and SORT (RFC 5267 §3.2) */
export function parseOptionalReturn(c: Cursor): ReturnOpts | null {
  if (!peekWord(c, "RETURN")) return null;
  keyword(c);
  sp(c);
  const opts = parseSearchReturnOpts(c);
  sp(c);
  return opts;
}

export function parseSearch(c: Cursor, uid: boolean): Command {
  sp(c);
  const ret = parseOptionalReturn(c);
  let charset: string | null = null;
  if (peekWord(c, "CHARSET")) {
    keyword(c);
    sp(c);
    charset = parseCharset(c);
    sp(c);
  }
  const criteria = parseSearchProgram(c);
  const cmd: Command = { name: "SEARCH", uid, charset, returnOpts: ret?.opts ?? null, criteria };
  if (ret?.partial) cmd.partial = ret.partial;
  return cmd;
}

// ---------------------------------------------------------------------------------------------
// SORT / THREAD (RFC 5256 §5; RFC 5267 ESORT; RFC 5957 DISPLAY)

export const SORT_KEYS = new Set([
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

export function parseSort(c: Cursor, uid: boolean): Command {
  sp(c);
  const ret = parseOptionalReturn(c);
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
  const search = parseSearchProgram(c);
  const cmd: Command = { name: "SORT", uid, returnOpts: ret?.opts ?? null, criteria, charset, search };
  if (ret?.partial) cmd.partial = ret.partial;
  return cmd;
}

export function parseThread(c: Cursor, uid: boolean): Command {
  sp(c);
  const algorithm = keyword(c);
  sp(c);
  const charset = parseCharset(c);
  sp(c);
  return { name: "THREAD", uid, algorithm, charset, search: parseSearchProgram(c) };
}

/** RFC 5267 §5: "CANCELUPDATE" 1*(SP quoted) */
export function parseCancelUpdate(c: Cursor): Command {
  const tags: string[] = [];
  do {
    sp(c);
    tags.push(parseQuoted(c).toString("latin1"));
  } while (!c.atEnd());
  return { name: "CANCELUPDATE", tags };
}
