/**
 * mime — PURE MIME part indexer (imports nothing of the server).
 *
 * Implementation notes
 * - parseMessage() runs once per delivery/APPEND and yields a JSON-serialisable ParsedMessage:
 *   byte offsets of every part's header and body, decoded Content-* fields, line counts, the
 *   ENVELOPE of the message and of every encapsulated message/rfc822 or message/global part.
 *   It never throws; garbage still yields a text/plain root. Linear per nesting level; nesting
 *   capped at MAX_DEPTH (deeper multiparts/messages are opaque text/plain), parts at MAX_PARTS.
 * - Offsets index the raw message as stored; sections are sliced byte-exact (no re-encoding,
 *   bare LF kept). `size` = octets (RFC 9051 body-fld-octets); `lines` = LF count plus one for a
 *   final line without LF (RFC 9051 body-fld-lines), counted for text/* and message parts.
 * - Multipart (RFC 2046 §5.1.1): the CRLF before a delimiter belongs to the delimiter; missing
 *   close delimiter → last part runs to the end; no delimiter at all → one header-less part with
 *   the whole body. multipart/digest children default to message/rfc822 (RFC 2046 §5.1.5).
 * - Headers: a field's name is matched case-insensitively; 8-bit header bytes are read as UTF-8
 *   (RFC 6532) or else ISO-8859-1. ENVELOPE strings are raw (RFC 2047 words not decoded);
 *   Sender/Reply-To defaulting to From (RFC 9051 §7.5.2) happens when serialising.
 * - Content-Type/Disposition parameters are decoded per RFC 2231 (continuations joined,
 *   charset'lang'value decoded); BODYSTRUCTURE re-emits non-ASCII values RFC 2231-encoded unless
 *   the session enabled UTF-8.
 * - A message with NUL octets is stored with those parts base64-encoded (encodeNulParts, RFC 3516
 *   §4.4: IMAP literals cannot carry NUL); BINARY[] of the whole message decodes (binaryForm).
 * - searchText/headerValues/sortKeys decode RFC 2047 words (libmime) and charsets
 *   (TextDecoder, iconv-lite); body text is capped (DEFAULT_SEARCH_BODY_MAX).
 */
export { binaryForm, encodeNulParts } from "./binary.ts";
export { MAX_DEPTH, MAX_PARTS, PARSED_VERSION, parseMessage } from "./parse.ts";
export { binarySize, getBinary, getSection, resolvePart } from "./section.ts";
export {
  asciiCasemap,
  baseSubject,
  compareOctets,
  DEFAULT_SEARCH_BODY_MAX,
  DEFAULT_SEARCH_HEADER_MAX,
  headerValues,
  htmlToText,
  parseDate,
  type SearchTextOptions,
  searchText,
  sortKeys,
  threadSubject,
} from "./text.ts";
export type {
  Address,
  ContentType,
  Envelope,
  MimePart,
  ParsedMessage,
  SectionSpec,
  SortKeys,
} from "./types.ts";
