/**
 * What the compose view edits and how it reaches the server (RFC 8621): the form prefilled for a
 * reply, reply-all, forward or an existing draft; the Email/set create object built from it
 * (textBody + attachments by blobId — the forms email-create supports); drafts saved to Drafts
 * ($draft, $seen) replacing the previous version in the same Email/set; and sending as one request
 * of Email/set create + EmailSubmission/set create whose onSuccessUpdateEmail moves the message
 * from Drafts to Sent (RFC 8621 §7.5).
 */
import { signal } from "@preact/signals";
import { lang, t } from "../i18n/index.ts";
import type { Invocation } from "../jmap/client.ts";
import { jmap, mailboxByRole, mailboxes } from "../state.ts";
import type { ComposeRequest, EmailAddress, Mailbox } from "../types.ts";
import { dedupe, formatField, parseField } from "./addresses.ts";

export interface Identity {
  id: string;
  name: string;
  email: string;
  replyTo: EmailAddress[] | null;
  bcc: EmailAddress[] | null;
  textSignature: string;
  htmlSignature: string;
  mayDelete: boolean;
}

/** An attachment of the message being written: uploading (blobId null) or ready. */
export interface Attachment {
  key: string;
  name: string;
  type: string;
  size: number;
  blobId: string | null;
  /** upload progress in [0, 1] */
  progress: number;
  error: string | null;
  abort: AbortController | null;
}

export interface Form {
  identityId: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  body: string;
  attachments: Attachment[];
  inReplyTo: string[] | null;
  references: string[] | null;
  /** the message this answers or forwards: it gets $answered / $forwarded once sent */
  answers: { emailId: string; keyword: "$answered" | "$forwarded" } | null;
}

/** the account's identities, loaded once per login and after the settings change them */
export const identities = signal<{ accountId: string; list: Identity[] } | null>(null);

export async function loadIdentities(force = false): Promise<Identity[]> {
  if (!jmap.session) await jmap.connect();
  const cached = identities.value;
  if (cached && cached.accountId === jmap.accountId && !force) return cached.list;
  const r = await jmap.call<{ list: Identity[] }>("Identity/get", { ids: null });
  identities.value = { accountId: jmap.accountId, list: r.list };
  return r.list;
}

/** The mailbox with that role; the mailboxes are fetched when the shell has not loaded them yet. */
export async function roleMailbox(role: Mailbox["role"]): Promise<Mailbox | undefined> {
  const have = mailboxByRole(role);
  if (have) return have;
  const r = await jmap.call<{ list: Mailbox[] }>("Mailbox/get", { ids: null });
  if (mailboxes.value.length === 0) mailboxes.value = r.list;
  return r.list.find((m) => m.role === role);
}

export function signatureBlock(sig: string): string {
  return sig.trim() ? `\n\n-- \n${sig.trimEnd()}` : "";
}

/** The body with one identity's signature block swapped for another's (when it is there). */
export function swapSignature(body: string, oldSig: string, newSig: string): string {
  const o = signatureBlock(oldSig);
  const n = signatureBlock(newSig);
  if (o && body.includes(o)) return body.replace(o, () => n);
  // no old block (the user removed it, or there was no signature): the new one is not forced in
  return body;
}

interface Original {
  id: string;
  from: EmailAddress[] | null;
  to: EmailAddress[] | null;
  cc: EmailAddress[] | null;
  bcc: EmailAddress[] | null;
  replyTo: EmailAddress[] | null;
  subject: string | null;
  messageId: string[] | null;
  inReplyTo: string[] | null;
  references: string[] | null;
  sentAt: string | null;
  receivedAt: string;
  textBody: Array<{ partId: string; type: string }>;
  bodyValues: Record<string, { value: string }>;
  attachments: Array<{ blobId: string; name: string | null; type: string; size: number }>;
}

async function loadOriginal(id: string): Promise<Original> {
  const r = await jmap.call<{ list: Original[] }>("Email/get", {
    ids: [id],
    properties: [
      "from",
      "to",
      "cc",
      "bcc",
      "replyTo",
      "subject",
      "messageId",
      "inReplyTo",
      "references",
      "sentAt",
      "receivedAt",
      "textBody",
      "bodyValues",
      "attachments",
    ],
    fetchTextBodyValues: true,
  });
  const e = r.list[0];
  if (!e) throw new Error("not found");
  return e;
}

