/**
 * POP3 protocol layer — PURE (imports nothing of the server): bounded line reader, command
 * parsing, message octets (CRLF normalisation, dot-stuffing, sizes, TOP), response formatting.
 */
export {
  type ParseResult,
  type Pop3Command,
  parseCommand,
  parseLineCount,
  parseMsgNumber,
} from "./command.ts";
export { LineReader, TOO_LONG } from "./line-reader.ts";
export { DotStuffer, isCrlfOnly, pop3Size, topEnd } from "./message.ts";
export { err, multiline, ok } from "./response.ts";
