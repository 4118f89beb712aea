/**
 * The HTML of a message, made safe to show (docs/architecture.md "Webmail", reader and sanitiser).
 *
 * Three layers, each enough against script on its own, together also against unasked loads:
 * 1. DOMPurify (HTML profile only: no SVG/MathML) removes scripts, event handlers, forms and
 *    controls, frames, objects, <meta>, <base>, <link>, media; our hooks then keep only http(s)
 *    and mailto: links (opened in a new tab, rel=noopener noreferrer), resolve cid: images to the
 *    account's download URLs, hold back remote images (src, background) until the user allows
 *    them, and scrub CSS (css-scrub.ts: no @import, no url() but data: images — ever).
 * 2. The result goes into `<iframe sandbox srcdoc>` without allow-scripts (IFRAME_SANDBOX): even
 *    markup that slipped through could not run.
 * 3. The srcdoc document carries its own Content-Security-Policy (frameCsp): nothing loads but
 *    inline style, data:/blob: images, our download URLs and — only when allowed — http(s) images.
 */
import DOMPurify from "dompurify";
import { scrubStyleAttribute, scrubStyleSheet } from "./css-scrub.ts";

/**
 * The iframe's sandbox. HTML §4.8.5 (the iframe sandbox attribute): without allow-scripts the
 * document's "sandboxed scripts browsing context flag" is set, so no script in it runs at all —
 * not inline, not handlers, not javascript: URLs. allow-same-origin only stops the document from
 * getting an opaque origin; the spec warns against it *together with allow-scripts* (a script could
 * then remove the sandbox), which we never grant. We need the same origin for two things: the
 * parent measures the content's height to size the frame (a cross-origin document cannot be read),
 * and cid: images load from our download URL with the session cookie. No allow-forms (no form
 * submission), no allow-top-navigation (the message cannot navigate the app); allow-popups with
 * allow-popups-to-escape-sandbox lets links open a normal new tab.
 */
export const IFRAME_SANDBOX = "allow-same-origin allow-popups allow-popups-to-escape-sandbox";

export interface SanitizeOptions {
  /** cid (without <>) → download URL of that inline part */
  cids?: Map<string, string>;
  /** the user allowed remote images for this message */
  allowRemote?: boolean;
}

export interface Sanitized {
  /** the body's HTML, safe to put in the frame document */
  html: string;
  /** a remote image (or CSS URL) was held back */
  remoteBlocked: boolean;
  /** the cids the HTML shows inline (those attachments need not be listed again) */
  usedCids: Set<string>;
}

const FORBID_TAGS = [
  "script",
  "iframe",
  "frame",
  "frameset",
  "object",
  "embed",
  "applet",
  "form",
  "input",
  "button",
  "select",
  "option",
  "optgroup",
  "textarea",
  "datalist",
  "keygen",
  "meta",
  "base",
  "link",
  "portal",
  "video",
  "audio",
  "source",
  "track",
  "picture",
  "noscript",
  "template",
  "dialog",
];
const FORBID_ATTR = [
  "srcset",
  "ping",
  "action",
  "formaction",
  "poster",
  "xlink:href",
  "autofocus",
  "http-equiv",
];

let ctx: { opts: SanitizeOptions; remote: boolean; used: Set<string> } | null = null;
let hooked = false;

function lower(s: string | null): string {
  return (s ?? "").trim().toLowerCase();
}

/** An image URL: the one to use now, or null (removed); marks remote ones held back. */
function imageUrl(src: string): string | null {
  const c = ctx!;
  // a protocol-relative URL (//host/x) is remote too: the frame resolves it against the app's URL
  const raw = src.trim().startsWith("//") ? `${location.protocol}${src.trim()}` : src;
  const l = lower(raw);
  if (l.startsWith("cid:")) {
    let id = raw.trim().slice(4);
    try {
      id = decodeURIComponent(id);
    } catch {
      // keep it as written
    }
    const url = c.opts.cids?.get(id);
    if (url) c.used.add(id);
    return url ?? null;
  }
  if (l.startsWith("data:image/")) return raw;
  if (l.startsWith("https:") || l.startsWith("http:")) {
    if (c.opts.allowRemote) return raw;
    c.remote = true;
    return null;
  }
  return null;
}

