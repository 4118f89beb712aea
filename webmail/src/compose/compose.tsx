/**
 * The compose view: a panel (full screen on a phone) shown while `compose.value` is set — new
 * message, reply, reply-all, forward or an existing draft (model.ts prefills the form). Drafts
 * are saved to Drafts a few seconds after typing stops and when the view closes (Escape or the
 * close button); discard deletes the draft; send creates and submits the message in one request
 * and keeps the view open with the server's reason when it is refused. Focus moves into the view
 * when it opens and back to where it was when it closes.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n/index.ts";
import { compose, notify } from "../state.ts";
import type { ComposeRequest } from "../types.ts";
import { parseField } from "./addresses.ts";
import { AttachmentList, addFiles } from "./attachments.tsx";
import {
  type Attachment,
  discardDraft,
  type Form,
  type Identity,
  loadIdentities,
  prefill,
  saveDraft,
  send,
  swapSignature,
} from "./model.ts";
import { RecipientField } from "./recipients.tsx";
import "./strings-compose.ts";
import "./compose.css";

/** how long after the last change a draft is saved */
export const AUTOSAVE_MS = 2500;

const keys = new WeakMap<ComposeRequest, number>();
let keySeq = 0;

export function Compose() {
  const req = compose.value;
  if (!req) return null;
  let key = keys.get(req);
  if (key === undefined) {
    key = ++keySeq;
    keys.set(req, key);
  }
  return <ComposePanel key={key} req={req} />;
}

const TITLES: Record<ComposeRequest["mode"], string> = {
  new: "compose.new",
  reply: "compose.reply",
  replyAll: "compose.replyAll",
  forward: "compose.forward",
  draft: "compose.draft",
};

type Status = "" | "saving" | "saved";

/**
 * Gives focus back to the element that had it when compose opened (once the panel is gone: a
 * re-render of the page around it must not leave focus on the body).
 */
function restoreFocus(el: HTMLElement | null): void {
  if (!el) return;
  const put = () => {
    if (el.isConnected && (document.activeElement === document.body || document.activeElement === null))
      el.focus();
  };
  if (el.isConnected) el.focus();
  requestAnimationFrame(put);
}

