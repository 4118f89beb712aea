/**
 * Binary data (RFC 8620 §6): upload, download, Blob/copy.
 *
 * Blob ids name what they hold, so a download needs no blob table:
 *   E<emailId>                   the whole message as stored (delivery headers + blob), streamed
 *   P<n>_<emailId><a-b-c>        body part a.b.c (IMAP section numbers), transfer-decoded
 *   U<sha256 hex>                an upload
 * Uploads are kept by the store (UploadStore: table jmap_upload and a blob-port file) for
 * `jmap.upload_ttl` (RFC 8620 §6.1 asks for at least an hour), so every worker process and a
 * restart see them: at most max_size_upload each, max_concurrent_upload at a time per account
 * (per process), and refused (overQuota) when they do not fit in the account's remaining quota
 * (pending uploads count against it) or beyond max_pending_uploads per account.
 */
import { createHash } from "node:crypto";
import type { Context } from "hono";
import { getBinary, resolvePart } from "../../mime/section.ts";
import type { Account } from "../../store/types.ts";
import { partParam } from "../mail/email-body.ts";
import { loadMessage } from "../mail/email-get.ts";
import { loadEmails } from "../mail/view.ts";
import { limitProblem, problem } from "./api.ts";
import {
  invalidArguments,
  type JmapDeps,
  type JsonObject,
  jmapAccountId,
  MethodError,
  type MethodHandler,
} from "./types.ts";

/**
 * Uploads through the store (UploadStore: a row per upload and the bytes in the blob port), so
 * every worker process serves them; this object only counts the uploads in flight per account
 * in this process (maxConcurrentUpload).
 */
export class BlobStore {
  readonly #active = new Map<number, number>();

  begin(accountId: number, max: number): boolean {
    const n = this.#active.get(accountId) ?? 0;
    if (n >= max) return false;
    this.#active.set(accountId, n + 1);
    return true;
  }
  end(accountId: number): void {
    const n = (this.#active.get(accountId) ?? 1) - 1;
    if (n <= 0) this.#active.delete(accountId);
    else this.#active.set(accountId, n);
  }
}

/** an async iterable of chunks as a web stream */
function webStream(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async start(ctl) {
      try {
        for await (const chunk of chunks) ctl.enqueue(chunk);
        ctl.close();
      } catch (err) {
        ctl.error(err);
      }
    },
  });
}

function problemJson(p: { status: number; body: JsonObject }): Response {
  return new Response(JSON.stringify(p.body), {
    status: p.status,
    headers: { "content-type": "application/problem+json" },
  });
}

export async function upload(
  c: Context,
  deps: JmapDeps,
  blobs: BlobStore,
  account: Account,
): Promise<Response> {
  if (c.req.param("accountId") !== jmapAccountId(account))
    return problemJson(problem("accountNotFound", 404, "No such account."));
  const limits = deps.config.jmap;
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limits.max_size_upload)
    return problemJson(
      limitProblem("maxSizeUpload", `Uploads are limited to ${limits.max_size_upload} octets.`),
    );
  if (!blobs.begin(account.id, limits.max_concurrent_upload))
    return problemJson(limitProblem("maxConcurrentUpload", "Too many concurrent uploads."));
  try {
    const chunks: Uint8Array[] = [];
    let n = 0;
    const body = c.req.raw.body;
    if (body) {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        n += chunk.byteLength;
        if (n > limits.max_size_upload)
          return problemJson(
            limitProblem("maxSizeUpload", `Uploads are limited to ${limits.max_size_upload} octets.`),
          );
        chunks.push(chunk);
      }
    }
    // quota-counted: pending uploads count against the account's quota while they are kept, and
    // their total is capped per account (max_pending_uploads)
    // (content the account already has pending adds nothing: only its expiry moves)
    const data = Buffer.concat(chunks);
    const known = await deps.store.getUpload(
      account.id,
      `U${createHash("sha256").update(data).digest("hex")}`,
    );
    const fresh = (await deps.store.getAccountById(account.id)) ?? account;
    const pending = await deps.store.pendingUploadBytes(account.id);
    const adds = known ? 0 : n;
    if (fresh.quotaBytes > 0 && fresh.usedBytes + pending + adds > fresh.quotaBytes)
      return problemJson(problem("overQuota", 413, "The upload does not fit in the account's quota."));
    if (pending + adds > limits.max_pending_uploads)
      return problemJson(
        problem("overQuota", 413, `Pending uploads are limited to ${limits.max_pending_uploads} octets.`),
      );
    const type = (c.req.header("content-type") ?? "application/octet-stream").slice(0, 255);
    const up = await deps.store.putUpload(account.id, data, type, limits.upload_ttl);
    return c.json({ accountId: jmapAccountId(account), blobId: up.blobId, type, size: data.length }, 201);
  } finally {
    blobs.end(account.id);
  }
}

