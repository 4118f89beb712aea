/**
 * The webmail's shared state, as signals: who is logged in, the JMAP client, the mailboxes, what
 * is open and selected, the compose and settings views, the connection, and notices. Each view
 * reads and sets these; the server's pushed changes arrive through onServerChange.
 */
import { signal } from "@preact/signals";
import { Jmap } from "./jmap/client.ts";
import type { ComposeRequest, Mailbox } from "./types.ts";

export const jmap = new Jmap("");

/** the logged-in user, null before login / after logout */
export const user = signal<{ username: string; csrf: string } | null>(null);
export const mailboxes = signal<Mailbox[]>([]);
export const currentMailboxId = signal<string | null>(null);
/** the message shown in the reader */
export const openEmailId = signal<string | null>(null);
/** ids of the messages ticked in the list (acted on together) */
export const selection = signal<ReadonlySet<string>>(new Set());
export const compose = signal<ComposeRequest | null>(null);
export const view = signal<"mail" | "settings">("mail");
/** the push channel is up (false shows the lost-connection banner) */
export const online = signal(true);

export interface Notice {
  id: number;
  text: string;
  kind: "info" | "error";
  action?: { label: string; run: () => void };
}
export const notices = signal<Notice[]>([]);
let noticeSeq = 0;

/** Shows a notice for a few seconds (errors stay until dismissed). */
export function notify(text: string, kind: Notice["kind"] = "info", action?: Notice["action"]): void {
  const n: Notice = { id: ++noticeSeq, text, kind, ...(action ? { action } : {}) };
  notices.value = [...notices.value, n];
  if (kind === "info") setTimeout(() => dismiss(n.id), 6000);
}

export function dismiss(id: number): void {
  notices.value = notices.value.filter((n) => n.id !== id);
}

type ChangeListener = (changed: Record<string, string>) => void;
const listeners = new Set<ChangeListener>();

/** Subscribes to the server's pushed state changes (type → new state); answers the unsubscribe. */
export function onServerChange(fn: ChangeListener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Called by the push channel with each change event. */
export function emitServerChange(changed: Record<string, string>): void {
  for (const fn of listeners) fn(changed);
}

export function mailboxByRole(role: Mailbox["role"]): Mailbox | undefined {
  return mailboxes.value.find((m) => m.role === role);
}

/** the list's search (a JMAP Email/query filter without inMailbox), null = the folder itself */
export interface Search {
  text: string;
  from: string;
  to: string;
  subject: string;
  /** yyyy-mm-dd, inclusive */
  after: string;
  before: string;
  allFolders: boolean;
}
export const search = signal<Search | null>(null);

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** list threads (collapseThreads) or single messages; remembered per browser */
export const threads = signal(stored("threads") === "1");
export function setThreads(on: boolean): void {
  threads.value = on;
  try {
    localStorage.setItem("threads", on ? "1" : "0");
  } catch {
    // storage blocked
  }
}

/** on a phone width the folder pane is shown instead of the list */
export const showFolders = signal(false);
/** the keyboard help overlay */
export const helpOpen = signal(false);
/** the list's keyboard cursor (a position in the list) */
export const cursor = signal(0);
