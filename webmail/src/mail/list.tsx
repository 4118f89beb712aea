// biome-ignore-all lint/a11y/useSemanticElements: a virtualised grid (ARIA grid pattern): rows are positioned divs
// biome-ignore-all lint/a11y/useFocusableInteractive: the grid holds the focus; rows are its active descendant
// biome-ignore-all lint/a11y/useKeyWithClickEvents: the grid's keyboard handling (and the shortcuts) cover row clicks
/**
 * The message list, virtualised: one fixed row height, only the rows in view (plus overscan) in
 * the DOM, each window of ids fetched by position as it scrolls into view (mail/cache.ts). Click
 * opens, ctrl/⌘-click and the checkbox pick, shift-click picks a range; rows drag onto folders.
 * A grid (role=grid, aria-selected) with the keyboard cursor as its active descendant.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { setKeyword } from "../actions.ts";
import { formatDate, t } from "../i18n/index.ts";
import {
  compose,
  currentMailboxId,
  cursor,
  mailboxByRole,
  mailboxes,
  openEmailId,
  search,
  selection,
  threads,
} from "../state.ts";
import type { EmailAddress, EmailSummary } from "../types.ts";
import {
  emailAt,
  emails,
  ensureRange,
  idAt,
  idsBetween,
  listError,
  listTotal,
  listVersion,
  setQuery,
} from "./cache.ts";
import { Icon } from "./icons.tsx";
import { mailboxLabel } from "./mailboxes.ts";
import { searchFilter } from "./search.tsx";
import { selectAll } from "./select-all.ts";
import { DRAG_TYPE } from "./sidebar.tsx";
import { ROW_HEIGHT, scrollToShow, visibleWindow } from "./virtual.ts";

let anchor = 0;
const FETCH_EVERY = 120;

function who(list: EmailAddress[] | null): string {
  const a = list?.[0];
  if (!a) return t("list.nobody");
  const more = list!.length > 1 ? ` +${list!.length - 1}` : "";
  return (a.name || a.email) + more;
}

/** Opens the message at a position: the reader shows it; a draft opens in compose to edit. */
export function openAt(pos: number): void {
  const id = idAt(pos);
  cursor.value = pos;
  if (!id) return;
  const e = emails.get(id);
  if (e?.keywords.$draft && e.mailboxIds[mailboxByRole("drafts")?.id ?? ""]) {
    compose.value = { mode: "draft", emailId: id };
    return;
  }
  openEmailId.value = id;
}

function onRowClick(e: MouseEvent, pos: number, id: string): void {
  if (e.shiftKey) {
    const next = new Set(selection.value);
    for (const x of idsBetween(anchor, pos)) next.add(x);
    selection.value = next;
    cursor.value = pos;
    return;
  }
  if (e.ctrlKey || e.metaKey) {
    toggle(id, pos);
    return;
  }
  anchor = pos;
  if (selection.value.size > 0) selection.value = new Set();
  openAt(pos);
}

function toggle(id: string, pos: number): void {
  const next = new Set(selection.value);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  selection.value = next;
  anchor = pos;
  cursor.value = pos;
}

function Row({ pos, e, showTo }: { pos: number; e: EmailSummary | undefined; showTo: boolean }) {
  const style = { transform: `translateY(${pos * ROW_HEIGHT}px)`, height: `${ROW_HEIGHT}px` };
  if (!e) {
    return (
      <div role="row" class="row loading" aria-rowindex={pos + 1} style={style} id={`row-${pos}`}>
        <div role="gridcell" class="c-main">
          {t("list.loading")}
        </div>
      </div>
    );
  }
  const unread = !e.keywords.$seen;
  const flagged = e.keywords.$flagged === true;
  const picked = selection.value.has(e.id);
  const open = openEmailId.value === e.id;
  const subject = e.subject || t("list.noSubject");
  return (
    <div
      role="row"
      id={`row-${pos}`}
      aria-rowindex={pos + 1}
      aria-selected={picked || (open && selection.value.size === 0)}
      data-id={e.id}
      data-testid="message-row"
      class={`row${unread ? " unread" : ""}${picked ? " picked" : ""}${open ? " open" : ""}${cursor.value === pos ? " cursor" : ""}`}
      style={style}
      draggable
      onClick={(ev) => onRowClick(ev, pos, e.id)}
      onDragStart={(ev) => {
        const ids = selection.value.has(e.id) ? [...selection.value] : [e.id];
        ev.dataTransfer?.setData(DRAG_TYPE, JSON.stringify(ids));
        ev.dataTransfer?.setData("text/plain", subject);
        if (ev.dataTransfer) ev.dataTransfer.effectAllowed = "move";
      }}
    >
      <div role="gridcell" class="c-check">
        <input
          type="checkbox"
          checked={picked}
          aria-label={t("list.pick", { subject })}
          onClick={(ev) => {
            ev.stopPropagation();
            if ((ev as MouseEvent).shiftKey) onRowClick(ev as MouseEvent, pos, e.id);
            else toggle(e.id, pos);
          }}
        />
      </div>
      <div role="gridcell" class="c-main">
        <div class="line1">
          <span class="from">
            {showTo ? `${t("list.to")} ${who(e.to)}` : who(e.from)}
            {unread && <span class="sr-only"> ({t("list.unread")})</span>}
          </span>
          <span class="marks">
            {e.hasAttachment && <Icon name="attachment" label={t("list.attachment")} />}
          </span>
          <time class="date" dateTime={e.receivedAt}>
            {formatDate(new Date(e.receivedAt))}
          </time>
        </div>
        <div class="line2">
          <span class="subject">{subject}</span>
          <span class="preview"> {e.preview}</span>
        </div>
      </div>
      <div role="gridcell" class="c-flag">
        <button
          type="button"
          class={`flag${flagged ? " on" : ""}`}
          aria-pressed={flagged}
          aria-label={flagged ? t("action.unflag") : t("action.flag")}
          title={flagged ? t("action.unflag") : t("action.flag")}
          onClick={(ev) => {
            ev.stopPropagation();
            void setKeyword([e.id], "$flagged", !flagged);
          }}
        >
          {flagged ? "\u2605" : "\u2606"}
        </button>
      </div>
    </div>
  );
}

