/**
 * A plain-text body as text nodes and links: http(s)://, mailto: and www. addresses become <a>
 * that open in a new tab (rel=noopener noreferrer). One left-to-right scan, no regular
 * expressions (message text is untrusted input: no backtracking), and Preact escapes every text
 * node, so nothing in the text becomes markup.
 */
import type { ComponentChildren } from "preact";
import { findLinks } from "./links.ts";

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
