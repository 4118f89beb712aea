/**
 * IMAP dates: RFC 9051 §9 `date` (SEARCH), `date-time` (APPEND, INTERNALDATE).
 */
import type { ImapDate } from "./commands.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;
const MONTH_INDEX = new Map<string, number>(MONTHS.map((m, i) => [m.toLowerCase(), i + 1]));

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * RFC 9051 §9 date-text = date-day "-" date-month "-" date-year (date-day = 1*2DIGIT,
 * date-month case-insensitive). The surrounding DQUOTEs are the caller's business. Returns null
 * for anything invalid (including 31-Feb).
 */
export function parseDate(text: string): ImapDate | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!m) return null;
  const day = Number(m[1]);
  const month = MONTH_INDEX.get(m[2]!.toLowerCase());
  const year = Number(m[3]);
  if (month === undefined || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

/**
 * RFC 9051 §9 date-time (without the DQUOTEs): `dd-Mon-yyyy hh:mm:ss +zzzz`, day may be
 * space-padded (date-day-fixed) — a one-digit day is accepted too. Returns null when invalid.
 */
export function parseDateTime(text: string): Date | null {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const day = Number(m[1]);
  const month = MONTH_INDEX.get(m[2]!.toLowerCase());
  const year = Number(m[3]);
  const hh = Number(m[4]);
  const mm = Number(m[5]);
  const ss = Number(m[6]);
  const zh = Number(m[8]);
  const zm = Number(m[9]);
  if (month === undefined || day < 1 || day > daysInMonth(year, month)) return null;
  // RFC 9051 §9 time = 2DIGIT ":" 2DIGIT ":" 2DIGIT; a leap second (60) is folded into the next minute by Date.UTC
  if (hh > 23 || mm > 59 || ss > 60 || zm > 59) return null;
  const offset = (m[7] === "-" ? -1 : 1) * (zh * 60 + zm);
  return new Date(Date.UTC(year, month - 1, day, hh, mm, ss) - offset * 60_000);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * RFC 9051 §9 date-time for INTERNALDATE, with quotes: `"dd-Mon-yyyy hh:mm:ss +zzzz"`.
 * `tzOffsetMinutes` is the zone to render in (east of UTC positive); default UTC.
 * The day is 2 digits, zero padded (date-day-fixed allows SP DIGIT or 2DIGIT).
 */
export function formatDateTime(date: Date, tzOffsetMinutes = 0): string {
  const t = new Date(date.getTime() + tzOffsetMinutes * 60_000);
  const sign = tzOffsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(tzOffsetMinutes);
  return (
    `"${pad2(t.getUTCDate())}-${MONTHS[t.getUTCMonth()]}-${t.getUTCFullYear()} ` +
    `${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}:${pad2(t.getUTCSeconds())} ` +
    `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}"`
  );
}

/** RFC 9051 §9 date-text `d-Mon-yyyy` (for SEARCH, e.g. in tests and the IMAP import client). */
export function formatDate(d: ImapDate): string {
  return `${d.day}-${MONTHS[d.month - 1]}-${d.year}`;
}

/** Start of the given calendar day as ms since epoch, in the given zone (minutes east of UTC). */
export function dateToMillis(d: ImapDate, tzOffsetMinutes = 0): number {
  return Date.UTC(d.year, d.month - 1, d.day) - tzOffsetMinutes * 60_000;
}
