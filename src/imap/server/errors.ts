/**
 * Typed errors thrown by IMAP command handlers, and the ONE place that maps any thrown value to
 * a tagged/untagged response (docs/architecture.md, "IMAP"). RFC 9051 §7.1 response codes.
 */
import { StoreError } from "../../store/types.ts";

export type ImapErrorKind = "NO" | "BAD" | "BYE";

export class ImapError extends Error {
  readonly kind: ImapErrorKind;
  /** response code without brackets, e.g. "NONEXISTENT" or "BADCHARSET (UTF-8)" */
  readonly code: string | null;
  constructor(kind: ImapErrorKind, code: string | null, message: string) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.name = "ImapError";
  }
}

export function no(code: string | null, message: string): ImapError {
  return new ImapError("NO", code, message);
}
export function bad(message: string, code: string | null = null): ImapError {
  return new ImapError("BAD", code, message);
}
export function bye(message: string, code: string | null = null): ImapError {
  return new ImapError("BYE", code, message);
}

export interface MappedError {
  kind: ImapErrorKind;
  code: string | null;
  text: string;
  /** true when the error was unexpected (a bug) and should be logged as such */
  unexpected: boolean;
}

// RFC 9051 §7.1 response codes for store failures.
const storeCodes: Record<StoreError["code"], string> = {
  NONEXISTENT: "NONEXISTENT",
  ALREADYEXISTS: "ALREADYEXISTS",
  OVERQUOTA: "OVERQUOTA",
  TOOBIG: "TOOBIG",
  CANNOT: "CANNOT",
  INUSE: "INUSE",
  LIMIT: "LIMIT",
  NOTFOUND: "NONEXISTENT",
  INVALID: "CANNOT",
};

/** Maps any thrown value to a response. Unknown errors become NO [SERVERBUG]. */
export function mapError(e: unknown): MappedError {
  if (e instanceof ImapError)
    return { kind: e.kind, code: e.code, text: cleanText(e.message), unexpected: false };
  if (e instanceof StoreError || (e instanceof Error && e.name === "StoreError" && "code" in e)) {
    const se = e as StoreError;
    const code = storeCodes[se.code] ?? "SERVERBUG";
    return { kind: "NO", code, text: cleanText(se.message), unexpected: code === "SERVERBUG" };
  }
  return { kind: "NO", code: "SERVERBUG", text: "Internal server error", unexpected: true };
}

/** response text must not contain CR/LF, "[" at the start is reserved for codes */
function cleanText(s: string): string {
  const t = s.replace(/[\r\n]+/g, " ").trim();
  return t === "" ? "Failed" : t.startsWith("[") ? " " + t : t;
}
