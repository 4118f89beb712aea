/**
 * A plain-text body as text nodes and links: http(s)://, mailto: and www. addresses become <a>
 * that open in a new tab (rel=noopener noreferrer). One left-to-right scan, no regular
 * expressions (message text is untrusted input: no backtracking), and Preact escapes every text
 * node, so nothing in the text becomes markup.
 */
import type { ComponentChildren } from "preact";

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

export function Linkified(props: { text: string }): ComponentChildren {
  const { text } = props;
  const parts: ComponentChildren[] = [];
  let pos = 0;
  for (const f of findLinks(text)) {
    if (f.start > pos) parts.push(text.slice(pos, f.start));
    parts.push(
      <a href={f.href} target="_blank" rel="noopener noreferrer">
        {text.slice(f.start, f.end)}
      </a>,
    );
    pos = f.end;
  }
  if (pos < text.length) parts.push(text.slice(pos));
  return parts;
}
