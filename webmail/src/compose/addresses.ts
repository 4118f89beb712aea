/**
 * Recipient fields as text ("Ann <ann@example.com>, bob@example.com"): split into addresses and
 * formatted back, by scanning characters (quotes and angle brackets respected; no regular
 * expression ever sees what the user typed). Pure functions (suggest.ts asks the server).
 */
import type { EmailAddress } from "../types.ts";

/** Splits a field's text at commas and semicolons outside quotes and angle brackets. */
export function splitField(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  let angle = false;
  for (const ch of text) {
    if (ch === '"' && !angle) quoted = !quoted;
    else if (ch === "<" && !quoted) angle = true;
    else if (ch === ">" && !quoted) angle = false;
    if ((ch === "," || ch === ";") && !quoted && !angle) {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** local@domain with no blanks, brackets or quotes, one @ with text on both sides, a dot after it */
export function isEmail(s: string): boolean {
  const at = s.indexOf("@");
  if (at <= 0 || at !== s.lastIndexOf("@") || at === s.length - 1) return false;
  for (const ch of s) if (ch <= " " || ch === "<" || ch === ">" || ch === '"' || ch === ",") return false;
  return true;
}

/** One "Name <email>" / "email" item; null when there is no valid address in it. */
export function parseAddress(item: string): EmailAddress | null {
  const lt = item.lastIndexOf("<");
  const gt = item.lastIndexOf(">");
  if (lt >= 0 && gt > lt) {
    const email = item.slice(lt + 1, gt).trim();
    let name = item.slice(0, lt).trim();
    if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1);
    return isEmail(email) ? { name: name || null, email } : null;
  }
  const email = item.trim();
  return isEmail(email) ? { name: null, email } : null;
}

/** The addresses of a field, and the items that are not addresses. */
export function parseField(text: string): { list: EmailAddress[]; bad: string[] } {
  const list: EmailAddress[] = [];
  const bad: string[] = [];
  for (const item of splitField(text)) {
    const a = parseAddress(item);
    if (a) list.push(a);
    else bad.push(item);
  }
  return { list, bad };
}

export function formatAddress(a: EmailAddress): string {
  if (!a.name) return a.email;
  const needsQuotes = a.name.includes(",") || a.name.includes(";") || a.name.includes("<");
  return needsQuotes ? `"${a.name.replaceAll('"', "")}" <${a.email}>` : `${a.name} <${a.email}>`;
}

export function formatField(list: readonly EmailAddress[] | null | undefined): string {
  return (list ?? []).map(formatAddress).join(", ");
}

/** The addresses without duplicates (case-insensitive) and without those in `except`. */
export function dedupe(list: EmailAddress[], except: ReadonlySet<string> = new Set()): EmailAddress[] {
  const seen = new Set(except);
  const out: EmailAddress[] = [];
  for (const a of list) {
    const k = a.email.toLowerCase();
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(a);
  }
  return out;
}

/** The text being typed: what follows the last separator. */
export function currentToken(text: string): string {
  const parts = splitField(`${text}\u0000`);
  const last = parts[parts.length - 1] ?? "";
  return last.endsWith("\u0000") ? last.slice(0, -1).trim() : "";
}

/** The field's text with the token being typed replaced by the chosen address (and ", " after). */
export function completeToken(text: string, a: EmailAddress): string {
  const done = splitField(`${text}\u0000`);
  done.pop();
  return `${[...done, formatAddress(a)].join(", ")}, `;
}
