/**
 * Typed POP3 errors and the one place that maps any thrown error to a response line
 * (docs/architecture.md, "POP3"): Pop3Error → "-ERR [CODE] text"; StoreError → a -ERR with an RFC 2449 §8 code;
 * anything else → "-ERR [SYS/TEMP]" plus a log line with the session id.
 */
import { StoreError } from "../../store/types.ts";
import { err } from "../protocol/response.ts";

/** RFC 2449 §8.1 / RFC 3206 / RFC 6856 response codes */
export type Pop3Code = "IN-USE" | "LOGIN-DELAY" | "SYS/TEMP" | "SYS/PERM" | "AUTH" | "UTF8";

export class Pop3Error extends Error {
  readonly code: Pop3Code | undefined;
  /** counts as a bad command (unknown, wrong state, syntax) */
  readonly bad: boolean;
  constructor(message: string, opts: { code?: Pop3Code; bad?: boolean } = {}) {
    super(message);
    this.name = "Pop3Error";
    this.code = opts.code;
    this.bad = opts.bad ?? false;
  }
}

export const bad = (message: string) => new Pop3Error(message, { bad: true });

export interface MappedError {
  line: string;
  bad: boolean;
  /** unexpected: log at error level */
  unexpected: boolean;
}

export function mapError(e: unknown): MappedError {
  if (e instanceof Pop3Error) return { line: err(e.message, e.code), bad: e.bad, unexpected: false };
  if (e instanceof StoreError) {
    switch (e.code) {
      case "NOTFOUND":
      case "NONEXISTENT":
        return { line: err("Message was removed by another session"), bad: false, unexpected: false };
      case "OVERQUOTA":
        return { line: err("Mailbox is over quota", "SYS/PERM"), bad: false, unexpected: false };
      case "INUSE":
        return { line: err("Mailbox is in use", "IN-USE"), bad: false, unexpected: false };
      default:
        return {
          line: err("Temporary server error, try again later", "SYS/TEMP"),
          bad: false,
          unexpected: true,
        };
    }
  }
  return { line: err("Internal server error, try again later", "SYS/TEMP"), bad: false, unexpected: true };
}
