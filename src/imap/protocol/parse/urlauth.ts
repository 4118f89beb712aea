/**
 * URLAUTH commands (RFC 4467 §9):
 *   genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism)
 *   resetkey   = "RESETKEY" [SP mailbox *(SP mechanism)]
 *   urlfetch   = "URLFETCH" 1*(SP url-full)
 *   mechanism  = "INTERNAL" / 1*(ALPHA / DIGIT / "-" / ".")   (an atom; upper-cased here)
 * URLs are astrings kept as text (latin1: a URL is ASCII, RFC 5092 §11; anything else cannot
 * resolve); the server parses them (imap-url.ts).
 */
import type { Command } from "../commands.ts";
import { type Cursor, keyword, parseAstring, parseMailbox, sp } from "./primitives.ts";

/**
 * structural bound on URLs per command (each costs a store lookup); the configured
 * imap.limits.max_urls (default 100) is checked by the command handlers and may not exceed it
 */
export const MAX_URLS = 1000;

function url(c: Cursor): string {
  return parseAstring(c).toString("latin1");
}

function more(c: Cursor, n: number): boolean {
  if (c.atEnd()) return false;
  if (n >= MAX_URLS) c.fail(`at most ${MAX_URLS} URLs`);
  return true;
}

export function parseGenUrlAuth(c: Cursor): Command {
  const items: Array<{ url: string; mechanism: string }> = [];
  do {
    sp(c);
    const u = url(c);
    sp(c);
    items.push({ url: u, mechanism: keyword(c) });
  } while (more(c, items.length));
  return { name: "GENURLAUTH", items };
}

export function parseResetKey(c: Cursor): Command {
  if (c.atEnd()) return { name: "RESETKEY", mailbox: null, mechanisms: [] };
  sp(c);
  const mailbox = parseMailbox(c);
  const mechanisms: string[] = [];
  while (!c.atEnd()) {
    sp(c);
    mechanisms.push(keyword(c));
  }
  return { name: "RESETKEY", mailbox, mechanisms };
}

export function parseUrlFetch(c: Cursor): Command {
  const urls: string[] = [];
  do {
    sp(c);
    urls.push(url(c));
  } while (more(c, urls.length));
  return { name: "URLFETCH", urls };
}
