// biome-ignore-all lint/a11y/useSemanticElements: an ARIA alertdialog over the page (no native <dialog> top layer, so the notices stay above it)
// biome-ignore-all lint/a11y/noStaticElementInteractions: a click on the backdrop cancels (Escape does too)
/**
 * The one confirmation dialog of the app (delete a folder, Empty Trash, revoke an app
 * password), instead of the browser's confirm(): `askConfirm` answers a promise of the choice;
 * <ConfirmDialog/> (mounted once by the shell) shows it as an ARIA alertdialog — modal, the
 * focus on the safe button (Cancel), Tab kept between its two buttons, Escape or a click
 * outside cancels, and the focus goes back to what had it (the button that asked).
 */
import { signal } from "@preact/signals";
import { useLayoutEffect, useRef } from "preact/hooks";
import { t } from "./i18n/index.ts";

export interface ConfirmRequest {
  title: string;
  message: string;
  /** the label of the button that does it (a verb: "Delete folder") */
  confirm: string;
}

interface Pending extends ConfirmRequest {
  resolve: (ok: boolean) => void;
  trigger: HTMLElement | null;
}

const pending = signal<Pending | null>(null);

/** Asks; answers true when the user confirms. A new question cancels one still open. */
export function askConfirm(req: ConfirmRequest): Promise<boolean> {
  pending.value?.resolve(false);
  const active = document.activeElement;
  return new Promise((resolve) => {
    pending.value = { ...req, resolve, trigger: active instanceof HTMLElement ? active : null };
  });
}

function answer(ok: boolean): void {
  const p = pending.value;
  if (!p) return;
  pending.value = null;
  p.resolve(ok);
  // back to the button that asked, when it is still there (a deleted folder's button may not be)
  if (p.trigger?.isConnected) p.trigger.focus();
}

export function ConfirmDialog() {
  const p = pending.value;
  const cancelRef = useRef<HTMLButtonElement>(null);
  const okRef = useRef<HTMLButtonElement>(null);
  // before the browser paints the open dialog (useEffect waits a frame): no moment in which the
  // dialog shows while the focus, and so a key pressed, is still on the button behind it
  useLayoutEffect(() => {
    if (p) cancelRef.current?.focus();
  }, [p]);
  if (!p) return null;
  return (
    <div
      class="overlay"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) answer(false);
      }}
    >
      <div
        class="dialog confirm"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        aria-describedby="confirm-message"
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault();
            answer(false);
          } else if (e.key === "Tab") {
            // two buttons: Tab and Shift+Tab go to the other one
            e.preventDefault();
            (document.activeElement === cancelRef.current ? okRef : cancelRef).current?.focus();
          } else return;
          e.stopPropagation();
        }}
      >
        <h2 id="confirm-title">{p.title}</h2>
        <p id="confirm-message">{p.message}</p>
        <div class="confirm-buttons">
          <button type="button" ref={cancelRef} onClick={() => answer(false)}>
            {t("common.cancel")}
          </button>
          <button type="button" ref={okRef} class="danger" onClick={() => answer(true)}>
            {p.confirm}
          </button>
        </div>
      </div>
    </div>
  );
}
