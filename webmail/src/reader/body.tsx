/**
 * A message's body: plain text (linkified, escaped by Preact) or sanitised HTML in a sandboxed
 * iframe sized to its content (keys pressed in it reach the app's shortcuts), with the "Remote
 * images blocked" notice and its button.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n/index.ts";
import { jmap } from "../state.ts";
import type { BodyPart } from "../types.ts";
import { Linkified } from "./linkify.tsx";
import { type FullEmail, partUrl } from "./load.ts";
import { downloadPrefixOf, frameCsp, frameDocument, IFRAME_SANDBOX, sanitizeHtml } from "./sanitize.ts";

export type PreparedBody =
  | { kind: "text"; text: string; truncated: boolean }
  | { kind: "html"; srcdoc: string; remoteBlocked: boolean; usedCids: Set<string>; truncated: boolean };

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function isType(p: BodyPart, type: string): boolean {
  return p.type.toLowerCase() === type;
}

/** cid → download URL for every part that has a Content-ID (RFC 2392 cid: URLs). */
function cidMap(e: FullEmail): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of [...e.attachments, ...e.htmlBody]) {
    if (p.cid && p.blobId) m.set(p.cid.replace(/^<|>$/g, ""), partUrl(p, "image"));
  }
  return m;
}

/** Decides text or HTML and builds what is shown (the HTML sanitised, inside its frame document). */
export function prepareBody(e: FullEmail, allowRemote: boolean): PreparedBody {
  let truncated = false;
  const value = (p: BodyPart): string => {
    const v = p.partId ? e.bodyValues[p.partId] : undefined;
    if (v?.isTruncated) truncated = true;
    return v?.value ?? "";
  };
  if (e.htmlBody.some((p) => isType(p, "text/html"))) {
    const cids = cidMap(e);
    const chunks: string[] = [];
    for (const p of e.htmlBody) {
      if (isType(p, "text/html")) chunks.push(value(p));
      else if (isType(p, "text/plain")) chunks.push(`<pre>${escapeHtml(value(p))}</pre>`);
      else if (p.type.toLowerCase().startsWith("image/") && p.blobId) {
        // an inline image between the HTML parts: shown through a cid of our own
        const id = `pk-part-${p.partId ?? p.blobId}`;
        cids.set(id, partUrl(p, "image"));
        chunks.push(`<div><img src="cid:${id}" alt=""></div>`);
      }
    }
    const s = sanitizeHtml(chunks.join("\n"), { cids, allowRemote });
    const prefix = downloadPrefixOf(jmap.downloadUrl("x", "x", "x"));
    const srcdoc = frameDocument(s.html, frameCsp(prefix, allowRemote));
    return { kind: "html", srcdoc, remoteBlocked: s.remoteBlocked, usedCids: s.usedCids, truncated };
  }
  const text = e.textBody
    .filter((p) => isType(p, "text/plain") || p.type.toLowerCase().startsWith("text/"))
    .map(value)
    .join("\n\n");
  return { kind: "text", text, truncated };
}

/**
 * A key pressed inside the frame (it has the focus after a click in the message) goes to the
 * app's shortcuts (mail/keyboard.tsx listens on the parent document, which never sees the
 * frame's events): a copy is dispatched on the iframe element, and what the shortcut handled
 * does not also act in the frame (no scrolling on Space when a shortcut took it). Not when the
 * key goes to something editable in the frame — the sanitiser leaves no form fields, but
 * `contenteditable` text could still be typed in.
 */
function forwardKey(frame: HTMLIFrameElement | null, e: KeyboardEvent): void {
  if (!frame) return;
  const el = e.target as HTMLElement | null;
  const tag = el?.tagName;
  if (el?.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
  const copy = new KeyboardEvent("keydown", {
    key: e.key,
    code: e.code,
    ctrlKey: e.ctrlKey,
    metaKey: e.metaKey,
    altKey: e.altKey,
    shiftKey: e.shiftKey,
    repeat: e.repeat,
    bubbles: true,
    cancelable: true,
  });
  frame.dispatchEvent(copy);
  if (copy.defaultPrevented) e.preventDefault();
}

/** the frame is never taller than this (a message whose CSS grows with the frame stops here) */
const MAX_FRAME_HEIGHT = 50_000;

/**
 * The sandboxed frame, sized to its content. The parent measures the frame document (possible
 * because the sandbox keeps the same origin and grants no scripts — see IFRAME_SANDBOX) when it
 * loads, when it resizes (ResizeObserver on its body) and as its images load.
 */
function HtmlFrame(props: { srcdoc: string }) {
  const ref = useRef<HTMLIFrameElement>(null);
  const observer = useRef<ResizeObserver | null>(null);
  const [height, setHeight] = useState(80);
  useEffect(() => () => observer.current?.disconnect(), []);
  const measure = () => {
    const d = ref.current?.contentDocument;
    if (!d?.body) return;
    const h = Math.max(d.body.scrollHeight, Math.ceil(d.body.getBoundingClientRect().height));
    setHeight(Math.min(MAX_FRAME_HEIGHT, h + 4));
  };
  // a load listener given as a prop is attached when the element is made, before the frame is
  // in the document and can load (an effect could run after the load event)
  const onLoad = () => {
    observer.current?.disconnect();
    measure();
    const d = ref.current?.contentDocument;
    if (!d?.body) return;
    // a new document per load: the listener goes with the old one
    d.addEventListener("keydown", (e) => forwardKey(ref.current, e));
    observer.current = new ResizeObserver(measure);
    observer.current.observe(d.body);
    for (const img of d.querySelectorAll("img")) img.addEventListener("load", measure);
  };
  // Preact sets every attribute before it inserts the element, so the sandbox is in place before
  // the srcdoc document is created
  return (
    <iframe
      ref={ref}
      class="reader-frame"
      title={t("reader.htmlTitle")}
      sandbox={IFRAME_SANDBOX}
      srcdoc={props.srcdoc}
      referrerpolicy="no-referrer"
      onLoad={onLoad}
      style={{ height: `${height}px` }}
    />
  );
}

export function MessageBody(props: { email: FullEmail; body: PreparedBody; onShowRemote: () => void }) {
  const { body, email } = props;
  return (
    <div class="reader-body">
      {body.kind === "html" && body.remoteBlocked && (
        <div class="reader-remote" role="status">
          <span>{t("reader.remoteBlocked")}</span>{" "}
          <button type="button" onClick={props.onShowRemote}>
            {t("reader.showRemote")}
          </button>
        </div>
      )}
      {body.truncated && (
        <div class="reader-truncated" role="note">
          {t("reader.truncated")}{" "}
          <a href={jmap.downloadUrl(email.blobId, "message.eml", "message/rfc822")} download="message.eml">
            {t("reader.original")}
          </a>
        </div>
      )}
      {body.kind === "html" ? (
        <HtmlFrame srcdoc={body.srcdoc} />
      ) : (
        <div class="reader-text" data-testid="reader-text">
          {body.text ? <Linkified text={body.text} /> : <em>{t("reader.empty")}</em>}
        </div>
      )}
    </div>
  );
}
