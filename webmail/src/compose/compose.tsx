/** Placeholder until h-wm-compose lands (the real compose view replaces this file on merge). */
import { compose } from "../state.ts";

export function Compose() {
  const c = compose.value;
  if (!c) return null;
  return (
    <div
      role="dialog"
      aria-label="compose"
      class="compose-placeholder"
      data-mode={c.mode}
      data-email-id={c.emailId ?? ""}
    >
      <button type="button" onClick={() => (compose.value = null)}>
        ×
      </button>
    </div>
  );
}
