/**
 * Email/set (RFC 8621 §4.6): update keywords and mailboxIds (whole values or patches such as
 * "keywords/$seen"), destroy. Keywords become IMAP flags on every copy (RFC 8621 §4.1.1),
 * an added mailbox is an IMAP COPY of the message (same emailId, RFC 8474 §5.1), a removed one
 * an expunge of that copy; destroy expunges every copy. create builds a message from JSON
 * (email-create.ts).
 */
import type { BlobStore } from "../core/blob.ts";
import type { JmapDeps, JsonObject, MethodContext, MethodHandler } from "../core/types.ts";
import { invalidArguments } from "../core/types.ts";
import { checkIfInState, requireAccount, resolveId, setCount, setObjects, setResponse } from "./common.ts";
import { createEmail } from "./email-create.ts";
import {
  type EmailEntry,
  keywordToFlag,
  loadEmails,
  type MailboxView,
  mailboxView,
  validKeyword,
} from "./view.ts";

class SetFail extends Error {
  readonly setError: JsonObject;
  constructor(type: string, description: string, properties?: string[]) {
    super(description);
    this.setError = { type, description, ...(properties ? { properties } : {}) };
  }
}

function applyPatch(e: EmailEntry, view: MailboxView, patch: JsonObject, ctx: MethodContext) {
  const keywords = new Set(e.keywords);
  const mailboxes = new Set(e.copies.map((c) => c.mailboxId));
  const mailboxNum = (id: string): number => {
    const mb = view.mailboxById.get(resolveId(id, ctx) ?? "");
    if (!mb) throw new SetFail("invalidProperties", `no mailbox ${id}`, ["mailboxIds"]);
    return mb.id;
  };
  for (const [path, v] of Object.entries(patch)) {
    if (path === "keywords") {
      if (v === null || typeof v !== "object" || Array.isArray(v))
        throw new SetFail("invalidProperties", "keywords", ["keywords"]);
      keywords.clear();
      for (const [k, t] of Object.entries(v)) {
        if (t !== true || !validKeyword(k))
          throw new SetFail("invalidProperties", `keyword ${k}`, ["keywords"]);
        keywords.add(k.toLowerCase());
      }
    } else if (path.startsWith("keywords/")) {
      const k = path.slice(9);
      if (!validKeyword(k) || (v !== true && v !== null)) throw new SetFail("invalidPatch", path, [path]);
      if (v === true) keywords.add(k.toLowerCase());
      else keywords.delete(k.toLowerCase());
    } else if (path === "mailboxIds") {
      if (v === null || typeof v !== "object" || Array.isArray(v))
        throw new SetFail("invalidProperties", "mailboxIds", ["mailboxIds"]);
      mailboxes.clear();
      for (const [id, t] of Object.entries(v)) {
        if (t !== true)
          throw new SetFail("invalidProperties", "mailboxIds values must be true", ["mailboxIds"]);
        mailboxes.add(mailboxNum(id));
      }
    } else if (path.startsWith("mailboxIds/")) {
      if (v !== true && v !== null) throw new SetFail("invalidPatch", path, [path]);
      const id = mailboxNum(path.slice(11));
      if (v === true) mailboxes.add(id);
      else mailboxes.delete(id);
    } else throw new SetFail("invalidProperties", `${path} cannot be changed`, [path]);
  }
  // RFC 8621 §4.1.1: an Email is in at least one Mailbox
  if (mailboxes.size === 0)
    throw new SetFail("invalidProperties", "an Email must be in a mailbox", ["mailboxIds"]);
  return { keywords, mailboxes };
}

async function update(
  ctx: MethodContext,
  e: EmailEntry,
  want: { keywords: Set<string>; mailboxes: Set<number> },
) {
  const store = ctx.store;
  const add = [...want.keywords].filter((k) => !e.keywords.has(k)).map(keywordToFlag);
  const remove = [...e.keywords].filter((k) => !want.keywords.has(k)).map(keywordToFlag);
  for (const c of e.copies) {
    if (add.length) await store.storeFlags(c.mailboxId, [c.uid], "add", add);
    if (remove.length) await store.storeFlags(c.mailboxId, [c.uid], "remove", remove);
  }
  const have = new Set(e.copies.map((c) => c.mailboxId));
  const src = e.copies[0]!;
  for (const m of want.mailboxes) if (!have.has(m)) await store.copy(src.mailboxId, [src.uid], m);
  for (const c of e.copies) if (!want.mailboxes.has(c.mailboxId)) await store.expunge(c.mailboxId, [c.uid]);
}

export const emailSet =
  (deps: JmapDeps, blobs: BlobStore): MethodHandler =>
  async (args, ctx) => {
    requireAccount(args, ctx);
    setCount(args, ctx);
    // the mailboxes only: the Emails named are read by id (loadEmails), each just before its change
    const view = await mailboxView(ctx.store, ctx.account.id);
    const oldState = view.state;
    checkIfInState(args, oldState);
    const created: JsonObject = {};
    const notCreated: JsonObject = {};
    for (const [cid, o] of Object.entries(setObjects(args.create, "create") ?? {})) {
      if (o === null || typeof o !== "object" || Array.isArray(o))
        throw invalidArguments("create values must be objects");
      const r = await createEmail(deps, blobs, ctx, view, o);
      if ("error" in r) notCreated[cid] = r.error;
      else {
        created[cid] = r.created;
        ctx.createdIds.set(cid, r.created.id as string);
      }
    }
    const updated: JsonObject = {};
    const notUpdated: JsonObject = {};
    for (const [rawId, patch] of Object.entries(setObjects(args.update, "update") ?? {})) {
      const id = resolveId(rawId, ctx) ?? rawId;
      const e = (await loadEmails(ctx.store, ctx.account.id, [id])).get(id);
      if (!e) {
        notUpdated[rawId] = { type: "notFound" };
        continue;
      }
      if (patch === null || typeof patch !== "object" || Array.isArray(patch))
        throw invalidArguments("a patch must be an object");
      try {
        await update(ctx, e, applyPatch(e, view, patch, ctx));
        updated[id] = null;
      } catch (err) {
        if (err instanceof SetFail) notUpdated[rawId] = err.setError;
        else throw err;
      }
    }
    const destroyed: string[] = [];
    const notDestroyed: JsonObject = {};
    const destroy = args.destroy ?? [];
    if (!Array.isArray(destroy)) throw invalidArguments("destroy must be Id[]");
    for (const rawId of destroy) {
      const id = typeof rawId === "string" ? (resolveId(rawId, ctx) ?? rawId) : "";
      const e = id ? (await loadEmails(ctx.store, ctx.account.id, [id])).get(id) : undefined;
      if (!e) {
        notDestroyed[String(rawId)] = { type: "notFound" };
        continue;
      }
      for (const c of e.copies) await ctx.store.expunge(c.mailboxId, [c.uid]);
      destroyed.push(id);
    }
    return setResponse({
      accountId: ctx.accountId,
      oldState,
      newState: await ctx.store.currentState(ctx.account.id),
      created,
      updated,
      destroyed,
      notCreated,
      notUpdated,
      notDestroyed,
    });
  };
