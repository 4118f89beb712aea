/**
 * The compose view's attachments: files picked or dropped are uploaded at once (RFC 8620 §6.1,
 * jmap.upload with progress), each with a progress bar and a button that cancels the upload or
 * removes the finished attachment. Attachments carried over from a forwarded message or a draft
 * arrive ready (their blobId).
 */
import { t } from "../i18n/index.ts";
import { jmap } from "../state.ts";
import { type Attachment, attKey } from "./model.ts";

type Update = (fn: (list: Attachment[]) => Attachment[]) => void;

function patch(update: Update, key: string, p: Partial<Attachment>) {
  update((list) => list.map((a) => (a.key === key ? { ...a, ...p } : a)));
}

/** Starts uploading the files; each appears at once and is updated as it progresses. */
export function addFiles(files: Iterable<File>, update: Update, onDone: () => void): void {
  for (const f of files) {
    const key = attKey();
    const abort = new AbortController();
    const a: Attachment = {
      key,
      name: f.name,
      type: f.type || "application/octet-stream",
      size: f.size,
      blobId: null,
      progress: 0,
      error: null,
      abort,
    };
    update((list) => [...list, a]);
    jmap
      .upload(f, (p) => patch(update, key, { progress: p }), abort.signal)
      .then((r) => {
        patch(update, key, { blobId: r.blobId, progress: 1, abort: null });
        onDone();
      })
      .catch((e: Error & { type?: string }) => {
        if (e.type === "aborted") return;
        patch(update, key, { error: e.message, abort: null });
      });
  }
}

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function AttachmentList(props: { list: Attachment[]; update: Update; onChange: () => void }) {
  if (props.list.length === 0) return null;
  const remove = (a: Attachment) => {
    a.abort?.abort();
    props.update((list) => list.filter((x) => x.key !== a.key));
    props.onChange();
  };
  return (
    <ul class="pk-attachments" aria-label={t("compose.attachments")}>
      {props.list.map((a) => {
        const uploading = a.blobId === null && a.error === null;
        return (
          <li key={a.key} data-testid="attachment">
            <span class="pk-att-name">{a.name}</span> <span class="pk-att-size">{size(a.size)}</span>
            {uploading && (
              <progress
                max={1}
                value={a.progress}
                aria-label={t("compose.uploading", { name: a.name })}
                data-testid="upload-progress"
              />
            )}
            {a.error && (
              <span role="alert" class="pk-error">
                {t("compose.uploadFailed", { name: a.name, error: a.error })}
              </span>
            )}
            <button
              type="button"
              class="pk-icon"
              aria-label={
                uploading
                  ? t("compose.cancelUpload", { name: a.name })
                  : t("compose.remove", { name: a.name })
              }
              onClick={() => remove(a)}
            >
              ×
            </button>
          </li>
        );
      })}
    </ul>
  );
}