function install(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("uponSanitizeAttribute", (_node, ev) => {
    if (!ctx || ev.attrName !== "style") return;
    const r = scrubStyleAttribute(ev.attrValue);
    if (r.remote && !ctx.opts.allowRemote) ctx.remote = true;
    ev.attrValue = r.text;
    if (!r.text) ev.keepAttr = false;
  });
  DOMPurify.addHook("afterSanitizeElements", (node) => {
    if (!ctx || node.nodeName !== "STYLE") return;
    const r = scrubStyleSheet(node.textContent ?? "");
    if (r.remote && !ctx.opts.allowRemote) ctx.remote = true;
    // "<" in serialised CSS could close the element when the frame parses it again: drop it all
    node.textContent = r.text.includes("<") ? "" : r.text;
  });
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (!ctx) return;
    const el = node as Element;
    const tag = el.nodeName;
    if (tag === "A" || tag === "AREA") {
      const href = el.getAttribute("href");
      if (href === null) return;
      let l = lower(href);
      if (l.startsWith("//")) {
        el.setAttribute("href", `${location.protocol}${href.trim()}`);
        l = `${location.protocol}${l}`;
      }
      if (l.startsWith("#")) {
        el.removeAttribute("target");
        return;
      }
      if (l.startsWith("https:") || l.startsWith("http:") || l.startsWith("mailto:")) {
        el.setAttribute("target", "_blank");
        el.setAttribute("rel", "noopener noreferrer");
      } else {
        el.removeAttribute("href");
        el.removeAttribute("target");
      }
      return;
    }
    if (tag === "IMG") {
      const src = el.getAttribute("src");
      const url = src === null ? null : imageUrl(src);
      if (url === null) el.removeAttribute("src");
      else el.setAttribute("src", url);
    }
    const bg = el.getAttribute("background");
    if (bg !== null) {
      const url = imageUrl(bg);
      if (url === null) el.removeAttribute("background");
      else el.setAttribute("background", url);
    }
  });
}

/** Sanitises a message's HTML (see the module comment). */
export function sanitizeHtml(dirty: string, opts: SanitizeOptions = {}): Sanitized {
  install();
  ctx = { opts, remote: false, used: new Set() };
  try {
    const html = DOMPurify.sanitize(dirty, {
      USE_PROFILES: { html: true },
      FORBID_TAGS,
      FORBID_ATTR,
      ALLOW_DATA_ATTR: false,
      ALLOW_UNKNOWN_PROTOCOLS: false,
      WHOLE_DOCUMENT: false,
      RETURN_TRUSTED_TYPE: false,
    }) as string;
    return { html, remoteBlocked: ctx.remote, usedCids: ctx.used };
  } finally {
    ctx = null;
  }
}

/**
 * The frame document's CSP. `downloadPrefix` is our JMAP download URL up to the account
 * (same origin as the app): cid: images load from there and nowhere else of ours.
 */
export function frameCsp(downloadPrefix: string, allowRemote: boolean): string {
  const img = ["data:", "blob:"];
  if (downloadPrefix) img.push(downloadPrefix);
  if (allowRemote) img.push("https:", "http:");
  return [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `img-src ${img.join(" ")}`,
    "form-action 'none'",
    "base-uri 'none'",
  ].join("; ");
}

function attr(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
}

const FRAME_STYLE =
  "html,body{margin:0;padding:0}body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;" +
  "font-size:15px;line-height:1.45;color:#1b1f24;background:#fff;overflow-wrap:anywhere;padding:2px}" +
  "img{max-width:100%;height:auto}table{max-width:100%}pre{white-space:pre-wrap}";

/** The whole srcdoc: our head (CSP first, no referrer, base styles), the sanitised body. */
export function frameDocument(body: string, csp: string): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">` +
    `<meta name="referrer" content="no-referrer">` +
    // no DNS look-ups of the message's link hosts before a click (a lookup is a tracking signal)
    `<meta http-equiv="x-dns-prefetch-control" content="off">` +
    `<style>${FRAME_STYLE}</style></head><body>${body}</body></html>`
  );
}

/** The download URL prefix of this account (everything before the blob id). */
export function downloadPrefixOf(sampleUrl: string): string {
  try {
    const u = new URL(sampleUrl, location.href);
    const path = u.pathname;
    const cut = path.lastIndexOf("/", path.lastIndexOf("/") - 1);
    return `${u.origin}${path.slice(0, cut + 1)}`;
  } catch {
    return "";
  }
}
