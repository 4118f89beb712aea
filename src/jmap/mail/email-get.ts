/**
 * Email/get (RFC 8621 §4.2): metadata from the named Emails' rows (view.ts loadEmails — the
 * account view only for `ids: null`), header and body properties from
 * the MIME part index of the stored message (re-parsed from the stored octets, delivery headers
 * included, so the offsets and the "headers" property cover what IMAP BODY[] returns).
 */
import { parseMessage } from "../../mime/parse.ts";
import type { ParsedMessage } from "../../mime/types.ts";
import type { Store } from "../../store/types.ts";
import type { Json, JsonObject, MethodContext, MethodHandler } from "../core/types.ts";
import { invalidArguments } from "../core/types.ts";
import { idsArg, optBool, optInt, requireAccount } from "./common.ts";
import {
  allHeaders,
  bodyPart,
  flattenBody,
  type formValue,
  headerProperty,
  parseHeaderProperty,
  partText,
  rootRef,
} from "./email-body.ts";
import { accountView, type EmailEntry, loadEmails, mailboxJmapId } from "./view.ts";

export const EMAIL_PROPS = [
  "id",
  "blobId",
  "threadId",
  "mailboxIds",
  "keywords",
  "size",
  "receivedAt",
  "messageId",
  "inReplyTo",
  "references",
  "sender",
  "from",
  "to",
  "cc",
  "bcc",
  "replyTo",
  "subject",
  "sentAt",
  "hasAttachment",
  "preview",
  "bodyValues",
  "textBody",
  "htmlBody",
  "attachments",
  "headers",
  "bodyStructure",
] as const;

const DEFAULT_PROPS = EMAIL_PROPS.filter((p) => p !== "headers" && p !== "bodyStructure");
const BODY_PROPS = [
  "partId",
  "blobId",
  "size",
  "headers",
  "name",
  "type",
  "charset",
  "disposition",
  "cid",
  "language",
  "location",
  "subParts",
];
const DEFAULT_BODY_PROPS = [
  "partId",
  "blobId",
  "size",
  "name",
  "type",
  "charset",
  "disposition",
  "cid",
  "language",
  "location",
];
export const META = new Set(["id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt"]);

/** convenience header properties (RFC 8621 §4.1.3) → their header:…:as… form */
const CONVENIENCE: Record<string, [string, Parameters<typeof formValue>[1]]> = {
  messageId: ["message-id", "MessageIds"],
  inReplyTo: ["in-reply-to", "MessageIds"],
  references: ["references", "MessageIds"],
  sender: ["sender", "Addresses"],
  from: ["from", "Addresses"],
  to: ["to", "Addresses"],
  cc: ["cc", "Addresses"],
  bcc: ["bcc", "Addresses"],
  replyTo: ["reply-to", "Addresses"],
  subject: ["subject", "Text"],
  sentAt: ["date", "Date"],
};

export function emailBlobId(emailId: string): string {
  return `E${emailId}`;
}

/** blob id of one body part: P<len>_<emailId><path joined by "-"> */
export function partBlobId(emailId: string, path: number[]): string {
  return `P${emailId.length}_${emailId}${path.join("-")}`;
}

export function utcDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export async function loadMessage(
  store: Store,
  e: EmailEntry,
): Promise<{ buf: Buffer; parsed: ParsedMessage }> {
  const c = e.copies[0]!;
  const raw = await store.readMessage(c.mailboxId, c.uid);
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return { buf, parsed: parseMessage(buf) };
}

interface BodyOpts {
  bodyProps: string[];
  fetchText: boolean;
  fetchHtml: boolean;
  fetchAll: boolean;
  maxBytes: number;
}

function truncateUtf8(s: string, max: number): { value: string; truncated: boolean } {
  if (max === 0 || Buffer.byteLength(s) <= max) return { value: s, truncated: false };
  let v = Buffer.from(s).subarray(0, max).toString("utf8");
  if (v.endsWith("\uFFFD")) v = v.slice(0, -1); // never cut inside a UTF-8 sequence
  return { value: v, truncated: true };
}

