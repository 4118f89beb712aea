/** Placeholder until h-wm-compose lands (the real settings view replaces this file on merge). */
export function Settings() {
  return <section class="settings-placeholder">settings</section>;
}
