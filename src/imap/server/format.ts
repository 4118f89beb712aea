import { bad } from "./errors.ts";

/**
 * Small response-formatting helpers for the IMAP server (RFC 9051 §9 string/quoted/literal,
 * date-time). Message content never passes through here: it is written as Buffers.
 */

/** RFC 9051 §9 quoted: no CR, LF, NUL; 8-bit only when UTF-8 is enabled (RFC 9051 §9 QUOTED-CHAR / RFC 6855) */
export function imapString(s: string, utf8: boolean): string {
  let safe = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d || (!utf8 && c > 0x7e)) {
      safe = false;
      break;
    }
  }
  if (safe) return '"' + s.replace(/[\\"]/g, (m) => "\\" + m) + '"';
  return `{${Buffer.byteLength(s, "utf8")}}\r\n${s}`;
}

/** nstring: NIL for null */
export function nstring(s: string | null | undefined, utf8: boolean): string {
  return s === null || s === undefined ? "NIL" : imapString(s, utf8);
}

export function flagList(flags: readonly string[]): string {
  return "(" + flags.join(" ") + ")";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 9051 §9 date-time: "dd-Mon-yyyy hh:mm:ss +0000" (UTC) */
export function imapDateTime(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, "0");
  return (
    `"${p2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000"`
  );
}

/** RFC 8474 objectid = 1*255(ALPHA / DIGIT / "_" / "-"): keep ids to that alphabet */
export function objectId(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 255);
  return clean === "" ? "_" : clean;
}

const SYSTEM_FLAG_CANON = new Map(
  ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"].map((f) => [f.toLowerCase(), f]),
);

/**
 * Client flags for STORE/APPEND: system flags in canonical case, \Recent dropped (RFC 3501
 * §2.3.2: the server sets it, clients cannot), any other "\atom" refused — RFC 9051 §9
 * flag-extension is reserved and a server MUST NOT generate one, so it must not store one.
 */
export function clientFlags(flags: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of flags) {
    if (!f.startsWith("\\")) {
      out.push(f);
      continue;
    }
    const low = f.toLowerCase();
    if (low === "\\recent") continue;
    const canon = SYSTEM_FLAG_CANON.get(low);
    if (!canon) throw bad(`Invalid system flag ${f}`);
    out.push(canon);
  }
  return out;
}
