/**
 * Email/set create (RFC 8621 §4.6): a message built from JSON — the convenience header
 * properties, `header:Name[:asRaw|:asText]` fields, `textBody` / `htmlBody` (one part each,
 * content from `bodyValues`) and `attachments` (blobs by id) — then appended like IMAP APPEND
 * (size and quota checks) into the first of `mailboxIds` and copied into the others.
 * Header text outside ASCII is RFC 2047 B-encoded; body text is sent as base64 when it is not
 * 7-bit with short lines. `bodyStructure` and `partId` references to other parts are refused.
 */
import { randomBytes } from "node:crypto";
import { StoreError } from "../../store/types.ts";
import type { BlobStore } from "../core/blob.ts";
import { blobContent } from "../core/blob.ts";
import type { JmapDeps, Json, JsonObject, MethodContext } from "../core/types.ts";
import { resolveId } from "./common.ts";
import { emailBlobId } from "./email-get.ts";
import { keywordToFlag, loadEmails, type MailboxView, validKeyword } from "./view.ts";

class CreateFail extends Error {
  readonly setError: JsonObject;
  constructor(type: string, description: string, properties?: string[]) {
    super(description);
    this.setError = { type, description, ...(properties ? { properties } : {}) };
  }
}

const ASCII_PRINT = /^[\x20-\x7e]*$/;

/** RFC 2047 encoded words (B, UTF-8), each at most 75 characters, split on code points */
export function encodeWords(text: string): string {
  if (ASCII_PRINT.test(text)) return text;
  const words: string[] = [];
  let cur = "";
  for (const ch of text) {
    if (Buffer.byteLength(cur + ch) > 45) {
      words.push(cur);
      cur = "";
    }
    cur += ch;
  }
  if (cur) words.push(cur);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString("base64")}?=`).join(" ");
}

function safeHeaderValue(v: string, prop: string): string {
  if (/[\r\n]/.test(v))
    throw new CreateFail("invalidProperties", `${prop} must not contain line breaks`, [prop]);
  return v;
}

function addressList(v: Json, prop: string): string {
  if (!Array.isArray(v)) throw new CreateFail("invalidProperties", `${prop} must be EmailAddress[]`, [prop]);
  return v
    .map((a) => {
      const o = a as JsonObject;
      if (typeof o?.email !== "string" || !/^[^\s<>@]+@[^\s<>@]+$/.test(o.email))
        throw new CreateFail("invalidProperties", `${prop}: bad email`, [prop]);
      const name = typeof o.name === "string" && o.name ? safeHeaderValue(o.name, prop) : null;
      if (!name) return o.email;
      const display = ASCII_PRINT.test(name)
        ? `"${name.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`
        : encodeWords(name);
      return `${display} <${o.email}>`;
    })
    .join(", ");
}

/** id-left "@" id-right without blanks or angle brackets (no regex: client input) */
function isMsgId(x: string): boolean {
  const at = x.lastIndexOf("@");
  if (at <= 0 || at === x.length - 1) return false;
  for (let i = 0; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e) return false;
  }
  return true;
}

function msgIds(v: Json, prop: string): string {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && isMsgId(x)))
    throw new CreateFail("invalidProperties", `${prop} must be message ids`, [prop]);
  return (v as string[]).map((x) => `<${x}>`).join(" ");
}

