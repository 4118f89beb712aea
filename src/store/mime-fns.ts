/** The parts of src/mime the store uses (injectable for tests of the store alone). */
import type { ParsedMessage } from "../mime/types.ts";

export interface MimeFns {
  parseMessage(raw: Uint8Array): ParsedMessage;
  /**
   * The stored form of a message with NUL octets (parts re-encoded base64), null when there is
   * nothing to change (mime/binary.ts). Optional: a store without it keeps messages as given.
   */
  encodeNulParts?(raw: Uint8Array): Uint8Array | null;
  searchText(raw: Uint8Array, p: ParsedMessage): { headers: string; body: string };
  headerValues(raw: Uint8Array, p: ParsedMessage, name: string): string[];
  /** RFC 5256 §2.1 base subject (i;ascii-casemap) and whether a reply marker was removed */
  threadSubject(subject: string): { subject: string; reply: boolean };
  /** a Date header value in ms (timezone applied), null when absent or invalid */
  parseDate(value: string | null): number | null;
}