/** one Email's properties; `preloaded` = the message already parsed (Email/parse) */
export async function emailObject(
  ctx: MethodContext,
  e: EmailEntry,
  props: string[],
  o: BodyOpts,
  preloaded?: { buf: Buffer; parsed: ParsedMessage },
): Promise<JsonObject> {
  const out: JsonObject = {};
  const needContent = props.some((p) => !META.has(p) && p !== "preview");
  let msg: { buf: Buffer; parsed: ParsedMessage } | null = preloaded ?? null;
  if (needContent && !msg) msg = await loadMessage(ctx.store, e);
  for (const p of props) {
    switch (p) {
      case "id":
        out.id = e.id;
        break;
      case "blobId":
        out.blobId = emailBlobId(e.id);
        break;
      case "threadId":
        out.threadId = e.threadId;
        break;
      case "mailboxIds": {
        const m: JsonObject = {};
        for (const c of e.copies) m[mailboxJmapId({ id: c.mailboxId })] = true;
        out.mailboxIds = m;
        break;
      }
      case "keywords":
        out.keywords = Object.fromEntries([...e.keywords].map((k) => [k, true]));
        break;
      case "size":
        out.size = e.size;
        break;
      case "receivedAt":
        out.receivedAt = utcDate(e.receivedAt);
        break;
      case "preview":
        out.preview = msg ? msg.parsed.preview : (await ctx.store.getParsed(e.storeBlob)).preview;
        break;
    }
  }
  if (!msg) return out;
  const { buf, parsed } = msg;
  const root = rootRef(parsed);
  const blobOf = (path: number[]) => partBlobId(e.id, path);
  const fill = (): void => {
    for (const p of props) {
      const conv = CONVENIENCE[p];
      if (conv) out[p] = headerProperty(buf, parsed.root, { name: conv[0], form: conv[1], all: false });
      else if (p.startsWith("header:")) {
        const spec = parseHeaderProperty(p);
        if (!spec) throw invalidArguments(`bad header property ${p}`);
        out[p] = headerProperty(buf, parsed.root, spec);
      } else if (p === "headers") out.headers = allHeaders(buf, parsed.root);
      else if (p === "bodyStructure")
        out.bodyStructure = bodyPart(buf, parsed, root, blobOf, [...o.bodyProps, "subParts"]);
    }
    const need = ["textBody", "htmlBody", "attachments", "hasAttachment", "bodyValues"].some((x) =>
      props.includes(x),
    );
    if (!need) return;
    const flat = flattenBody(root);
    const list = (refs: typeof flat.text): Json[] =>
      refs.map((r) => bodyPart(buf, parsed, r, blobOf, o.bodyProps));
    if (props.includes("textBody")) out.textBody = list(flat.text);
    if (props.includes("htmlBody")) out.htmlBody = list(flat.html);
    if (props.includes("attachments")) out.attachments = list(flat.att);
    if (props.includes("hasAttachment")) out.hasAttachment = flat.att.length > 0;
    if (props.includes("bodyValues")) {
      const values: JsonObject = {};
      const want = new Map<string, (typeof flat.text)[number]>();
      if (o.fetchText || o.fetchAll) for (const r of flat.text) want.set(r.partId!, r);
      if (o.fetchHtml || o.fetchAll) for (const r of flat.html) want.set(r.partId!, r);
      if (o.fetchAll)
        for (const r of flat.att) if (r.part.contentType.type === "text") want.set(r.partId!, r);
      for (const [id, r] of want) {
        if (r.part.contentType.type !== "text") continue;
        const t = partText(buf, parsed, r);
        const v = truncateUtf8(t.text, o.maxBytes);
        values[id] = { value: v.value, isEncodingProblem: t.problem, isTruncated: v.truncated };
      }
      out.bodyValues = values;
    }
  };
  fill();
  return out;
}

/** properties, bodyProperties and the body-value options of Email/get and Email/parse */
export function emailGetArgs(
  args: JsonObject,
  defaults: readonly string[] = DEFAULT_PROPS,
): { props: string[]; o: BodyOpts } {
  const p = args.properties;
  let props: string[];
  if (p === undefined || p === null) props = [...defaults];
  else {
    if (!Array.isArray(p) || !p.every((x) => typeof x === "string"))
      throw invalidArguments("properties must be String[]");
    for (const x of p as string[]) {
      if (
        !(EMAIL_PROPS as readonly string[]).includes(x) &&
        !(x.startsWith("header:") && parseHeaderProperty(x))
      )
        throw invalidArguments(`unknown property ${x}`);
    }
    props = p as string[];
  }
  const bp = args.bodyProperties;
  let bodyProps = DEFAULT_BODY_PROPS;
  if (bp !== undefined && bp !== null) {
    if (
      !Array.isArray(bp) ||
      !bp.every((x) => typeof x === "string" && (BODY_PROPS.includes(x) || x.startsWith("header:")))
    )
      throw invalidArguments("bad bodyProperties");
    bodyProps = bp as string[];
  }
  const o: BodyOpts = {
    bodyProps,
    fetchText: optBool(args, "fetchTextBodyValues", false),
    fetchHtml: optBool(args, "fetchHTMLBodyValues", false),
    fetchAll: optBool(args, "fetchAllBodyValues", false),
    maxBytes: optInt(args, "maxBodyValueBytes", 0),
  };
  return { props, o };
}

const get: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const ids = idsArg(args, ctx);
  const { props: asked, o } = emailGetArgs(args);
  const props = asked.includes("id") ? asked : ["id", ...asked];
  let state: string;
  let want: string[];
  let emails: Map<string, EmailEntry>;
  if (ids) {
    // the named Emails only, by the store's emailId lookup (not the whole account)
    state = await ctx.store.currentState(ctx.account.id);
    want = ids;
    emails = await loadEmails(ctx.store, ctx.account.id, ids);
  } else {
    // RFC 8620 §5.1: ids null = all — bounded by maxObjectsInGet
    const view = await accountView(ctx.store, ctx.account.id);
    state = view.state;
    want = [...view.emails.keys()].slice(0, ctx.limits.max_objects_in_get);
    emails = view.emails;
  }
  const list: JsonObject[] = [];
  const notFound: string[] = [];
  for (const id of want) {
    const e = emails.get(id);
    if (!e) {
      notFound.push(id);
      continue;
    }
    try {
      list.push(await emailObject(ctx, e, props, o));
    } catch (err) {
      if ((err as { code?: string }).code === "NOTFOUND" || (err as { code?: string }).code === "NONEXISTENT")
        notFound.push(id);
      else throw err;
    }
  }
  return { accountId: ctx.accountId, state, list, notFound };
};

export const emailGet = get;
