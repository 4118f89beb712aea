import { canonicalSystemFlag, RECENT } from "../protocol/flags.ts";
import { bad } from "./errors.ts";

/**
 * Server-side value rules that are not wire syntax (that is imap/protocol/response.ts): OBJECTID
 * values and the flags a client may set.
 */

/** RFC 8474 objectid = 1*255(ALPHA / DIGIT / "_" / "-"): keep ids to that alphabet */
export function objectId(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 255);
  return clean === "" ? "_" : clean;
}

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
    const canon = canonicalSystemFlag(f);
    if (canon === RECENT) continue;
    if (!canon) throw bad(`Invalid system flag ${f}`);
    out.push(canon);
  }
  return out;
}