/** E/P blob ids → the email id and part path ([] = whole message) */
export function parseMessageBlobId(blobId: string): { emailId: string; path: number[] } | null {
  if (blobId.startsWith("E") && blobId.length > 1) return { emailId: blobId.slice(1), path: [] };
  if (!blobId.startsWith("P")) return null;
  const us = blobId.indexOf("_");
  const len = Number(blobId.slice(1, us));
  if (us < 2 || !Number.isSafeInteger(len) || len <= 0) return null;
  const emailId = blobId.slice(us + 1, us + 1 + len);
  const rest = blobId.slice(us + 1 + len);
  if (emailId.length !== len || !/^[1-9][0-9]{0,4}(-[1-9][0-9]{0,4}){0,63}$/.test(rest)) return null;
  return { emailId, path: rest.split("-").map(Number) };
}

/** the content of a blob the account can see, or null */
export async function blobContent(
  deps: JmapDeps,
  _blobs: BlobStore,
  account: Account,
  blobId: string,
): Promise<{ type: string; body: Uint8Array | ReadableStream<Uint8Array>; size: number } | null> {
  const up = await deps.store.getUpload(account.id, blobId);
  if (up) return { type: up.type, body: webStream(up.stream()), size: up.size };
  const ref = parseMessageBlobId(blobId);
  if (!ref) return null;
  const e = (await loadEmails(deps.store, account.id, [ref.emailId])).get(ref.emailId);
  if (!e) return null;
  const copy = e.copies[0]!;
  if (ref.path.length === 0) {
    // streamed: delivery headers, then the stored blob in chunks
    const content = await deps.store.openMessage(copy.mailboxId, copy.uid);
    const stream = new ReadableStream<Uint8Array>({
      async start(ctl) {
        try {
          if (content.prefix.length) ctl.enqueue(content.prefix);
          for await (const chunk of content.blob()) ctl.enqueue(chunk);
          ctl.close();
        } catch (err) {
          ctl.error(err);
        }
      },
    });
    return { type: "message/rfc822", body: stream, size: content.size };
  }
  const { buf, parsed } = await loadMessage(deps.store, e);
  const part = getBinary(buf, parsed, ref.path);
  const p = resolvePart(parsed, ref.path);
  if (part === null || part === "unknown-cte" || !p) return null;
  const cs = partParam(p, "charset");
  const type = `${p.contentType.type}/${p.contentType.subtype}${cs ? `; charset=${cs}` : ""}`;
  return { type, body: part, size: part.length };
}

/** RFC 6266 filename*: the name from the URL, percent-encoded */
function disposition(name: string): string {
  return `attachment; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export async function download(
  c: Context,
  deps: JmapDeps,
  blobs: BlobStore,
  account: Account,
): Promise<Response> {
  if (c.req.param("accountId") !== jmapAccountId(account))
    return problemJson(problem("accountNotFound", 404, "No such account."));
  const blob = await blobContent(deps, blobs, account, c.req.param("blobId") ?? "");
  if (!blob) return problemJson(problem("notFound", 404, "No such blob."));
  const accept = c.req.query("accept");
  // RFC 8620 §6.2: the type the client asks for, when it is a plausible media type
  const type = accept && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(accept) ? accept : blob.type;
  return new Response(blob.body as ConstructorParameters<typeof Response>[0], {
    status: 200,
    headers: {
      "content-type": type,
      "content-length": String(blob.size),
      "content-disposition": disposition(c.req.param("name") ?? "blob"),
      "cache-control": "private, immutable, max-age=31536000",
    },
  });
}

/** Blob/copy (RFC 8620 §6.3): within one account every blob is already there */
export function blobCopy(deps: JmapDeps, blobs: BlobStore): MethodHandler {
  return async (args, ctx) => {
    if (
      typeof args.fromAccountId !== "string" ||
      typeof args.accountId !== "string" ||
      !Array.isArray(args.blobIds)
    )
      throw invalidArguments("fromAccountId, accountId and blobIds are required");
    if (args.fromAccountId !== ctx.accountId) throw new MethodError("fromAccountNotFound");
    const copied: JsonObject = {};
    const notCopied: JsonObject = {};
    for (const id of args.blobIds) {
      if (typeof id !== "string") throw invalidArguments("blobIds must be Id[]");
      if (await blobContent(deps, blobs, ctx.account, id)) copied[id] = id;
      else notCopied[id] = { type: "blobNotFound" };
    }
    return {
      fromAccountId: ctx.accountId,
      accountId: ctx.accountId,
      copied: Object.keys(copied).length ? copied : null,
      notCopied: Object.keys(notCopied).length ? notCopied : null,
    };
  };
}
