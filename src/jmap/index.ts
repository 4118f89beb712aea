/**
 * JMAP (RFC 8620 core, RFC 8621 mail) as a hono sub-app: the HTTP service mounts it.
 *
 *   GET  /.well-known/jmap                       Session resource (RFC 8620 §2)
 *   POST /jmap/api                               API requests (§3)
 *   POST /jmap/upload/{accountId}/               upload (§6.1)
 *   GET  /jmap/download/{accountId}/{blobId}/{name}?accept=  download (§6.2)
 *   GET  /jmap/eventsource?types&closeafter&ping  push (§7.3)
 *
 * Every route needs an authenticated account (deps.authenticate, 401 otherwise). Limits are the
 * `[jmap]` config values, announced in the Session's core capability.
 */
import { Hono } from "hono";
import type { Account } from "../store/types.ts";
import { accountMethods } from "./account/account.ts";
import { limitProblem, type Problem, parseRequest, problem, processRequest } from "./core/api.ts";
import { BlobStore, blobCopy, download, upload } from "./core/blob.ts";
import { echo } from "./core/echo.ts";
import { eventSource } from "./core/push.ts";
import { sessionObject } from "./core/session.ts";
import type { JmapDeps, MethodHandler } from "./core/types.ts";
import { emailMethods } from "./mail/email.ts";
import { importMethods } from "./mail/email-import.ts";
import { mailboxMethods } from "./mail/mailbox.ts";
import { threadMethods } from "./mail/thread.ts";
import { vacationMethods } from "./mail/vacation-response.ts";
import { emailSubmissionMethods } from "./submission/email-submission.ts";
import { identityMethods } from "./submission/identity.ts";

export type { JmapDeps } from "./core/types.ts";

export function jmapMethods(deps: JmapDeps, blobs: BlobStore): Map<string, MethodHandler> {
  return new Map<string, MethodHandler>([
    ["Core/echo", echo],
    ["Blob/copy", blobCopy(deps, blobs)],
    ...mailboxMethods,
    ...emailMethods(deps, blobs),
    ...threadMethods,
    ...importMethods(deps, blobs),
    // RFC 8621 §6, §7: only with the SMTP submission settings (deps.submission)
    ...(deps.submission ? identityMethods : []),
    ...emailSubmissionMethods(deps, blobs),
    ...vacationMethods,
    // the vendor capability (types.ts ACCOUNT): only with its settings (deps.account)
    ...(deps.account ? accountMethods(deps.account) : []),
  ]);
}

function problemResponse(p: Problem): Response {
  return new Response(JSON.stringify(p.body), {
    status: p.status,
    headers: { "content-type": "application/problem+json" },
  });
}

/** RFC 8620 §1.2, RFC 7235 §3.1: 401 with a challenge per scheme the server takes (RFC 7617, RFC 6750 §3) */
function unauthorized(): Response {
  const headers = new Headers({ "content-type": "application/problem+json" });
  headers.append("www-authenticate", 'Basic realm="jmap", charset="UTF-8"');
  headers.append("www-authenticate", 'Bearer realm="jmap"');
  return new Response(
    JSON.stringify({ type: "about:blank", status: 401, detail: "Authentication required." }),
    { status: 401, headers },
  );
}

/** origin of the request as the client used it (the URLs of the Session object point there) */
function originOf(req: Request): string {
  return new URL(req.url).origin;
}

export function createJmapApp(deps: JmapDeps): Hono<{ Variables: { account: Account } }> {
  const app = new Hono<{ Variables: { account: Account } }>();
  const blobs = new BlobStore();
  const methods = jmapMethods(deps, blobs);
  const limits = deps.config.jmap;
  const running = new Map<number, number>();

  app.use("/.well-known/jmap", async (c, next) => {
    const account = await deps.authenticate(c.req.raw, c.env);
    if (!account) return unauthorized();
    c.set("account", account);
    await next();
  });
  app.use("/jmap/*", async (c, next) => {
    const account = await deps.authenticate(c.req.raw, c.env);
    if (!account) return unauthorized();
    c.set("account", account);
    await next();
  });

  app.get("/.well-known/jmap", (c) => {
    c.header("cache-control", "no-cache, no-store, must-revalidate");
    return c.json(
      sessionObject(
        c.get("account"),
        limits,
        originOf(c.req.raw),
        deps.submission,
        deps.account !== undefined,
      ),
    );
  });

  app.post("/jmap/api", async (c) => {
    const account = c.get("account");
    const ct = c.req.header("content-type") ?? "";
    if (!ct.toLowerCase().startsWith("application/json"))
      return problemResponse(problem("notJSON", 400, "The content type must be application/json."));
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > limits.max_size_request)
      return problemResponse(
        limitProblem("maxSizeRequest", `Requests are limited to ${limits.max_size_request} octets.`),
      );
    const body = await readLimited(c.req.raw, limits.max_size_request);
    if (body === null)
      return problemResponse(
        limitProblem("maxSizeRequest", `Requests are limited to ${limits.max_size_request} octets.`),
      );
    const parsed = parseRequest(body, limits.max_calls_in_request);
    if ("status" in parsed) return problemResponse(parsed);
    const n = running.get(account.id) ?? 0;
    // RFC 8620 §3.6.1 limit: maxConcurrentRequests
    if (n >= limits.max_concurrent_requests)
      return problemResponse(limitProblem("maxConcurrentRequests", "Too many concurrent requests."));
    running.set(account.id, n + 1);
    try {
      // @hono/node-server hands the node request over as env.incoming (the socket's address is the
      // client's, also behind a PROXY-protocol balancer: net/proxy.ts sets it)
      const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
        ?.incoming;
      const headers = new Headers();
      const res = c.json(
        await processRequest(
          deps,
          account,
          parsed,
          methods,
          incoming?.socket?.remoteAddress,
          c.req.raw,
          headers,
        ),
      );
      for (const [k, v] of headers) res.headers.append(k, v);
      return res;
    } finally {
      const left = (running.get(account.id) ?? 1) - 1;
      if (left <= 0) running.delete(account.id);
      else running.set(account.id, left);
    }
  });

  app.post("/jmap/upload/:accountId/", (c) => upload(c, deps, blobs, c.get("account")));
  app.post("/jmap/upload/:accountId", (c) => upload(c, deps, blobs, c.get("account")));
  app.get("/jmap/download/:accountId/:blobId/:name", (c) => download(c, deps, blobs, c.get("account")));
  app.get("/jmap/eventsource", (c) => eventSource(c, deps, c.get("account")));
  return app;
}

/** the body as UTF-8 text, or null once it exceeds max octets (read no further) */
async function readLimited(req: Request, max: number): Promise<string | null> {
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
    n += chunk.byteLength;
    if (n > max) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
