/**
 * EmailSubmission (RFC 8621 §7) through the one submission pipeline of SMTP (smtp/submit.ts
 * submitMessage: From/Sender send-as check, Date/Message-ID fix-ups, queue and sending limits,
 * local delivery, outbound queue with DKIM signing by the queue runner). Sending is immediate:
 * maxDelayedSend 0, every submission's undoStatus is "final" (no send delay, nothing to cancel).
 * The records are `jmap_object` rows of type "EmailSubmission" (state = that type's counter);
 * deliveryStatus is computed at /get: "yes" for local recipients, from the outbound queue entry
 * for remote ones while it exists (queued → "queued", delivered → "yes", failed → "no"), and
 * "unknown" once the queue runner removed a finished entry.
 */
import { parseAddressList } from "../../mime/address.ts";
import { fieldString, parseHeaderBlock } from "../../mime/header.ts";
import { unmapIpv4 } from "../../net/address.ts";
import { addressStringKey } from "../../smtp/submission-policy.ts";
import { classifyRecipient, type SubmitRecipient, sendAsKeys, submitMessage } from "../../smtp/submit.ts";
import type { QueueEntry, QueueRecipient } from "../../store/types.ts";
import type { BlobStore } from "../core/blob.ts";
import type {
  JmapDeps,
  JmapSubmission,
  Json,
  JsonObject,
  MethodContext,
  MethodHandler,
} from "../core/types.ts";
import { invalidArguments, MethodError } from "../core/types.ts";
import {
  checkIfInState,
  idsArg,
  propertiesArg,
  requireAccount,
  resolveId,
  setCount,
  setObjects,
  setResponse,
} from "../mail/common.ts";
import { emailSet } from "../mail/email-set.ts";
import { loadEmails } from "../mail/view.ts";
import { identities } from "./identity.ts";
import { objectChanges } from "./objects.ts";

export const SUBMISSION_TYPE = "EmailSubmission";

const PROPERTIES = [
  "id",
  "identityId",
  "emailId",
  "threadId",
  "envelope",
  "sendAt",
  "undoStatus",
  "deliveryStatus",
  "dsnBlobIds",
  "mdnBlobIds",
] as const;

/** what is stored per submission (deliveryStatus is computed at /get) */
interface Stored extends JsonObject {
  id: string;
  identityId: string;
  emailId: string;
  threadId: string;
  envelope: {
    mailFrom: { email: string; parameters: Params | null };
    rcptTo: Array<{ email: string; parameters: Params | null }>;
  };
  sendAt: string;
  undoStatus: "final";
  /** recipients delivered locally (address as given) */
  local: string[];
  /** outbound queue entry of the remote recipients */
  queueId: number | null;
}

class SetFail extends Error {
  readonly setError: JsonObject;
  constructor(type: string, description: string, extra: JsonObject = {}) {
    super(description);
    this.setError = { type, description, ...extra };
  }
}

/** RFC 8621 §7.5: "The server MUST remove any Bcc header field present on the message". */
export function withoutBcc(raw: Buffer): Buffer {
  const block = parseHeaderBlock(raw, 0, raw.length);
  const bcc = block.fields.filter((f) => f.name === "bcc");
  if (bcc.length === 0) return raw;
  const parts: Buffer[] = [];
  let pos = 0;
  for (const f of bcc) {
    parts.push(raw.subarray(pos, f.start));
    pos = f.end;
  }
  parts.push(raw.subarray(pos));
  return Buffer.concat(parts);
}

/** RFC 8621 §7.5 default envelope: Sender (else From) → MAIL FROM; To, Cc, Bcc deduplicated → RCPT TO */
function defaultEnvelope(raw: Buffer): { mailFrom: string | null; rcptTo: string[] } {
  const block = parseHeaderBlock(raw, 0, raw.length);
  const addrs = (name: string) =>
    (parseAddressList(fieldString(raw, block.fields, name)) ?? [])
      .filter((a) => a.host !== null && a.mailbox !== null)
      .map((a) => `${a.mailbox}@${a.host}`);
  const from = addrs("sender")[0] ?? addrs("from")[0] ?? null;
  const seen = new Set<string>();
  const rcptTo: string[] = [];
  for (const a of [...addrs("to"), ...addrs("cc"), ...addrs("bcc")]) {
    const k = addressStringKey(a) ?? a;
    if (seen.has(k)) continue;
    seen.add(k);
    rcptTo.push(a);
  }
  return { mailFrom: from, rcptTo };
}

