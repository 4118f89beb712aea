/**
 * Email/import (RFC 8621 §4.8), Email/parse (§4.9) and SearchSnippet/get (§5), over the blobs
 * of core/blob.ts. An import is an IMAP APPEND of the blob into the first mailbox (the one
 * append path, with its size and quota checks) and a COPY into each further one, so the Email
 * keeps one emailId in every mailbox.
 */
import { parseMessage } from "../../mime/parse.ts";
import { StoreError } from "../../store/types.ts";
import type { BlobStore } from "../core/blob.ts";
import { blobContent } from "../core/blob.ts";
import {
  invalidArguments,
  type JmapDeps,
  type JsonObject,
  MethodError,
  type MethodHandler,
} from "../core/types.ts";
import { checkIfInState, requireAccount, resolveId, setObjects } from "./common.ts";
import { emailBlobId, emailGetArgs, emailObject, META } from "./email-get.ts";
import { runQuery } from "./email-query.ts";
import { type EmailEntry, keywordToFlag, loadEmails, mailboxView, validKeyword } from "./view.ts";

async function bytesOf(body: Uint8Array | ReadableStream<Uint8Array>): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const chunks: Uint8Array[] = [];
  for await (const c of body as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

export function importMethods(deps: JmapDeps, blobs: BlobStore): Array<[string, MethodHandler]> {
  const importEmail: MethodHandler = async (args, ctx) => {
    requireAccount(args, ctx);
    const view = await mailboxView(ctx.store, ctx.account.id);
    const oldState = view.state;
    checkIfInState(args, oldState);
    const emails = setObjects(args.emails, "emails");
    if (!emails) throw invalidArguments("emails is required");
    if (Object.keys(emails).length > ctx.limits.max_objects_in_set) throw new MethodError("requestTooLarge");
    const created: JsonObject = {};
    const notCreated: JsonObject = {};
    for (const [cid, raw] of Object.entries(emails)) {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        notCreated[cid] = { type: "invalidProperties", description: "not an object" };
        continue;
      }
      const o = raw;
      const fail = (type: string, description: string, properties?: string[]) => {
        notCreated[cid] = { type, description, ...(properties ? { properties } : {}) };
      };
      if (typeof o.blobId !== "string") {
        fail("invalidProperties", "blobId", ["blobId"]);
        continue;
      }
      const mbs = o.mailboxIds;
      const targets: number[] = [];
      if (mbs && typeof mbs === "object" && !Array.isArray(mbs)) {
        for (const id of Object.keys(mbs)) {
          const mb = view.mailboxById.get(resolveId(id, ctx) ?? "");
          if (mb) targets.push(mb.id);
        }
      }
      if (targets.length === 0 || (mbs && targets.length !== Object.keys(mbs).length)) {
        fail("invalidProperties", "mailboxIds must name existing mailboxes", ["mailboxIds"]);
        continue;
      }
      const kw = o.keywords ?? {};
      if (
        typeof kw !== "object" ||
        Array.isArray(kw) ||
        !Object.entries(kw).every(([k, v]) => v === true && validKeyword(k))
      ) {
        fail("invalidProperties", "keywords", ["keywords"]);
        continue;
      }
      let internalDate: Date | undefined;
      if (o.receivedAt !== undefined && o.receivedAt !== null) {
        const t = typeof o.receivedAt === "string" ? Date.parse(o.receivedAt) : Number.NaN;
        if (Number.isNaN(t)) {
          fail("invalidProperties", "receivedAt", ["receivedAt"]);
          continue;
        }
        internalDate = new Date(t);
      }
      const blob = await blobContent(deps, blobs, ctx.account, o.blobId);
      if (!blob) {
        fail("blobNotFound", "no such blob");
        continue;
      }
      try {
        const rawMsg = await bytesOf(blob.body);
        const flags = Object.keys(kw).map(keywordToFlag);
        const first = targets[0]!;
        const r = await ctx.store.append(ctx.account.id, first, {
          raw: rawMsg,
          flags,
          ...(internalDate ? { internalDate } : {}),
        });
        for (const m of targets.slice(1)) await ctx.store.copy(first, [r.uid], m);
        const [meta] = await ctx.store.getMessages(first, [r.uid]);
        const e = meta
          ? (await loadEmails(ctx.store, ctx.account.id, [meta.emailId])).get(meta.emailId)
          : undefined;
        if (!e) throw new Error("imported message not found");
        ctx.createdIds.set(cid, e.id);
        created[cid] = { id: e.id, blobId: emailBlobId(e.id), threadId: e.threadId, size: e.size };
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        // RFC 8621 §4.8: overQuota / tooLarge SetErrors
        if (err.code === "OVERQUOTA") fail("overQuota", err.message);
        else if (err.code === "TOOBIG") fail("tooLarge", err.message);
        else fail("invalidEmail", err.message);
      }
    }
    return {
      accountId: ctx.accountId,
      oldState,
      newState: await ctx.store.currentState(ctx.account.id),
      created: Object.keys(created).length ? created : null,
      notCreated: Object.keys(notCreated).length ? notCreated : null,
    };
  };

  const parse: MethodHandler = async (args, ctx) => {
    requireAccount(args, ctx);
    if (!Array.isArray(args.blobIds) || !args.blobIds.every((b) => typeof b === "string"))
      throw invalidArguments("blobIds must be Id[]");
    if (args.blobIds.length > ctx.limits.max_objects_in_get) throw new MethodError("requestTooLarge");
    const { props, o } = emailGetArgs(args, [
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
    ]);
    const parsed: JsonObject = {};
    const notParsable: string[] = [];
    const notFound: string[] = [];
    for (const blobId of args.blobIds as string[]) {
      const blob = await blobContent(deps, blobs, ctx.account, blobId);
      if (!blob) {
        notFound.push(blobId);
        continue;
      }
      const buf = await bytesOf(blob.body);
      const msg = { buf, parsed: parseMessage(buf) };
      // part blob ids resolve when the blob is a stored Email's (E<emailId>)
      const stub: EmailEntry = {
        id: blobId.startsWith("E") ? blobId.slice(1) : blobId,
        threadId: "",
        storeBlob: "",
        size: buf.length,
        receivedAt: new Date(0),
        copies: [],
        keywords: new Set(),
      };
      const content = props.filter((p) => !META.has(p));
      const obj = await emailObject(ctx, stub, content.length ? content : ["subject"], o, msg);
      if (!content.length) delete obj.subject;
      if (!props.includes("preview")) delete obj.preview;
      for (const p of props) if (META.has(p)) obj[p] = p === "size" ? buf.length : null;
      parsed[blobId] = obj;
    }
    return {
      accountId: ctx.accountId,
      parsed: Object.keys(parsed).length ? parsed : null,
      notParsable: notParsable.length ? notParsable : null,
      notFound: notFound.length ? notFound : null,
    };
  };

  /** RFC 8621 §5: subject / preview with the filter's text, subject and body terms in <mark> (null: no term shows) */
  const snippets: MethodHandler = async (args, ctx) => {
    requireAccount(args, ctx);
    if (!Array.isArray(args.emailIds) || !args.emailIds.every((b) => typeof b === "string"))
      throw invalidArguments("emailIds must be Id[]");
    if (args.emailIds.length > ctx.limits.max_objects_in_get) throw new MethodError("requestTooLarge");
    const filter = (args.filter ?? null) as JsonObject | null;
    const terms: string[] = [];
    const bodyTerms: string[] = [];
    const collect = (f: JsonObject | null) => {
      if (!f) return;
      if (Array.isArray(f.conditions)) for (const c of f.conditions) collect(c as JsonObject);
      for (const k of ["text", "subject"])
        if (typeof f[k] === "string" && f[k]) terms.push((f[k] as string).toLowerCase());
      for (const k of ["text", "body"])
        if (typeof f[k] === "string" && f[k]) bodyTerms.push((f[k] as string).toLowerCase());
    };
    collect(filter);
    const matching = filter ? new Set((await runQuery(ctx, { filter })).ids) : null;
    const emails = await loadEmails(ctx.store, ctx.account.id, args.emailIds as string[]);
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    for (const id of args.emailIds as string[]) {
      const e = emails.get(id);
      if (!e) {
        notFound.push(id);
        continue;
      }
      let subject: string | null = null;
      let preview: string | null = null;
      const hit = !matching || matching.has(id);
      // the preview (RFC 8970 form, cached) with the body terms marked, when it shows one
      if (bodyTerms.length && hit)
        preview = highlight((await ctx.store.getParsed(e.storeBlob)).preview, bodyTerms);
      if (terms.length && hit) {
        const s = (
          await emailObject(ctx, e, ["subject"], {
            bodyProps: [],
            fetchText: false,
            fetchHtml: false,
            fetchAll: false,
            maxBytes: 0,
          })
        ).subject;
        if (typeof s === "string") subject = highlight(s, terms);
      }
      list.push({ emailId: id, subject, preview });
    }
    return { accountId: ctx.accountId, list, notFound: notFound.length ? notFound : null };
  };

  return [
    ["Email/import", importEmail],
    ["Email/parse", parse],
    ["SearchSnippet/get", snippets],
  ];
}

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** the text HTML-escaped with each occurrence of a term (case-insensitive) in <mark>; null when none */
export function highlight(text: string, terms: string[]): string | null {
  const lower = text.toLowerCase();
  const marks: Array<[number, number]> = [];
  for (const t of terms) {
    let i = lower.indexOf(t);
    while (i >= 0 && t.length > 0) {
      marks.push([i, i + t.length]);
      i = lower.indexOf(t, i + t.length);
    }
  }
  if (marks.length === 0) return null;
  marks.sort((a, b) => a[0] - b[0]);
  let out = "";
  let pos = 0;
  for (const [s, e] of marks) {
    if (s < pos) continue;
    out += `${escapeHtml(text.slice(pos, s))}<mark>${escapeHtml(text.slice(s, e))}</mark>`;
    pos = e;
  }
  return out + escapeHtml(text.slice(pos));
}
