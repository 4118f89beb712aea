/**
 * Flag lists as stored: system flags in canonical spelling, keywords as first given,
 * deduplicated case-insensitively (RFC 9051 §2.3.2: flags are case-insensitive).
 * Kept as one space-separated text column plus a bit mask of the system flags so that
 * counts (unseen, deleted) and SEARCH on system flags need no string scans.
 */

const SYSTEM: ReadonlyMap<string, [string, number]> = new Map([
  ["\\seen", ["\\Seen", 1]],
  ["\\answered", ["\\Answered", 2]],
  ["\\flagged", ["\\Flagged", 4]],
  ["\\deleted", ["\\Deleted", 8]],
  ["\\draft", ["\\Draft", 16]],
]);

export const FLAG_SEEN = 1;
export const FLAG_ANSWERED = 2;
export const FLAG_FLAGGED = 4;
export const FLAG_DELETED = 8;
export const FLAG_DRAFT = 16;

/** Canonical list: system flags re-spelled, \Recent dropped (RFC 9051 §2.3.2: not storable), duplicates removed. */
export function normalizeFlags(flags: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of flags) {
    if (f.length === 0 || /[\s]/.test(f)) continue;
    const key = f.toLowerCase();
    if (key === "\\recent" || seen.has(key)) continue;
    seen.add(key);
    out.push(SYSTEM.get(key)?.[0] ?? f);
  }
  return out;
}

export function flagBits(flags: readonly string[]): number {
  let bits = 0;
  for (const f of flags) bits |= SYSTEM.get(f.toLowerCase())?.[1] ?? 0;
  return bits;
}

export function parseFlagText(text: string): string[] {
  return text.length === 0 ? [] : text.split(" ");
}

export function flagText(flags: readonly string[]): string {
  return flags.join(" ");
}

/** Applies a STORE operation (RFC 9051 §6.4.6) to a normalized list; returns a normalized list. */
export function applyFlagOp(
  current: readonly string[],
  op: "set" | "add" | "remove",
  flags: readonly string[],
) {
  const given = normalizeFlags(flags);
  if (op === "set") return given;
  if (op === "add") return normalizeFlags([...current, ...given]);
  const drop = new Set(given.map((f) => f.toLowerCase()));
  return current.filter((f) => !drop.has(f.toLowerCase()));
}

export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  for (const f of b) if (!set.has(f.toLowerCase())) return false;
  return true;
}