type Params = { [k: string]: string | null };

interface Envelope {
  mailFrom: string;
  mailParams: Params | null;
  rcptTo: Array<{ email: string; params: Params | null }>;
}

const NOTIFY = new Set(["SUCCESS", "FAILURE", "DELAY"]);

/** printable US-ASCII without "=" and "+" troubles: RFC 3461 §4 xtext as sent, at most max chars */
function xtext(v: string | null, max: number): boolean {
  if (v === null || v.length === 0 || v.length > max) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x3d) return false;
  }
  return true;
}

/**
 * An Envelope argument (RFC 8621 §7): { mailFrom: Address, rcptTo: Address[] }. Parameters of the
 * announced extensions (settings.ts submissionExtensions) are accepted: MAIL FROM SIZE (RFC 1870),
 * BODY (RFC 6152), SMTPUTF8 (RFC 6531), ENVID/RET (RFC 3461); RCPT TO NOTIFY/ORCPT (RFC 3461).
 */
function envelopeArg(v: Json, maxSize: number): Envelope {
  const bad = (why = "envelope") => new SetFail("invalidProperties", why, { properties: ["envelope"] });
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad();
  const addr = (a: Json, allowed: string[]): { email: string; params: Params | null } => {
    if (a === null || typeof a !== "object" || Array.isArray(a) || typeof a.email !== "string") throw bad();
    const p = a.parameters ?? null;
    if (p === null) return { email: a.email, params: null };
    if (typeof p !== "object" || Array.isArray(p)) throw bad();
    const params: Params = {};
    for (const [k0, val] of Object.entries(p)) {
      const k = k0.toUpperCase();
      if (val !== null && typeof val !== "string") throw bad(`parameter ${k0}`);
      if (!allowed.includes(k)) throw bad(`parameter ${k0} is not supported`);
      params[k] = val;
    }
    return { email: a.email, params };
  };
  if (!Array.isArray(v.rcptTo)) throw bad();
  const from = addr(v.mailFrom ?? null, ["SIZE", "BODY", "SMTPUTF8", "ENVID", "RET"]);
  const mp = from.params ?? {};
  if (mp.SIZE !== undefined) {
    if (mp.SIZE === null || !/^[0-9]{1,15}$/.test(mp.SIZE)) throw bad("SIZE");
    if (Number(mp.SIZE) > maxSize) throw new SetFail("tooLarge", "declared SIZE too large", { maxSize });
  }
  if (mp.BODY !== undefined && mp.BODY !== "7BIT" && mp.BODY !== "8BITMIME") throw bad("BODY");
  if (mp.SMTPUTF8 !== undefined && mp.SMTPUTF8 !== null) throw bad("SMTPUTF8");
  if (mp.RET !== undefined && mp.RET !== "FULL" && mp.RET !== "HDRS") throw bad("RET");
  if (mp.ENVID !== undefined && !xtext(mp.ENVID, 100)) throw bad("ENVID");
  const rcptTo = v.rcptTo.map((r) => addr(r, ["NOTIFY", "ORCPT"]));
  for (const r of rcptTo) {
    const n = r.params?.NOTIFY;
    if (n !== undefined) {
      const list = (n ?? "").toUpperCase().split(",");
      if (!(list.length === 1 && list[0] === "NEVER") && !list.every((x) => NOTIFY.has(x)))
        throw bad("NOTIFY");
    }
    const o = r.params?.ORCPT;
    if (o !== undefined && (o === null || !xtext(o, 500) || !o.includes(";"))) throw bad("ORCPT");
  }
  return { mailFrom: from.email, mailParams: from.params, rcptTo };
}