function ComposePanel(props: { req: ComposeRequest }) {
  const { req } = props;
  const [form, setFormState] = useState<Form | null>(null);
  const [ids, setIds] = useState<Identity[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<Status>("");
  const [sending, setSending] = useState(false);
  const [showCc, setShowCc] = useState(false);
  const [dragging, setDragging] = useState(false);
  const formRef = useRef<Form | null>(null);
  const draftId = useRef<string | null>(null);
  const dirty = useRef(false);
  const done = useRef(false);
  const saving = useRef<Promise<void>>(Promise.resolve());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const [opener] = useState(() => document.activeElement as HTMLElement | null);
  const toRef = useRef<HTMLInputElement | null>(null);
  const bodyRef = useRef<HTMLTextAreaElement | null>(null);
  const fileRef = useRef<HTMLInputElement | null>(null);
  const panelRef = useRef<HTMLElement | null>(null);

  const setForm = (f: Form) => {
    formRef.current = f;
    setFormState(f);
  };
  const idsRef = useRef<Identity[]>([]);
  idsRef.current = ids;
  const identityOf = (f: Form) => idsRef.current.find((i) => i.id === f.identityId) ?? idsRef.current[0];

  /** where focus goes once the form is there: the body when the recipients are prefilled */
  const focusBody = useRef(false);

  useEffect(() => {
    let live = true;
    (async () => {
      const list = await loadIdentities();
      const p = await prefill(req, list);
      if (!live) return;
      idsRef.current = list;
      setIds(list);
      draftId.current = p.draftId;
      focusBody.current = p.form.to !== "";
      setForm(p.form);
      if (p.form.cc || p.form.bcc) setShowCc(true);
    })().catch((e: Error) => live && setLoadError(t("compose.loadFailed", { error: e.message })));
    return () => {
      live = false;
      if (timer.current) clearTimeout(timer.current);
      // replaced by another compose request (or logged out) without closing: keep what was typed
      if (dirty.current && !done.current) void save();
      restoreFocus(opener);
    };
  }, []);

  // focus into the view (synchronously after the render: no keystroke lands in between): the
  // panel while loading, then the first empty recipient field or the body, unless the user has
  // already put it somewhere in the view
  const loaded = form !== null;
  useLayoutEffect(() => {
    const panel = panelRef.current;
    const at = document.activeElement;
    if (!loaded) {
      panel?.focus();
      return;
    }
    if (panel && at && at !== panel && panel.contains(at)) return;
    if (!focusBody.current) toRef.current?.focus();
    else {
      bodyRef.current?.focus();
      bodyRef.current?.setSelectionRange(0, 0);
    }
  }, [loaded]);

  function changed(f: Form) {
    setForm(f);
    dirty.current = true;
    setStatus("");
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => void save(), AUTOSAVE_MS);
  }

  const edit = (p: Partial<Form>) => {
    if (formRef.current) changed({ ...formRef.current, ...p });
  };

  const updateAttachments = (fn: (l: Attachment[]) => Attachment[]) => {
    const f = formRef.current;
    if (f) setForm({ ...f, attachments: fn(f.attachments) });
  };
  const attachmentsChanged = () => formRef.current && changed(formRef.current);

  /** saves the draft when it changed; saves run one after another */
  function save(): Promise<void> {
    const run = async () => {
      const f = formRef.current;
      if (!f || !dirty.current || done.current) return;
      dirty.current = false;
      setStatus("saving");
      try {
        const r = await saveDraft(f, identityOf(f), draftId.current);
        draftId.current = r.id;
        const cur = formRef.current;
        if (r.rebound.size > 0 && cur)
          setForm({
            ...cur,
            attachments: cur.attachments.map((a) => {
              const blobId = r.rebound.get(a.key);
              return blobId ? { ...a, blobId } : a;
            }),
          });
        setStatus("saved");
      } catch (e) {
        dirty.current = true;
        setStatus("");
        setError(t("compose.saveFailed", { error: (e as Error).message }));
      }
    };
    saving.current = saving.current.then(run, run);
    return saving.current;
  }

  async function close() {
    if (timer.current) clearTimeout(timer.current);
    await save();
    if (dirty.current) return; // not saved: the error shows, the view stays
    done.current = true;
    for (const a of formRef.current?.attachments ?? []) a.abort?.abort();
    compose.value = null;
    if (draftId.current) notify(t("compose.saved"));
  }

  async function discard() {
    if (timer.current) clearTimeout(timer.current);
    done.current = true;
    for (const a of formRef.current?.attachments ?? []) a.abort?.abort();
    await saving.current;
    try {
      if (draftId.current) await discardDraft(draftId.current);
    } catch (e) {
      notify((e as Error).message, "error");
    }
    compose.value = null;
    notify(t("compose.discarded"));
  }

  async function submit(e?: Event) {
    e?.preventDefault();
    const f = formRef.current;
    const identity = f && identityOf(f);
    if (!f || !identity || sending) return;
    const fields = [f.to, f.cc, f.bcc].map(parseField);
    const bad = fields.flatMap((x) => x.bad);
    if (bad.length) return setError(t("compose.badAddress", { address: bad[0]! }));
    if (fields.every((x) => x.list.length === 0)) return setError(t("compose.noRecipients"));
    if (f.attachments.some((a) => a.blobId === null && a.error === null))
      return setError(t("compose.waitUploads"));
    if (timer.current) clearTimeout(timer.current);
    setSending(true);
    setError(null);
    done.current = true;
    await saving.current;
    try {
      const r = await send(f, identity, draftId.current);
      if (r.ok) {
        compose.value = null;
        notify(t("compose.sent"));
        return;
      }
      draftId.current = r.draftId;
      setError(r.message);
    } catch (err) {
      setError(t("compose.err.other", { detail: (err as Error).message }));
    }
    done.current = false;
    setSending(false);
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === "Escape" && !e.defaultPrevented) {
      e.preventDefault();
      void close();
    } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void submit(e);
  }

  const title = t(TITLES[req.mode]);
  return (
    <section
      class={`pk-compose${dragging ? " dragging" : ""}`}
      role="dialog"
      aria-labelledby="pk-compose-title"
      tabIndex={-1}
      ref={panelRef}
      onKeyDown={onKeyDown}
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        setDragging(false);
        if (!e.dataTransfer?.files.length) return;
        e.preventDefault();
        addFiles(e.dataTransfer.files, updateAttachments, attachmentsChanged);
        attachmentsChanged();
      }}
    >
      <header class="pk-compose-head">
        <h2 id="pk-compose-title">{title}</h2>
        <span class="pk-compose-status" role="status" aria-live="polite">
          {status === "saving" ? t("compose.saving") : status === "saved" ? t("compose.saved") : ""}
        </span>
        <button type="button" class="pk-icon" aria-label={t("compose.close")} onClick={() => void close()}>
          ×
        </button>
      </header>
      {!form && <p class="pk-compose-loading">{loadError ?? t("compose.loading")}</p>}
      {form && (
        <form class="pk-compose-form" onSubmit={submit}>
          <div class="pk-field">
            <label for="pk-compose-from">{t("compose.from")}</label>
            <select
              id="pk-compose-from"
              value={form.identityId}
              onChange={(e) => {
                const id = (e.currentTarget as HTMLSelectElement).value;
                const old = identityOf(form);
                const next = ids.find((i) => i.id === id);
                edit({
                  identityId: id,
                  body: swapSignature(form.body, old?.textSignature ?? "", next?.textSignature ?? ""),
                });
              }}
            >
              {ids.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name ? `${i.name} <${i.email}>` : i.email}
                </option>
              ))}
            </select>
          </div>
          <RecipientField
            id="pk-compose-to"
            label={t("compose.to")}
            value={form.to}
            inputRef={toRef}
            onInput={(to) => edit({ to })}
          />
          {!showCc && (
            <button type="button" class="pk-link" onClick={() => setShowCc(true)}>
              {t("compose.showCcBcc")}
            </button>
          )}
          {showCc && (
            <>
              <RecipientField
                id="pk-compose-cc"
                label={t("compose.cc")}
                value={form.cc}
                onInput={(cc) => edit({ cc })}
              />
              <RecipientField
                id="pk-compose-bcc"
                label={t("compose.bcc")}
                value={form.bcc}
                onInput={(bcc) => edit({ bcc })}
              />
            </>
          )}
          <div class="pk-field">
            <label for="pk-compose-subject">{t("compose.subject")}</label>
            <input
              id="pk-compose-subject"
              type="text"
              value={form.subject}
              onInput={(e) => edit({ subject: (e.currentTarget as HTMLInputElement).value })}
            />
          </div>
          <label for="pk-compose-body" class="pk-visually-hidden">
            {t("compose.body")}
          </label>
          <textarea
            id="pk-compose-body"
            ref={bodyRef}
            value={form.body}
            onInput={(e) => edit({ body: (e.currentTarget as HTMLTextAreaElement).value })}
          />
          {dragging && <p class="pk-drop-hint">{t("compose.dropHere")}</p>}
          <AttachmentList list={form.attachments} update={updateAttachments} onChange={attachmentsChanged} />
          {error && (
            <p role="alert" class="pk-error" data-testid="compose-error">
              {error}
            </p>
          )}
          <footer class="pk-compose-foot">
            <button type="submit" class="pk-primary" disabled={sending}>
              {sending ? t("compose.sending") : t("compose.send")}
            </button>
            <button type="button" onClick={() => fileRef.current?.click()}>
              {t("compose.attach")}
            </button>
            <input
              ref={fileRef}
              type="file"
              multiple
              hidden
              aria-label={t("compose.attach")}
              data-testid="compose-file"
              onChange={(e) => {
                const input = e.currentTarget as HTMLInputElement;
                if (input.files?.length) addFiles([...input.files], updateAttachments, attachmentsChanged);
                input.value = "";
              }}
            />
            <button type="button" class="pk-danger" onClick={() => void discard()}>
              {t("compose.discard")}
            </button>
          </footer>
        </form>
      )}
    </section>
  );
}
