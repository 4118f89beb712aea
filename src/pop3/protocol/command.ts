/**
 * POP3 command line parsing (RFC 1939 §3, RFC 2449 §3).
 *
 * RFC 1939 §3: a command is a case-insensitive keyword of 3–4 printable ASCII characters,
 * optionally followed by arguments separated by a single space. Arguments are decoded as UTF-8
 * (RFC 6856 §2 allows UTF-8 user names and passwords). PASS keeps the rest of the line as one
 * argument so that passwords containing spaces work (as RFC 1939 §7 suggests servers may do).
 */

export interface Pop3Command {
  /** upper-cased keyword */
  keyword: string;
  args: string[];
  /** raw bytes after "KEYWORD " (PASS, AUTH continuation); empty when there are no arguments */
  rest: Buffer;
}

export type ParseResult = { ok: true; command: Pop3Command } | { ok: false; message: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** RFC 2449 §4: keywords are 3–4 printable characters; ours are a letter then letters/digits (UTF8). */
function isKeyword(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9]{2,3}$/.test(s);
}

export function parseCommand(line: Buffer): ParseResult {
  const sp = line.indexOf(32);
  const kwBytes = sp < 0 ? line : line.subarray(0, sp);
  const keyword = kwBytes.toString("latin1");
  if (!isKeyword(keyword)) return { ok: false, message: "Unknown command" };
  const rest = sp < 0 ? Buffer.alloc(0) : line.subarray(sp + 1);
  let text: string;
  try {
    text = utf8.decode(rest);
  } catch {
    return { ok: false, message: "Invalid UTF-8 in command arguments" };
  }
  // RFC 1939 §3: arguments separated by a single space; tolerate runs of spaces and trailing space
  const args = text.length === 0 ? [] : text.split(" ").filter((a) => a.length > 0);
  return { ok: true, command: { keyword: keyword.toUpperCase(), args, rest } };
}

/**
 * msg-number (RFC 1939 §3: "a message-number argument ... refers to a message"): 1*DIGIT, no sign,
 * no leading "+", bounded. Returns null when not a plain positive decimal.
 */
export function parseMsgNumber(s: string | undefined): number | null {
  if (s === undefined || !/^[0-9]{1,9}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 ? n : null;
}

/** Non-negative line count for TOP (RFC 1939 §7: "n" must be non-negative). */
export function parseLineCount(s: string | undefined): number | null {
  if (s === undefined || !/^[0-9]{1,9}$/.test(s)) return null;
  return Number(s);
}
