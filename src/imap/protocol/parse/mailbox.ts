/**
 * Mailbox and session command arguments: SELECT/EXAMINE, LIST, APPEND, CREATE, STATUS, ID,
 * AUTHENTICATE, SETQUOTA (RFC 9051 §6.3, RFC 5258, RFC 7162, RFC 2971, RFC 9208).
 */
import type {
  AppendMessage,
  Command,
  ListReturn,
  ListSelection,
  MailboxName,
  QresyncParams,
  SequenceSet,
  StatusItem,
} from "../commands.ts";
import { parseDateTime } from "../datetime.ts";
import { parseCatenate } from "./catenate.ts";
import {
  astringText,
  type Cursor,
  DQUOTE,
  expectByte,
  keyword,
  LPAREN,
  ParseError,
  parenList,
  parseFlagList,
  parseListMailbox,
  parseMailbox,
  parseModSequenceValue,
  parseNstring,
  parseNumber64,
  parseNzNumber,
  parseQuoted,
  parseSequenceSet,
  parseString,
  RPAREN,
  SP,
  sp,
  tryByte,
} from "./primitives.ts";

// ---------------------------------------------------------------------------------------------
// Mailbox commands

export const STATUS_ITEMS = new Set([
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
export function parseStatusAtt(c: Cursor): StatusItem {
  const k = keyword(c);
  if (!STATUS_ITEMS.has(k)) throw new ParseError(`Unknown status item ${k}`);
  return k as StatusItem;
}

export function parseStatusAttList(c: Cursor): StatusItem[] {
  return [...new Set(parenList(c, parseStatusAtt, false, "status items"))];
}

/** select-params (RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC) */
export function parseSelect(c: Cursor, name: "SELECT" | "EXAMINE"): Command {
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
export function parseList(c: Cursor): Command {
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
export function parseAppend(c: Cursor): Command {
  sp(c);
  const mailbox = parseMailbox(c);
  const messages: AppendMessage[] = [];
  do {
    sp(c);
    messages.push(parseAppendMessage(c));
  } while (!c.atEnd());
  return { name: "APPEND", mailbox, messages };
}

/** append-message = append-opts SP append-data (RFC 9051 §9; also REPLACE, RFC 8508 §5) */
export function parseAppendMessage(c: Cursor): AppendMessage {
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
    const kw = keyword(c);
    // RFC 4469 §5: append-data =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"
    if (kw === "CATENATE")
      return { flags, date, data: Buffer.alloc(0), binary: false, utf8: false, catenate: parseCatenate(c) };
    if (kw !== "UTF8") c.fail("message literal");
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
  return { flags, date, data: lit.data, binary: lit.binary, utf8: utf8Form };
}

export function parseCreate(c: Cursor): Command {
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

export const SPECIAL_USE = [
  "\\All",
  "\\Archive",
  "\\Drafts",
  "\\Flagged",
  "\\Junk",
  "\\Sent",
  "\\Trash",
  "\\Important",
];
export function canonicalSpecialUse(f: string): string {
  return SPECIAL_USE.find((s) => s.toLowerCase() === f.toLowerCase()) ?? f;
}

export function parseId(c: Cursor): Command {
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

export function parseAuthenticate(c: Cursor): Command {
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

export function parseSetQuota(c: Cursor): Command {
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