/** smtpError from the pipeline → RFC 8621 §7.5 SetError */
function setErrorOf(e: Error & { responseCode?: number }): SetFail {
  const text = e.message;
  const code = text.slice(0, text.indexOf(" "));
  if (code === "5.7.1") return new SetFail("forbiddenFrom", text);
  if (code === "5.3.4") return new SetFail("tooLarge", text);
  if (code === "5.6.0") return new SetFail("invalidEmail", text);
  // sending limits (4.7.0), queue full (4.3.1), a recipient's mailbox full (4.2.2 / 5.2.2)
  return new SetFail("forbiddenToSend", text);
}

async function create(
  deps: JmapDeps,
  sub: JmapSubmission,
  ctx: MethodContext,
  o: JsonObject,
): Promise<Stored> {
  if (typeof o.identityId !== "string")
    throw new SetFail("invalidProperties", "identityId", { properties: ["identityId"] });
  if (typeof o.emailId !== "string")
    throw new SetFail("invalidProperties", "emailId", { properties: ["emailId"] });
  for (const k of Object.keys(o))
    if (!["identityId", "emailId", "envelope"].includes(k))
      throw new SetFail("invalidProperties", `${k} cannot be set`, { properties: [k] });
  const identityId = resolveId(o.identityId, ctx) ?? o.identityId;
  const identity = (await identities(ctx)).find((i) => i.id === identityId);
  if (!identity) throw new SetFail("invalidProperties", "no such identity", { properties: ["identityId"] });
  const emailId = resolveId(o.emailId, ctx) ?? o.emailId;
  const email =
    typeof emailId === "string"
      ? (await loadEmails(ctx.store, ctx.account.id, [emailId])).get(emailId)
      : undefined;
  if (!email) throw new SetFail("invalidProperties", "no such email", { properties: ["emailId"] });
  if (email.size > sub.limits.maxMessageSize)
    throw new SetFail("tooLarge", "the message is too large", { maxSize: sub.limits.maxMessageSize });
  const c = email.copies[0]!;
  const stored = await ctx.store.readMessage(c.mailboxId, c.uid);
  const raw = withoutBcc(Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength));
  const env: Envelope =
    o.envelope === undefined || o.envelope === null
      ? (() => {
          const d = defaultEnvelope(Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength));
          return {
            mailFrom: d.mailFrom ?? identity.email,
            mailParams: null,
            rcptTo: d.rcptTo.map((email) => ({ email, params: null })),
          };
        })()
      : envelopeArg(o.envelope, sub.limits.maxMessageSize);
  // RFC 8621 §7.5 forbiddenMailFrom: the envelope sender must be one the user may send as; with
  // no envelope given it came from the Sender/From header, which is then what is forbidden
  const sendAs = await sendAsKeys(ctx.store, ctx.account.id);
  if (!sendAs.has(addressStringKey(env.mailFrom) ?? ""))
    throw new SetFail(
      o.envelope === undefined || o.envelope === null ? "forbiddenFrom" : "forbiddenMailFrom",
      `${ctx.account.address} may not send as ${env.mailFrom}`,
    );
  if (env.rcptTo.length === 0) throw new SetFail("noRecipients", "the envelope has no recipients");
  if (env.rcptTo.length > sub.limits.maxRecipients)
    throw new SetFail("tooManyRecipients", "too many recipients", {
      maxRecipients: sub.limits.maxRecipients,
    });
  const rcpts: SubmitRecipient[] = [];
  const invalid: string[] = [];
  for (const r of env.rcptTo) {
    const address = r.email;
    const where = await classifyRecipient(ctx.store, address);
    if (where.kind === "syntax" || where.kind === "unknown") {
      invalid.push(address);
      continue;
    }
    const dsn: QueueRecipient = { address };
    if (r.params?.NOTIFY) dsn.notify = r.params.NOTIFY.toUpperCase().split(",");
    if (r.params?.ORCPT) dsn.orcpt = r.params.ORCPT;
    rcpts.push({ address, accounts: where.kind === "local" ? where.accounts : [], dsn });
  }
  if (invalid.length > 0)
    throw new SetFail("invalidRecipients", "recipients rejected", { invalidRecipients: invalid });
  const remote = unmapIpv4(ctx.remoteAddress ?? "127.0.0.1");
  let result: Awaited<ReturnType<typeof submitMessage>>;
  try {
    result = await submitMessage(
      { store: ctx.store, logger: deps.logger, hostname: sub.hostname, limits: sub.limits },
      {
        user: { accountId: ctx.account.id, address: ctx.account.address },
        mailFrom: env.mailFrom,
        rcpts,
        raw,
        trace: {
          session: `jmap-${ctx.accountId}`,
          // no HELO over HTTP: the client's address literal stands for it
          helo: `[${remote}]`,
          clientHostname: null,
          remoteAddress: remote,
          // RFC 8621 §7: the message enters the mail system from the JMAP server itself
          protocol: "JMAP",
          tls: null,
        },
        dsn: { envid: env.mailParams?.ENVID ?? null, ret: env.mailParams?.RET ?? null },
        saveSentCopy: false,
        // local recipients on vacation answer mail submitted here too (smtp/vacation.ts)
        autoReply: (id) => ({
          mailFrom: env.mailFrom,
          intervalMs: sub.vacationReplyIntervalMs ?? 7 * 86_400_000,
          log: (fields, msg) => deps.logger.info({ session: `jmap-${ctx.accountId}`, id, ...fields }, msg),
        }),
      },
    );
  } catch (e) {
    if (e instanceof Error && "responseCode" in e) throw setErrorOf(e as Error & { responseCode: number });
    throw e;
  }
  return {
    id: `S${result.id}`,
    identityId,
    emailId,
    threadId: email.threadId,
    envelope: {
      mailFrom: { email: env.mailFrom, parameters: env.mailParams },
      rcptTo: env.rcptTo.map((r) => ({ email: r.email, parameters: r.params })),
    },
    sendAt: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    undoStatus: "final",
    local: rcpts.filter((r) => r.accounts.length > 0).map((r) => r.address),
    queueId: result.queueId,
  };
}

