// biome-ignore-all lint/a11y/useSemanticElements: role=search on the form is the landmark (<search> is too new for some browsers)
/**
 * Search: the header's box (full text) and an advanced form (from, to, subject, date range, all
 * folders), as an Email/query filter (RFC 8621 §4.4.1) over the server's text index. Clearing
 * it returns to the folder.
 */
import { useEffect, useState } from "preact/hooks";
import { t } from "../i18n/index.ts";
import { cursor, openEmailId, type Search, search, selection } from "../state.ts";
import { Icon } from "./icons.tsx";

const EMPTY: Search = { text: "", from: "", to: "", subject: "", after: "", before: "", allFolders: false };

/** The list's filter: the folder, narrowed by the search's conditions (null: nothing to show yet). */
export function searchFilter(s: Search | null, mailboxId: string | null): Record<string, unknown> | null {
  if (!s) return mailboxId ? { inMailbox: mailboxId } : null;
  const conditions: Record<string, unknown>[] = [];
  if (!s.allFolders && mailboxId) conditions.push({ inMailbox: mailboxId });
  if (s.text.trim()) conditions.push({ text: s.text.trim() });
  if (s.from.trim()) conditions.push({ from: s.from.trim() });
  if (s.to.trim()) conditions.push({ to: s.to.trim() });
  if (s.subject.trim()) conditions.push({ subject: s.subject.trim() });
  // dates are whole days in UTC, both ends included
  if (/^\d{4}-\d{2}-\d{2}$/.test(s.after)) conditions.push({ after: `${s.after}T00:00:00Z` });
  if (/^\d{4}-\d{2}-\d{2}$/.test(s.before)) {
    const d = new Date(`${s.before}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    conditions.push({ before: d.toISOString().replace(".000Z", "Z") });
  }
  if (conditions.length === 0) return mailboxId ? { inMailbox: mailboxId } : {};
  if (conditions.length === 1) return conditions[0]!;
  return { operator: "AND", conditions };
}

function isEmpty(s: Search): boolean {
  return !s.text.trim() && !s.from.trim() && !s.to.trim() && !s.subject.trim() && !s.after && !s.before;
}

function run(s: Search | null): void {
  search.value = s && !isEmpty(s) ? s : null;
  openEmailId.value = null;
  selection.value = new Set();
  cursor.value = 0;
}

export function clearSearch(): void {
  run(null);
}

export function SearchBox() {
  const [draft, setDraft] = useState<Search>(search.value ?? EMPTY);
  const [advanced, setAdvanced] = useState(false);
  // leaving the search elsewhere (a folder, "Back to the folder") empties the box
  const active = search.value;
  useEffect(() => {
    if (!active) setDraft(EMPTY);
  }, [active]);
  const set = (k: keyof Search, v: string | boolean) => setDraft({ ...draft, [k]: v });
  const field = (k: "from" | "to" | "subject", label: string) => (
    <label>
      {label}
      <input type="text" value={draft[k]} onInput={(e) => set(k, e.currentTarget.value)} />
    </label>
  );
  return (
    <form
      class="search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        run(draft);
        setAdvanced(false);
      }}
    >
      <input
        id="search-input"
        type="search"
        aria-label={t("search.label")}
        placeholder={t("search.placeholder")}
        value={draft.text}
        onInput={(e) => {
          const text = e.currentTarget.value;
          setDraft({ ...draft, text });
          if (!text && search.value && isEmpty({ ...draft, text })) run(null);
        }}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            setDraft(EMPTY);
            run(null);
            e.currentTarget.blur();
          }
        }}
      />
      <button type="submit" aria-label={t("search.submit")} title={t("search.submit")}>
        <Icon name="search" />
      </button>
      <button
        type="button"
        aria-expanded={advanced}
        aria-controls="search-advanced"
        onClick={() => setAdvanced(!advanced)}
      >
        {t("search.advanced")}
      </button>
      {search.value && (
        <button
          type="button"
          onClick={() => {
            setDraft(EMPTY);
            run(null);
          }}
        >
          {t("search.clear")}
        </button>
      )}
      {advanced && (
        <fieldset id="search-advanced" class="search-advanced">
          <legend>{t("search.advanced")}</legend>
          {field("from", t("search.from"))}
          {field("to", t("search.to"))}
          {field("subject", t("search.subject"))}
          <label>
            {t("search.after")}
            <input type="date" value={draft.after} onInput={(e) => set("after", e.currentTarget.value)} />
          </label>
          <label>
            {t("search.before")}
            <input type="date" value={draft.before} onInput={(e) => set("before", e.currentTarget.value)} />
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={draft.allFolders}
              onChange={(e) => set("allFolders", e.currentTarget.checked)}
            />
            {t("search.allFolders")}
          </label>
          <div class="row">
            <button type="submit" class="primary">
              {t("search.submit")}
            </button>
          </div>
        </fieldset>
      )}
    </form>
  );
}
