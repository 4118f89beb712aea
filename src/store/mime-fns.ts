/** The parts of src/mime the store uses (injectable for tests of the store alone). */
import type { ParsedMessage } from "../mime/types.ts";

export interface MimeFns {
  parseMessage(raw: Uint8Array): ParsedMessage;
  searchText(raw: Uint8Array, p: ParsedMessage): { headers: string; body: string };
  headerValues(raw: Uint8Array, p: ParsedMessage, name: string): string[];
}