async function deliveryStatus(ctx: MethodContext, s: Stored): Promise<JsonObject> {
  const entry: QueueEntry | null = s.queueId === null ? null : await ctx.store.getQueueEntry(s.queueId);
  const out: JsonObject = {};
  const local = new Set(s.local);
  for (const r of s.envelope.rcptTo) {
    if (local.has(r.email)) {
      out[r.email] = { smtpReply: "250 2.0.0 delivered", delivered: "yes", displayed: "unknown" };
      continue;
    }
    const q = entry?.recipients.find((x) => x.address === r.email);
    const state = q?.state;
    out[r.email] = {
      smtpReply: q?.lastError ?? (q?.code ? `${q.code} ${q.status ?? ""}`.trim() : "250 2.0.0 queued"),
      delivered: !q ? "unknown" : state === "delivered" ? "yes" : state === "failed" ? "no" : "queued",
      displayed: "unknown",
    };
  }
  return out;
}

async function allStored(ctx: MethodContext): Promise<Stored[]> {
  return (await ctx.store.listJmapObjects(ctx.account.id, SUBMISSION_TYPE)).map(
    (o) => JSON.parse(o.data) as Stored,
  );
}

const submissionGet: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const ids = idsArg(args, ctx);
  const props = propertiesArg(args, PROPERTIES, PROPERTIES);
  const all = await allStored(ctx);
  const byId = new Map(all.map((s) => [s.id, s]));
  const list: JsonObject[] = [];
  const notFound: string[] = [];
  for (const id of ids ?? all.map((s) => s.id)) {
    const s = byId.get(id);
    if (!s) {
      notFound.push(id);
      continue;
    }
    const o: JsonObject = {};
    for (const p of props) {
      if (p === "deliveryStatus") o[p] = await deliveryStatus(ctx, s);
      else if (p === "dsnBlobIds" || p === "mdnBlobIds") o[p] = [];
      else o[p] = s[p] ?? null;
    }
    list.push(o);
  }
  return {
    accountId: ctx.accountId,
    state: await ctx.store.jmapObjectState(ctx.account.id, SUBMISSION_TYPE),
    list,
    notFound,
  };
};

