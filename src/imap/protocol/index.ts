/**
 * IMAP wire layer — PURE (imports nothing of the server).
 *
 * Implementation notes
 * - Protocols: IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) command syntax, plus LITERAL+ /
 *   LITERAL- (RFC 7888), BINARY literal8 (RFC 3516), MULTIAPPEND (RFC 3502), UTF8=ACCEPT APPEND
 *   (RFC 6855), UIDPLUS (RFC 4315), MOVE (RFC 6851), ENABLE (RFC 5161), ID (RFC 2971), IDLE
 *   (RFC 2177), NAMESPACE, UNSELECT, LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
 *   SPECIAL-USE / CREATE-SPECIAL-USE (RFC 6154), CONDSTORE / QRESYNC (RFC 7162), ESEARCH
 *   (RFC 4731), SEARCHRES (RFC 5182), WITHIN (RFC 5032), OBJECTID (RFC 8474), SAVEDATE
 *   (RFC 8514), SASL-IR (RFC 4959), QUOTA (RFC 9208), SORT / THREAD (RFC 5256), ESORT and
 *   CONTEXT=SEARCH/SORT (RFC 5267: RETURN (CONTEXT UPDATE), CANCELUPDATE), PARTIAL (RFC 9394:
 *   SEARCH/SORT return option, UID FETCH modifier).
 * - reader.ts is incremental: it assembles one command (text lines + literals) and hands it to
 *   parser.ts only when complete; it never buffers more than maxLineLength of command text plus
 *   the current command's literals. Sync literals wait for the session's acceptLiteral() (which
 *   sends the continuation request); refused literals are skipped without buffering.
 * - parser.ts is a recursive-descent parser over the assembled command with functions named after
 *   the RFC 9051 §9 ABNF rules; nesting depth is bounded (MAX_DEPTH). Every syntax error becomes a
 *   `bad` event with a message naming what was expected.
 * - Mailbox names come out as received (UTF-8 decoded bytes); modified UTF-7 (mutf7.ts) is applied
 *   by the server only when the client has not enabled UTF-8.
 * - response.ts is the one response serializer (quoted / literal / astring / nstring, mailbox
 *   names, flag lists) and body-structure.ts writes ENVELOPE / BODYSTRUCTURE with the same
 *   quoting; flags.ts holds the one list of system flags.
 * - Message data and search strings stay Buffers; nothing on this path decodes message bytes.
 * - Sequence sets stay symbolic ("*", "$") until the server resolves them against the mailbox
 *   (sequence-set.ts), without materialising ranges.
 */
export { bodyStructureImap, envelopeImap } from "./body-structure.ts";
export * from "./commands.ts";
export { dateToMillis, formatDate, formatDateTime, parseDate, parseDateTime } from "./datetime.ts";
export { canonicalSystemFlag, RECENT, SYSTEM_FLAGS } from "./flags.ts";
export { mutf7Decode, mutf7Encode } from "./mutf7.ts";
export {
  type CommandInput,
  decodeBase64,
  MAX_DEPTH,
  type ParseResult,
  parseCommand,
  parseCommandText,
} from "./parser.ts";
export {
  CommandReader,
  extractTag,
  type LineTooLong,
  type ReaderEvent,
  type ReaderLimits,
} from "./reader.ts";
export {
  applyPartial,
  astring,
  CRLF,
  canQuote,
  fetchAttResponseName,
  flagList,
  imapString,
  literal,
  literal8,
  mailboxName,
  nstring,
  nstringText,
  quotable,
  quoted,
  quoteText,
  respText,
  sequenceSetText,
  statusResponse,
  stringText,
} from "./response.ts";
export * from "./sequence-set.ts";