function wrapBase64(b: Buffer): string {
  return (b.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n");
}

/** a leaf part: headers + body (CRLF line ends) */
function textPart(type: string, text: string): string {
  const crlf = text.replace(/\r?\n/g, "\r\n");
  const plain = /^[\x20-\x7e\r\n\t]*$/.test(crlf) && crlf.split("\r\n").every((l) => l.length <= 998);
  if (plain)
    return `Content-Type: ${type}; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${crlf}`;
  return `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrapBase64(Buffer.from(crlf))}`;
}

function multipart(subtype: string, parts: string[]): string {
  const boundary = `=_pk_${randomBytes(12).toString("hex")}`;
  return (
    `Content-Type: multipart/${subtype}; boundary="${boundary}"\r\n\r\n` +
    parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("") +
    `--${boundary}--\r\n`
  );
}

const HEADER_PROPS: Record<string, [string, (v: Json, p: string) => string]> = {
  from: ["From", addressList],
  sender: ["Sender", addressList],
  to: ["To", addressList],
  cc: ["Cc", addressList],
  bcc: ["Bcc", addressList],
  replyTo: ["Reply-To", addressList],
  messageId: ["Message-ID", msgIds],
  inReplyTo: ["In-Reply-To", msgIds],
  references: ["References", msgIds],
  subject: ["Subject", (v, p) => (typeof v === "string" ? encodeWords(safeHeaderValue(v, p)) : bad(p))],
  sentAt: [
    "Date",
    (v, p) =>
      typeof v === "string" && !Number.isNaN(Date.parse(v))
        ? new Date(v).toUTCString().replace("GMT", "+0000")
        : bad(p),
  ],
};

function bad(p: string): never {
  throw new CreateFail("invalidProperties", `bad ${p}`, [p]);
}

function bodyText(o: JsonObject, list: Json | undefined, prop: string): string | null {
  if (list === undefined || list === null) return null;
  if (!Array.isArray(list) || list.length !== 1)
    throw new CreateFail("invalidProperties", `${prop}: one part`, [prop]);
  const part = list[0] as JsonObject;
  const values = (o.bodyValues ?? {}) as JsonObject;
  const v = typeof part?.partId === "string" ? (values[part.partId] as JsonObject | undefined) : undefined;
  if (!v || typeof v.value !== "string")
    throw new CreateFail("invalidProperties", `${prop}: partId without a bodyValue`, [prop]);
  return v.value;
}

async function buildMessage(
  deps: JmapDeps,
  blobs: BlobStore,
  ctx: MethodContext,
  o: JsonObject,
): Promise<Buffer> {
  if ("bodyStructure" in o)
    throw new CreateFail(
      "invalidProperties",
      "bodyStructure is not supported; use textBody/htmlBody/attachments",
      ["bodyStructure"],
    );
  const lines: string[] = [];
  const has = new Set<string>();
  for (const [prop, [name, fmt]] of Object.entries(HEADER_PROPS)) {
    if (o[prop] === undefined || o[prop] === null) continue;
    lines.push(`${name}: ${fmt(o[prop]!, prop)}`);
    has.add(name.toLowerCase());
  }
  for (const [k, v] of Object.entries(o)) {
    if (!k.startsWith("header:")) continue;
    const [, name, form] = k.split(":");
    if (
      !name ||
      !/^[\x21-\x39\x3b-\x7e]+$/.test(name) ||
      (form !== undefined && form !== "asRaw" && form !== "asText") ||
      typeof v !== "string"
    )
      throw new CreateFail("invalidProperties", `${k} is not supported`, [k]);
    if (has.has(name.toLowerCase()) || name.toLowerCase().startsWith("content-"))
      throw new CreateFail("invalidProperties", `${k} duplicates a property`, [k]);
    lines.push(
      `${name}:${form === "asRaw" ? safeHeaderValue(v, k) : ` ${encodeWords(safeHeaderValue(v, k))}`}`,
    );
  }
  if (!has.has("date")) lines.push(`Date: ${new Date().toUTCString().replace("GMT", "+0000")}`);
  if (!has.has("message-id"))
    lines.push(`Message-ID: <${randomBytes(12).toString("hex")}@${ctx.account.address.split("@")[1]}>`);
  lines.push("MIME-Version: 1.0");
  const text = bodyText(o, o.textBody, "textBody");
  const html = bodyText(o, o.htmlBody, "htmlBody");
  let body: string;
  if (text !== null && html !== null)
    body = multipart("alternative", [textPart("text/plain", text), textPart("text/html", html)]);
  else if (html !== null) body = textPart("text/html", html);
  else body = textPart("text/plain", text ?? "");
  const atts = o.attachments ?? [];
  if (!Array.isArray(atts)) throw new CreateFail("invalidProperties", "attachments", ["attachments"]);
  if (atts.length) {
    const parts = [body];
    for (const a of atts as JsonObject[]) {
      if (typeof a?.blobId !== "string")
        throw new CreateFail("invalidProperties", "attachment without blobId", ["attachments"]);
      const blob = await blobContent(deps, blobs, ctx.account, a.blobId);
      if (!blob) throw new CreateFail("blobNotFound", `no blob ${a.blobId}`, ["attachments"]);
      const data =
        blob.body instanceof Uint8Array ? Buffer.from(blob.body) : Buffer.concat(await collect(blob.body));
      const type =
        typeof a.type === "string" && /^[\w.+-]+\/[\w.+-]+$/.test(a.type)
          ? a.type
          : "application/octet-stream";
      const name = typeof a.name === "string" ? safeHeaderValue(a.name, "attachments") : null;
      const disp = a.disposition === "inline" ? "inline" : "attachment";
      const fname = name ? `; filename="${encodeWords(name).replaceAll('"', "")}"` : "";
      const cid =
        typeof a.cid === "string" ? `Content-ID: <${safeHeaderValue(a.cid, "attachments")}>\r\n` : "";
      parts.push(
        `Content-Type: ${type}\r\nContent-Disposition: ${disp}${fname}\r\n${cid}Content-Transfer-Encoding: base64\r\n\r\n${wrapBase64(data)}`,
      );
    }
    body = multipart("mixed", parts);
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n${body}`);
}

async function collect(s: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of s as unknown as AsyncIterable<Uint8Array>) out.push(c);
  return out;
}

/** creates one Email; returns its server-set properties or a SetError */
export async function createEmail(
  deps: JmapDeps,
  blobs: BlobStore,
  ctx: MethodContext,
  view: MailboxView,
  o: JsonObject,
): Promise<{ created: JsonObject } | { error: JsonObject }> {
  try {
    const targets: number[] = [];
    const mbs = o.mailboxIds;
    if (!mbs || typeof mbs !== "object" || Array.isArray(mbs))
      throw new CreateFail("invalidProperties", "mailboxIds", ["mailboxIds"]);
    for (const id of Object.keys(mbs)) {
      const mb = view.mailboxById.get(resolveId(id, ctx) ?? "");
      if (!mb || mbs[id] !== true)
        throw new CreateFail("invalidProperties", `no mailbox ${id}`, ["mailboxIds"]);
      targets.push(mb.id);
    }
    if (targets.length === 0)
      throw new CreateFail("invalidProperties", "an Email must be in a mailbox", ["mailboxIds"]);
    const kw = (o.keywords ?? {}) as JsonObject;
    if (
      typeof kw !== "object" ||
      Array.isArray(kw) ||
      !Object.entries(kw).every(([k, v]) => v === true && validKeyword(k))
    )
      throw new CreateFail("invalidProperties", "keywords", ["keywords"]);
    const raw = await buildMessage(deps, blobs, ctx, o);
    const received = typeof o.receivedAt === "string" ? Date.parse(o.receivedAt) : Number.NaN;
    const first = targets[0]!;
    const r = await ctx.store.append(ctx.account.id, first, {
      raw,
      flags: Object.keys(kw).map(keywordToFlag),
      ...(Number.isNaN(received) ? {} : { internalDate: new Date(received) }),
    });
    for (const m of targets.slice(1)) await ctx.store.copy(first, [r.uid], m);
    const [meta] = await ctx.store.getMessages(first, [r.uid]);
    const e = meta
      ? (await loadEmails(ctx.store, ctx.account.id, [meta.emailId])).get(meta.emailId)
      : undefined;
    if (!e) throw new Error("created message not found");
    return { created: { id: e.id, blobId: emailBlobId(e.id), threadId: e.threadId, size: e.size } };
  } catch (err) {
    if (err instanceof CreateFail) return { error: err.setError };
    if (err instanceof StoreError) {
      if (err.code === "OVERQUOTA") return { error: { type: "overQuota", description: err.message } };
      if (err.code === "TOOBIG") return { error: { type: "tooLarge", description: err.message } };
      return { error: { type: "invalidProperties", description: err.message } };
    }
    throw err;
  }
}