const submissionChanges: MethodHandler = (args, ctx) => objectChanges(args, ctx, SUBMISSION_TYPE);

/** RFC 8621 §7.3: filter identityIds, emailIds, threadIds, undoStatus, before, after; sort emailId, threadId, sentAt */
const submissionQuery: MethodHandler = async (args, ctx) => {
  requireAccount(args, ctx);
  const f = args.filter ?? null;
  if (f !== null && (typeof f !== "object" || Array.isArray(f))) throw invalidArguments("filter");
  const filter = (f ?? {}) as JsonObject;
  for (const k of Object.keys(filter))
    if (!["identityIds", "emailIds", "threadIds", "undoStatus", "before", "after"].includes(k))
      throw new MethodError("unsupportedFilter", `filter ${k}`);
  const inList = (name: string, v: string) => {
    const l = filter[name];
    if (l === undefined || l === null) return true;
    if (!Array.isArray(l)) throw invalidArguments(name);
    return l.includes(v);
  };
  let list = (await allStored(ctx)).filter(
    (s) =>
      inList("identityIds", s.identityId) &&
      inList("emailIds", s.emailId) &&
      inList("threadIds", s.threadId) &&
      (filter.undoStatus === undefined || filter.undoStatus === s.undoStatus) &&
      (typeof filter.before !== "string" || s.sendAt < filter.before) &&
      (typeof filter.after !== "string" || s.sendAt >= filter.after),
  );
  const sort = Array.isArray(args.sort) ? args.sort : [];
  for (const c of [...sort].reverse()) {
    if (c === null || typeof c !== "object" || Array.isArray(c)) throw invalidArguments("sort");
    const prop = c.property === "sentAt" ? "sendAt" : c.property;
    if (prop !== "emailId" && prop !== "threadId" && prop !== "sendAt")
      throw new MethodError("unsupportedSort", `sort ${String(c.property)}`);
    const dir = c.isAscending === false ? -1 : 1;
    list = [...list].sort((a, b) => (a[prop] < b[prop] ? -dir : a[prop] > b[prop] ? dir : 0));
  }
  const position = typeof args.position === "number" ? Math.max(0, args.position) : 0;
  const limit = typeof args.limit === "number" ? args.limit : list.length;
  return {
    accountId: ctx.accountId,
    queryState: await ctx.store.jmapObjectState(ctx.account.id, SUBMISSION_TYPE),
    canCalculateChanges: false,
    position,
    ids: list.slice(position, position + limit).map((s) => s.id),
    ...(args.calculateTotal === true ? { total: list.length } : {}),
  };
};

