/**
 * The JMAP API endpoint (RFC 8620 §3): request validation with the request-level errors of
 * §3.6.1 (problem+json), method dispatch with the method-level errors of §3.6.2, result
 * references (§3.7) and createdIds (§3.3).
 */
import type { Account } from "../../store/types.ts";
import { evaluatePointer } from "./pointer.ts";
import {
  ACCOUNT,
  CAPABILITIES,
  CORE,
  type JmapDeps,
  type Json,
  type JsonObject,
  jmapAccountId,
  type MethodContext,
  MethodError,
  type MethodHandler,
  SUBMISSION,
  VACATION,
} from "./types.ts";

/** RFC 8620 §3.6.1 request-level error (RFC 7807 problem details) */
export interface Problem {
  status: number;
  body: JsonObject;
}

export function problem(type: string, status: number, detail: string, extra: JsonObject = {}): Problem {
  return { status, body: { type: `urn:ietf:params:jmap:error:${type}`, status, detail, ...extra } };
}

export function limitProblem(limit: string, detail: string): Problem {
  return problem("limit", 400, detail, { limit });
}

interface Invocation {
  name: string;
  args: JsonObject;
  callId: string;
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Parses and checks a request body; a Problem for every request-level error. */
export function parseRequest(
  body: string,
  maxCalls: number,
): Problem | { using: string[]; calls: Invocation[]; createdIds: JsonObject | null } {
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch {
    return problem("notJSON", 400, "The request body is not valid JSON.");
  }
  // RFC 8620 §3.3: using String[], methodCalls Invocation[], createdIds optional Id[Id]
  if (!isObject(req)) return problem("notRequest", 400, "The request is not a JSON object.");
  const { using, methodCalls, createdIds } = req;
  if (!Array.isArray(using) || !using.every((u) => typeof u === "string"))
    return problem("notRequest", 400, "'using' must be an array of strings.");
  if (!Array.isArray(methodCalls)) return problem("notRequest", 400, "'methodCalls' must be an array.");
  if (
    createdIds !== undefined &&
    (!isObject(createdIds) || !Object.values(createdIds).every((v) => typeof v === "string"))
  )
    return problem("notRequest", 400, "'createdIds' must map creation ids to ids.");
  const calls: Invocation[] = [];
  for (const c of methodCalls) {
    if (
      !Array.isArray(c) ||
      c.length !== 3 ||
      typeof c[0] !== "string" ||
      !isObject(c[1]) ||
      typeof c[2] !== "string"
    )
      return problem("notRequest", 400, "Each method call must be [name, arguments, callId].");
    calls.push({ name: c[0], args: c[1], callId: c[2] });
  }
  for (const u of using) {
    if (!(CAPABILITIES as readonly string[]).includes(u))
      return problem(
        "unknownCapability",
        400,
        `The server does not support the capability ${JSON.stringify(u)}.`,
      );
  }
  if (calls.length > maxCalls)
    return limitProblem("maxCallsInRequest", `At most ${maxCalls} method calls per request.`);
  return { using: using as string[], calls, createdIds: (createdIds as JsonObject | undefined) ?? null };
}

/** the capability each method needs in "using" */
function capabilityOf(method: string): string {
  if (method.startsWith("Core/") || method.startsWith("Blob/")) return CORE;
  // RFC 8621 §1.3.2: Identity and EmailSubmission belong to the submission capability
  if (method.startsWith("Identity/") || method.startsWith("EmailSubmission/")) return SUBMISSION;
  if (method.startsWith("VacationResponse/")) return VACATION; // RFC 8621 §1.3.3
  if (method.startsWith("Credentials/") || method.startsWith("AppPassword/")) return ACCOUNT;
  return "urn:ietf:params:jmap:mail";
}

/** RFC 8620 §3.7: replaces "#name" arguments by the values their ResultReference points at. */
function resolveReferences(
  args: JsonObject,
  responses: Array<[string, JsonObject, string]>,
): JsonObject | MethodError {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(args)) {
    if (!k.startsWith("#")) {
      out[k] = v;
      continue;
    }
    const name = k.slice(1);
    if (Object.hasOwn(args, name))
      return new MethodError("invalidArguments", `both ${name} and #${name} given`);
    if (
      !isObject(v) ||
      typeof v.resultOf !== "string" ||
      typeof v.name !== "string" ||
      typeof v.path !== "string"
    )
      return new MethodError("invalidResultReference", `#${name} is not a ResultReference`);
    const src = responses.find((r) => r[2] === v.resultOf);
    if (!src || src[0] !== v.name)
      return new MethodError("invalidResultReference", `no ${v.name} response with call id ${v.resultOf}`);
    const value = evaluatePointer(src[1], v.path);
    if (value === undefined)
      return new MethodError("invalidResultReference", `path ${v.path} does not resolve`);
    out[name] = value;
  }
  return out;
}

/** Runs the method calls in order (RFC 8620 §3.4) and builds the Response object. */
export async function processRequest(
  deps: JmapDeps,
  account: Account,
  req: { using: string[]; calls: Invocation[]; createdIds: JsonObject | null },
  methods: Map<string, MethodHandler>,
  remoteAddress?: string,
  request?: Request,
  responseHeaders?: Headers,
): Promise<JsonObject> {
  const createdIds = new Map<string, string>(Object.entries(req.createdIds ?? {}) as Array<[string, string]>);
  const ctx: MethodContext = {
    store: deps.store,
    account,
    accountId: jmapAccountId(account),
    limits: deps.config.jmap,
    createdIds,
    using: new Set(req.using),
    ...(remoteAddress ? { remoteAddress } : {}),
    ...(request ? { request } : {}),
    ...(responseHeaders ? { responseHeaders } : {}),
  };
  const responses: Array<[string, JsonObject, string]> = [];
  for (const call of req.calls) {
    const res = await runCall(deps, ctx, call, responses, methods);
    for (const [name, args] of res) responses.push([name, args, call.callId]);
  }
  const out: JsonObject = {
    methodResponses: responses as unknown as Json[],
    sessionState: sessionState(account),
  };
  if (req.createdIds !== null) out.createdIds = Object.fromEntries(createdIds);
  return out;
}

async function runCall(
  deps: JmapDeps,
  ctx: MethodContext,
  call: Invocation,
  responses: Array<[string, JsonObject, string]>,
  methods: Map<string, MethodHandler>,
): Promise<Array<[string, JsonObject]>> {
  const err = (e: MethodError): Array<[string, JsonObject]> => [["error", { type: e.type, ...e.extra }]];
  const handler = methods.get(call.name);
  // RFC 8620 §3.6.2 unknownMethod also when the method's capability is not in "using"
  if (!handler || !ctx.using.has(capabilityOf(call.name)))
    return err(new MethodError("unknownMethod", `unknown method ${call.name}`));
  const args = resolveReferences(call.args, responses);
  if (args instanceof MethodError) return err(args);
  if (call.name !== "Core/echo" && "accountId" in args && args.accountId !== ctx.accountId)
    return err(new MethodError("accountNotFound"));
  try {
    const r = await handler(args, ctx);
    return Array.isArray(r) ? r : [[call.name, r]];
  } catch (e) {
    if (e instanceof MethodError) return err(e);
    deps.logger.error({ err: e, method: call.name }, "jmap method failed");
    return err(new MethodError("serverFail", "internal error"));
  }
}

/** the session state: changes when what the Session object says changes (the account's credentials) */
export function sessionState(account: Account): string {
  return `s${account.id}-${account.credentialsVersion}`;
}
