/**
 * Links in plain text: http(s)://, mailto: and www. addresses, found by one left-to-right scan
 * without regular expressions (message text is untrusted input: no backtracking).
 */
/** A link found in the text: [start, end) and the URL it opens. */
export interface Found {
  start: number;
  end: number;
  href: string;
}

const STARTS = ["https://", "http://", "mailto:", "www."];
/** ends a URL */
function isStop(ch: string): boolean {
  return ch <= " " || ch === "<" || ch === ">" || ch === '"' || ch === "\u00a0" || ch === "`";
}
/** not taken as the URL's last character (sentence punctuation after a link) */
function isTrailing(ch: string): boolean {
  return ".,;:!?'".includes(ch);
}

function isWordChar(ch: string | undefined): boolean {
  if (!ch) return false;
  const c = ch.toLowerCase();
  return (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c === "_" || c === "-" || c === "." || c === "/";
}

/** Finds the links in text, in order (a linear scan). */
export function findLinks(text: string): Found[] {
  const lower = text.toLowerCase();
  const out: Found[] = [];
  // the next occurrence of each start, searched again only once passed: linear overall
  const next = STARTS.map(() => -2);
  let i = 0;
  while (i < text.length) {
    let at = -1;
    let kind = "";
    for (let k = 0; k < STARTS.length; k++) {
      if (next[k]! !== -1 && next[k]! < i) next[k] = lower.indexOf(STARTS[k]!, i);
      const j = next[k]!;
      if (j >= 0 && (at < 0 || j < at)) {
        at = j;
        kind = STARTS[k]!;
      }
    }
    if (at < 0) break;
    if (isWordChar(text[at - 1])) {
      // inside a word ("xhttp://", "awww."): not a link start
      i = at + 1;
      continue;
    }
    let end = at + kind.length;
    let parens = 0;
    while (end < text.length && !isStop(text[end]!)) {
      const ch = text[end]!;
      if (ch === "(") parens++;
      else if (ch === ")") {
        if (parens === 0) break;
        parens--;
      }
      end++;
    }
    while (end > at + kind.length && isTrailing(text[end - 1]!)) end--;
    if (end > at + kind.length) {
      const raw = text.slice(at, end);
      const href = kind === "www." ? `https://${raw}` : raw;
      if (safeHref(href)) out.push({ start: at, end, href });
    }
    i = end > at ? end : at + 1;
  }
  return out;
}

/** Only absolute http(s) and mailto: URLs that parse. */
export function safeHref(href: string): boolean {
  try {
    const u = new URL(href);
    return u.protocol === "http:" || u.protocol === "https:" || u.protocol === "mailto:";
  } catch {
    return false;
  }
}
