/**
 * Interface strings in English and Swedish. Each area of the app keeps its strings in its own
 * file (strings-*.ts: `{ en: {...}, sv: {...} }`, the same keys in both) and registers them
 * here; `t(key, vars)` answers the string of the current language with `{name}` replaced.
 * The language is the user's choice (saved in localStorage) or the browser's first language
 * that we have; dates and numbers follow the browser's locale (Intl) either way.
 */
import { signal } from "@preact/signals";

export type Lang = "en" | "sv";
export const LANGS: Lang[] = ["en", "sv"];
export type Strings = Record<string, string>;

const tables: Record<Lang, Strings> = { en: {}, sv: {} };

export function register(d: { en: Strings; sv: Strings }): void {
  Object.assign(tables.en, d.en);
  Object.assign(tables.sv, d.sv);
}

function initial(): Lang {
  try {
    const saved = localStorage.getItem("lang");
    if (saved === "en" || saved === "sv") return saved;
  } catch {
    // storage blocked
  }
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = l.toLowerCase().split("-")[0];
    if (base === "sv" || base === "en") return base;
  }
  return "en";
}

export const lang = signal<Lang>(initial());

export function setLang(l: Lang): void {
  lang.value = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem("lang", l);
  } catch {
    // storage blocked
  }
}

/** The string for key in the current language (English, then the key itself, when missing). */
export function t(key: string, vars?: Record<string, string | number>): string {
  const s = tables[lang.value][key] ?? tables.en[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

/** A date in the browser's locale: time today, day and month this year, else the full date. */
export function formatDate(d: Date, now = new Date()): string {
  const sameDay = d.toDateString() === now.toDateString();
  if (sameDay) return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (d.getFullYear() === now.getFullYear())
    return d.toLocaleDateString(undefined, { day: "numeric", month: "short" });
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}