export function MessageList() {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const mailboxId = currentMailboxId.value;
  const s = search.value;
  const collapse = threads.value;
  listVersion.value; // re-render when the cache changes

  useEffect(() => {
    const filter = searchFilter(s, mailboxId);
    if (!filter) return;
    setQuery({ filter, collapseThreads: collapse });
    if (box.current) box.current.scrollTop = 0;
    setScrollTop(0);
  }, [mailboxId, s, collapse]);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    let frame = 0;
    const onScroll = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setScrollTop(el.scrollTop);
      });
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      ro.disconnect();
      el.removeEventListener("scroll", onScroll);
      if (frame) cancelAnimationFrame(frame);
    };
  }, []);

  const total = listTotal.value;
  // before the first window arrives, ask for the first page
  const w = visibleWindow(scrollTop, height, total ?? 1);
  // fetch the window in view; while the scrollbar is dragged through a big folder, at most
  // one fetch per FETCH_EVERY ms (the rows passed on the way are never asked for)
  const range = useRef({ first: 0, last: 0 });
  range.current = { first: w.first, last: Math.max(w.last, w.first) };
  const timer = useRef<{ last: number; pending: ReturnType<typeof setTimeout> | null }>({
    last: 0,
    pending: null,
  });
  useEffect(() => {
    const tm = timer.current;
    const run = () => {
      tm.last = Date.now();
      tm.pending = null;
      ensureRange(range.current.first, range.current.last);
    };
    const wait = tm.last + FETCH_EVERY - Date.now();
    if (wait <= 0) run();
    else if (!tm.pending) tm.pending = setTimeout(run, wait);
  });
  useEffect(() => () => clearTimeout(timer.current.pending ?? undefined), []);

  // keep the keyboard cursor in view
  const cur = cursor.value;
  useEffect(() => {
    const el = box.current;
    if (!el || total === null || cur >= total) return;
    const next = scrollToShow(cur, el.scrollTop, el.clientHeight);
    if (next !== el.scrollTop) el.scrollTop = next;
  }, [cur]);

  const cm = mailboxes.value.find((m) => m.id === mailboxId);
  const showTo = !s && (cm?.role === "sent" || cm?.role === "drafts");
  const rows = [];
  if (total !== null)
    for (let p = w.first; p <= w.last; p++) rows.push(<Row key={p} pos={p} e={emailAt(p)} showTo={showTo} />);
  const label = s
    ? t("list.searchResults")
    : cm
      ? t("list.label", { name: mailboxLabel(cm) })
      : t("list.messages");
  return (
    <div class="list-wrap">
      <div class="list-status" aria-live="polite">
        {listError.value && (
          <span class="error" role="alert">
            {t("list.error", { reason: listError.value })}
          </span>
        )}
        {total === 0 && !listError.value && (s ? t("list.noResults") : t("list.empty"))}
      </div>
      <div
        ref={box}
        class="list"
        role="grid"
        tabIndex={0}
        aria-label={label}
        aria-rowcount={total ?? -1}
        aria-multiselectable="true"
        aria-activedescendant={total ? `row-${cur}` : undefined}
        data-testid="message-list"
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" && total) {
            e.preventDefault();
            cursor.value = Math.min(total - 1, cur + 1);
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            cursor.value = Math.max(0, cur - 1);
          } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "a" && total) {
            e.preventDefault();
            void selectAll();
          } else if (e.key === " " && total) {
            e.preventDefault();
            const id = idAt(cur);
            if (id) toggle(id, cur);
          }
        }}
      >
        <div class="list-spacer" style={{ height: `${(total ?? 0) * ROW_HEIGHT}px` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
