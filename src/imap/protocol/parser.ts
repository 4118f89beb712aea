/**
 * Typed IMAP command parser (RFC 9051 §9 formal syntax, plus RFC 3501 and the extensions listed
 * in index.ts). Functions are named after the ABNF rules they implement; by responsibility:
 * parse/primitives.ts (cursor, lexical rules, sequence sets, flags), parse/fetch.ts (FETCH,
 * STORE), parse/search.ts (SEARCH, SORT, THREAD), parse/mailbox.ts (mailbox and session
 * commands); this file dispatches on the command name.
 */
import type { Command, MailboxName } from "./commands.ts";
import { parseAcl } from "./parse/acl.ts";
import { parseFetch, parseStore } from "./parse/fetch.ts";
import {
  parseAppend,
  parseAuthenticate,
  parseCreate,
  parseId,
  parseList,
  parseSelect,
  parseSetQuota,
  parseStatusAttList,
} from "./parse/mailbox.ts";
import { parseGetMetadata, parseSetMetadata } from "./parse/metadata.ts";
import { parseNotify } from "./parse/notify.ts";
import {
  astringText,
  type CommandInput,
  Cursor,
  isAstringChar,
  keyword,
  ParseError,
  type ParseResult,
  parseListMailbox,
  parseMailbox,
  parseSequenceSet,
  SP,
  sp,
} from "./parse/primitives.ts";
import { parseReplace } from "./parse/replace.ts";
import { parseCancelUpdate, parseSearch, parseSort, parseThread } from "./parse/search.ts";
import { parseGenUrlAuth, parseResetKey, parseUrlFetch } from "./parse/urlauth.ts";

export { decodeBase64 } from "./parse/mailbox.ts";
export { type CommandInput, MAX_DEPTH, ParseError, type ParseResult } from "./parse/primitives.ts";

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
    case "REPLACE":
      return parseReplace(c, true);
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
    case "COMPRESS":
      // RFC 4978 §5: command-auth =/ compress; compress = "COMPRESS" SP algorithm
      sp(c);
      return { name: "COMPRESS", mechanism: keyword(c) };
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
    case "REPLACE":
      return parseReplace(c, false);
    case "UID":
      return parseUidCommand(c);
    case "GETQUOTA": {
      sp(c);
      return { name: "GETQUOTA", root: astringText(c, "Quota root") };
    }
    case "SETQUOTA":
      return parseSetQuota(c);
    case "CANCELUPDATE":
      return parseCancelUpdate(c);
    case "GETMETADATA":
      return parseGetMetadata(c);
    case "NOTIFY":
      return parseNotify(c);
    case "SETMETADATA":
      return parseSetMetadata(c);
    case "SETACL":
    case "DELETEACL":
    case "GETACL":
    case "LISTRIGHTS":
    case "MYRIGHTS":
      return parseAcl(c, name); // RFC 4314 §3
    case "GENURLAUTH":
      return parseGenUrlAuth(c);
    case "RESETKEY":
      return parseResetKey(c);
    case "URLFETCH":
      return parseUrlFetch(c);
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