const submissionSet =
  (deps: JmapDeps, blobs: BlobStore, sub: JmapSubmission): MethodHandler =>
  async (args, ctx) => {
    requireAccount(args, ctx);
    setCount(args, ctx);
    const oldState = await ctx.store.jmapObjectState(ctx.account.id, SUBMISSION_TYPE);
    checkIfInState(args, oldState);
    const created: JsonObject = {};
    const notCreated: JsonObject = {};
    const createdEmail = new Map<string, string>();
    for (const [cid, o] of Object.entries(setObjects(args.create, "create") ?? {})) {
      if (o === null || typeof o !== "object" || Array.isArray(o))
        throw invalidArguments("create values must be objects");
      try {
        const s = await create(deps, sub, ctx, o);
        await ctx.store.writeJmapObjects(
          ctx.account.id,
          SUBMISSION_TYPE,
          [{ id: s.id, data: JSON.stringify(s) }],
          [],
        );
        ctx.createdIds.set(cid, s.id);
        createdEmail.set(s.id, s.emailId);
        created[cid] = { id: s.id, threadId: s.threadId, sendAt: s.sendAt, undoStatus: s.undoStatus };
      } catch (e) {
        if (e instanceof SetFail) notCreated[cid] = e.setError;
        else throw e;
      }
    }
    const all = new Map((await allStored(ctx)).map((s) => [s.id, s]));
    const updated: JsonObject = {};
    const notUpdated: JsonObject = {};
    for (const [rawId, patch] of Object.entries(setObjects(args.update, "update") ?? {})) {
      const id = resolveId(rawId, ctx) ?? rawId;
      if (!all.has(id)) notUpdated[rawId] = { type: "notFound" };
      else if (
        patch !== null &&
        typeof patch === "object" &&
        !Array.isArray(patch) &&
        patch.undoStatus === "canceled"
      )
        // RFC 8621 §7.5: sent at once, so never cancellable
        notUpdated[rawId] = { type: "cannotUnsend", description: "the message was sent at once" };
      else notUpdated[rawId] = { type: "invalidProperties", description: "only undoStatus may be changed" };
    }
    const destroyed: string[] = [];
    const notDestroyed: JsonObject = {};
    const destroy = args.destroy ?? [];
    if (!Array.isArray(destroy)) throw invalidArguments("destroy must be Id[]");
    for (const rawId of destroy) {
      const id = typeof rawId === "string" ? (resolveId(rawId, ctx) ?? rawId) : "";
      if (!all.has(id)) notDestroyed[String(rawId)] = { type: "notFound" };
      else destroyed.push(id);
    }
    if (destroyed.length > 0)
      await ctx.store.writeJmapObjects(ctx.account.id, SUBMISSION_TYPE, [], destroyed);
    const response = setResponse({
      accountId: ctx.accountId,
      oldState,
      newState: await ctx.store.jmapObjectState(ctx.account.id, SUBMISSION_TYPE),
      created,
      updated,
      destroyed,
      notCreated,
      notUpdated,
      notDestroyed,
    });
    // RFC 8621 §7.5: onSuccessUpdateEmail / onSuccessDestroyEmail — an implicit Email/set after
    // the submissions, keyed by "#creationId" of a submission or an EmailSubmission id
    const emailOf = (key: string): string | null => {
      const sid = key.startsWith("#") ? ctx.createdIds.get(key.slice(1)) : key;
      if (!sid) return null;
      return createdEmail.get(sid) ?? (destroyed.includes(sid) ? (all.get(sid)?.emailId ?? null) : null);
    };
    const onUpdate = setObjects(args.onSuccessUpdateEmail, "onSuccessUpdateEmail");
    const onDestroy = args.onSuccessDestroyEmail ?? null;
    if (onDestroy !== null && !Array.isArray(onDestroy))
      throw invalidArguments("onSuccessDestroyEmail must be Id[]");
    const update: JsonObject = {};
    for (const [k, patch] of Object.entries(onUpdate ?? {})) {
      const e = emailOf(k);
      if (e) update[e] = patch;
    }
    const destroyEmails: string[] = [];
    for (const k of onDestroy ?? []) {
      const e = typeof k === "string" ? emailOf(k) : null;
      if (e) destroyEmails.push(e);
    }
    if (Object.keys(update).length === 0 && destroyEmails.length === 0)
      return [["EmailSubmission/set", response]];
    const emailResponse = await emailSet(deps, blobs)(
      { accountId: ctx.accountId, update, destroy: destroyEmails },
      ctx,
    );
    return [
      ["EmailSubmission/set", response],
      ["Email/set", emailResponse as JsonObject],
    ];
  };

export function emailSubmissionMethods(deps: JmapDeps, blobs: BlobStore): Array<[string, MethodHandler]> {
  const sub = deps.submission;
  if (!sub) return [];
  return [
    ["EmailSubmission/get", submissionGet],
    ["EmailSubmission/changes", submissionChanges],
    ["EmailSubmission/query", submissionQuery],
    // RFC 8620 §5.6: query states are not kept
    [
      "EmailSubmission/queryChanges",
      async (args, ctx) => {
        requireAccount(args, ctx);
        throw new MethodError("cannotCalculateChanges");
      },
    ],
    ["EmailSubmission/set", submissionSet(deps, blobs, sub)],
  ];
}