/** The original's text: its text parts, HTML ones reduced to their text (parsed inert, never run). */
function originalText(e: Original): string {
  const out: string[] = [];
  for (const p of e.textBody ?? []) {
    const v = e.bodyValues?.[p.partId]?.value ?? "";
    if (p.type === "text/html") {
      const doc = new DOMParser().parseFromString(v, "text/html");
      out.push((doc.body?.textContent ?? "").trim());
    } else out.push(v);
  }
  return out.join("\n\n").replaceAll("\r\n", "\n");
}

function quote(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => (l.startsWith(">") ? `>${l}` : `> ${l}`))
    .join("\n");
}

/** subject with `prefix` ("Re:" / "Fwd:") once: not added when it already starts with it */
export function prefixed(prefix: string, subject: string | null): string {
  const s = (subject ?? "").trim();
  return s.toLowerCase().startsWith(prefix.toLowerCase()) ? s : `${prefix} ${s}`;
}

function longDate(iso: string | null): string {
  if (!iso) return "";
  return new Date(iso).toLocaleString(lang.value === "sv" ? "sv-SE" : undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

function nameOf(list: EmailAddress[] | null): string {
  const a = list?.[0];
  return a ? a.name || a.email : "";
}

export interface Prefill {
  form: Form;
  /** the draft being edited (replaced by the next save), for mode "draft" */
  draftId: string | null;
}

function emptyForm(identity: Identity | undefined): Form {
  return {
    identityId: identity?.id ?? "",
    to: "",
    cc: "",
    bcc: "",
    subject: "",
    body: signatureBlock(identity?.textSignature ?? ""),
    attachments: [],
    inReplyTo: null,
    references: null,
    answers: null,
  };
}

let attSeq = 0;
export function attKey(): string {
  return `a${++attSeq}`;
}

/** The form for a compose request: empty (new), or from the original message / the draft. */
export async function prefill(req: ComposeRequest, ids: Identity[]): Promise<Prefill> {
  const own = new Set(ids.map((i) => i.email.toLowerCase()));
  const def = ids[0];
  const form = emptyForm(def);
  if (req.to) form.to = req.to;
  if (req.mode === "new" || !req.emailId) return { form, draftId: null };
  const e = await loadOriginal(req.emailId);
  const text = originalText(e);
  if (req.mode === "draft") {
    const fromAddr = e.from?.[0]?.email.toLowerCase();
    const ident = ids.find((i) => i.email.toLowerCase() === fromAddr) ?? def;
    return {
      form: {
        identityId: ident?.id ?? "",
        to: formatField(e.to),
        cc: formatField(e.cc),
        bcc: formatField(e.bcc),
        subject: e.subject ?? "",
        body: text,
        attachments: (e.attachments ?? []).map(readyAttachment),
        inReplyTo: e.inReplyTo,
        references: e.references,
        answers: null,
      },
      draftId: e.id,
    };
  }
  // reply from the identity the original was sent to, when there is one
  const addressed = [...(e.to ?? []), ...(e.cc ?? [])].map((a) => a.email.toLowerCase());
  const ident = ids.find((i) => addressed.includes(i.email.toLowerCase())) ?? def;
  form.identityId = ident?.id ?? "";
  const sig = signatureBlock(ident?.textSignature ?? "");
  if (req.mode === "forward") {
    form.subject = prefixed("Fwd:", e.subject);
    const head = [
      t("compose.fwdHeader"),
      t("compose.fwdFrom", { v: formatField(e.from) }),
      t("compose.fwdDate", { v: longDate(e.sentAt ?? e.receivedAt) }),
      t("compose.fwdSubject", { v: e.subject ?? "" }),
      t("compose.fwdTo", { v: formatField(e.to) }),
    ].join("\n");
    form.body = `${sig}\n\n${head}\n\n${text}`;
    form.attachments = (e.attachments ?? []).map(readyAttachment);
    form.answers = { emailId: e.id, keyword: "$forwarded" };
    return { form, draftId: null };
  }
  // RFC 5322 §3.6.4: In-Reply-To is the parent's Message-ID, References its References + that id
  const parentId = e.messageId ?? [];
  form.inReplyTo = parentId.length ? parentId : null;
  form.references = parentId.length ? [...(e.references ?? e.inReplyTo ?? []), ...parentId] : null;
  form.subject = prefixed("Re:", e.subject);
  form.answers = { emailId: e.id, keyword: "$answered" };
  const replyTo = e.replyTo?.length ? e.replyTo : (e.from ?? []);
  if (req.mode === "replyAll") {
    const to = dedupe([...replyTo, ...(e.to ?? [])], own);
    const cc = dedupe(e.cc ?? [], new Set([...own, ...to.map((a) => a.email.toLowerCase())]));
    // replying to one's own sent message: its recipients, not oneself
    form.to = formatField(to.length ? to : dedupe(e.to ?? []));
    form.cc = formatField(cc);
  } else {
    const to = dedupe(replyTo, own);
    form.to = formatField(to.length ? to : (e.to ?? replyTo));
  }
  const wrote = t("compose.wrote", { date: longDate(e.sentAt ?? e.receivedAt), name: nameOf(e.from) });
  form.body = `${sig}\n\n${wrote}\n${quote(text)}\n`;
  return { form, draftId: null };
}

function readyAttachment(a: { blobId: string; name: string | null; type: string; size: number }): Attachment {
  return {
    key: attKey(),
    name: a.name ?? "attachment",
    type: a.type,
    size: a.size,
    blobId: a.blobId,
    progress: 1,
    error: null,
    abort: null,
  };
}

/** The Email/set create object of the form (mailboxIds and keywords added by the caller). */
export function emailObject(form: Form, identity: Identity | undefined): Record<string, unknown> {
  const field = (text: string) => parseField(text).list;
  const o: Record<string, unknown> = {
    from: identity ? [{ name: identity.name || null, email: identity.email }] : null,
    to: field(form.to),
    cc: field(form.cc),
    bcc: field(form.bcc),
    subject: form.subject,
    textBody: [{ partId: "body", type: "text/plain" }],
    bodyValues: { body: { value: form.body } },
    attachments: form.attachments
      .filter((a) => a.blobId)
      .map((a) => ({ blobId: a.blobId, name: a.name, type: a.type || "application/octet-stream" })),
  };
  if (identity?.replyTo?.length) o.replyTo = identity.replyTo;
  if (form.inReplyTo) o.inReplyTo = form.inReplyTo;
  if (form.references) o.references = form.references;
  for (const k of ["to", "cc", "bcc"]) if ((o[k] as unknown[]).length === 0) delete o[k];
  return o;
}

interface SetError {
  type: string;
  description?: string;
  invalidRecipients?: string[];
}

/** A set error as the user reads it. */
export function describeError(e: SetError): string {
  const detail = e.description ?? e.type;
  switch (e.type) {
    case "invalidRecipients":
      return t("compose.err.invalidRecipients", { list: (e.invalidRecipients ?? []).join(", ") });
    case "forbiddenFrom":
    case "forbiddenMailFrom":
    case "noRecipients":
    case "tooManyRecipients":
    case "overQuota":
    case "tooLarge":
    case "blobNotFound":
      return t(`compose.err.${e.type}`);
    case "forbiddenToSend":
      return t("compose.err.forbiddenToSend", { detail });
    default:
      return t("compose.err.other", { detail });
  }
}

export class SendError extends Error {}

function failure(r: Invocation | undefined, key: string): SetError | null {
  if (!r) return { type: "serverFail", description: "no response" };
  if (r[0] === "error") return r[1] as unknown as SetError;
  const nc = (r[1] as { notCreated?: Record<string, SetError> | null }).notCreated;
  return nc?.[key] ?? null;
}

/**
 * Saves the form as a draft in Drafts, destroying the previous version (`replaces`) in the same
 * Email/set (created before destroyed, so the new version may take parts of the old); answers
 * the new draft's id and, per attachment key, the blobId of that attachment's part in the draft:
 * later versions and the sent message take it from there, not from the upload, which the server
 * keeps only for a while (RFC 8620 §6.1).
 */
export async function saveDraft(
  form: Form,
  identity: Identity | undefined,
  replaces: string | null,
): Promise<{ id: string; rebound: Map<string, string> }> {
  const drafts = await roleMailbox("drafts");
  if (!drafts) throw new SendError(t("compose.noDrafts"));
  const [r] = await jmap.request([
    [
      "Email/set",
      {
        accountId: jmap.accountId,
        create: {
          d: {
            ...emailObject(form, identity),
            mailboxIds: { [drafts.id]: true },
            keywords: { $draft: true, $seen: true },
          },
        },
        ...(replaces ? { destroy: [replaces] } : {}),
      },
      "0",
    ],
  ]);
  const err = failure(r, "d");
  if (err) throw new SendError(describeError(err));
  const id = (r![1] as { created: Record<string, { id: string }> }).created.d!.id;
  const rebound = new Map<string, string>();
  const sent = form.attachments.filter((a) => a.blobId);
  if (sent.length > 0) {
    try {
      const g = await jmap.call<{ list: Array<{ attachments: Array<{ blobId: string }> | null }> }>(
        "Email/get",
        { ids: [id], properties: ["attachments"] },
      );
      const parts = g.list[0]?.attachments ?? [];
      // the parts are in the order they were given; anything else and the uploads stay in use
      if (parts.length === sent.length)
        for (const [i, a] of sent.entries()) rebound.set(a.key, parts[i]!.blobId);
    } catch {
      // the upload blobs still serve
    }
  }
  return { id, rebound };
}

/** Destroys a draft. */
export async function discardDraft(id: string): Promise<void> {
  await jmap.call("Email/set", { destroy: [id] });
}

/**
 * Sends the form: the message created in Drafts (replacing the draft), submitted, and on success
 * moved to Sent with $draft cleared — one request, the submission naming the new message by its
 * creation id (#m) and onSuccessUpdateEmail naming the submission (#s), RFC 8620 §5.3 / RFC 8621 §7.5.
 * On a refused submission the created message stays as the draft: its id is answered in the error.
 */
export async function send(
  form: Form,
  identity: Identity,
  replaces: string | null,
): Promise<{ ok: true } | { ok: false; message: string; draftId: string | null }> {
  const drafts = await roleMailbox("drafts");
  const sent = await roleMailbox("sent");
  if (!drafts) return { ok: false, message: t("compose.noDrafts"), draftId: replaces };
  const move: Record<string, unknown> = { [`mailboxIds/${drafts.id}`]: null, "keywords/$draft": null };
  if (sent) move[`mailboxIds/${sent.id}`] = true;
  const responses = await jmap.request([
    [
      "Email/set",
      {
        accountId: jmap.accountId,
        create: {
          m: {
            ...emailObject(form, identity),
            mailboxIds: { [drafts.id]: true },
            keywords: { $draft: true, $seen: true },
          },
        },
        ...(replaces ? { destroy: [replaces] } : {}),
      },
      "0",
    ],
    [
      "EmailSubmission/set",
      {
        accountId: jmap.accountId,
        create: { s: { identityId: identity.id, emailId: "#m" } },
        onSuccessUpdateEmail: { "#s": move },
      },
      "1",
    ],
  ]);
  const created = responses.find((r) => r[2] === "0");
  const cerr = failure(created, "m");
  if (cerr) return { ok: false, message: describeError(cerr), draftId: replaces };
  const newId = (created![1] as { created: Record<string, { id: string }> }).created.m!.id;
  const sub = responses.find((r) => r[2] === "1" && r[0] !== "Email/set");
  const serr = failure(sub, "s");
  if (serr) return { ok: false, message: describeError(serr), draftId: newId };
  // the original marked answered / forwarded (RFC 8621 §4.1.1; IMAP \Answered, $Forwarded) once
  // the message went; a failure here is not the send's
  if (form.answers) {
    await jmap
      .call("Email/set", {
        update: { [form.answers.emailId]: { [`keywords/${form.answers.keyword}`]: true } },
      })
      .catch(() => {});
  }
  return { ok: true };
}
