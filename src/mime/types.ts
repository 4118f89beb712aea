/**
 * MIME part index — PURE (imports nothing of the server). Computed once at delivery/APPEND by
 * parseMessage(), stored as JSON beside the message metadata, used by FETCH/SEARCH without
 * reparsing. All offsets are byte offsets into the raw message as stored (the blob, without
 * the per-recipient delivery-header prefix; callers add the prefix length where needed).
 *
 * The module's public functions (src/mime/index.ts):
 *   parseMessage(raw: Uint8Array): ParsedMessage                   never throws
 *   envelopeImap(env: Envelope, utf8: boolean): Buffer              RFC 9051 §7.5.2 ENVELOPE
 *     (envelopeImap and bodyStructureImap live in imap/protocol/body-structure.ts)
 *   bodyStructureImap(p: ParsedMessage, extended: boolean, utf8: boolean): Buffer
 *                                                                  BODY (extended=false) / BODYSTRUCTURE
 *   getSection(raw, p, spec: SectionSpec): Uint8Array | null       BODY[section] content; null = no such part
 *   getBinary(raw, p, part: number[]): Uint8Array | null | "unknown-cte"
 *                                                                  BINARY[part] decoded (base64/QP)
 *   binarySize(raw, p, part): number | null | "unknown-cte"
 *   searchText(raw, p): { headers: string; body: string }         decoded text for indexing
 *   headerValues(raw, p, name: string): string[]                   decoded (RFC 2047) values of a top-level header
 *   sortKeys(raw, p): SortKeys                                     RFC 5256 keys
 * `utf8` = the session enabled IMAP4rev2/UTF8=ACCEPT: 8-bit header text may go out as quoted
 * strings; otherwise strings that are not 7-bit are sent as literals.
 */

export interface ContentType {
  type: string; // lower-case, e.g. "text"
  subtype: string; // lower-case, e.g. "plain"
  /** parameter names lower-case; values decoded (RFC 2231 continuations joined) */
  params: Array<[string, string]>;
}

export interface MimePart {
  /** offset of the first header byte of this part */
  headerStart: number;
  /** offset of the first body byte (after the blank line; == bodyStart) */
  bodyStart: number;
  /** offset just past the last body byte */
  bodyEnd: number;
  contentType: ContentType;
  /** true when Content-Type was absent and defaulted (text/plain; charset=us-ascii, or message/rfc822 in multipart/digest) */
  defaultType: boolean;
  disposition: { type: string; params: Array<[string, string]> } | null;
  encoding: string; // lower-case Content-Transfer-Encoding, default "7bit"
  id: string | null;
  description: string | null;
  md5: string | null;
  language: string[] | null;
  location: string | null;
  /** body size in octets (bodyEnd - bodyStart) */
  size: number;
  /** lines in the body (text/* and message/rfc822 parts) */
  lines: number;
  /** multipart: the sub-parts (never empty: an empty multipart gets one empty text/plain part) */
  children?: MimePart[];
  /** message/rfc822 (and message/global): the encapsulated message */
  message?: { envelope: Envelope; root: MimePart };
}

export interface Address {
  name: string | null; // display name as written (quotes removed; RFC 2047 encoded words NOT decoded — IMAP sends them raw)
  mailbox: string | null; // local part; null in group end markers
  host: string | null; // null marks a group start/end (RFC 9051 §7.5.2)
  /** obsolete source route (RFC 5322 §4.4 obs-route) as "@a,@b" — ENVELOPE addr-adl; absent = NIL */
  adl?: string | null;
}

export interface Envelope {
  date: string | null; // raw header value, unfolded
  subject: string | null; // raw (undecoded) header value, unfolded
  from: Address[] | null;
  sender: Address[] | null;
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

export interface ParsedMessage {
  /** bump when the structure changes so cached JSON is recomputed */
  version: number;
  root: MimePart;
  envelope: Envelope;
  /** RFC 8970 preview text (src/mime/preview.ts): "" when there is no text part */
  preview: string;
}

/** A BODY[...] section: part path (1-based; [] = whole message) and optional text specifier. */
export interface SectionSpec {
  part: number[];
  /** "" = the whole part (or message); MIME only with a part path */
  kind: "" | "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";
  /** for HEADER.FIELDS(.NOT): field names as given */
  fields?: string[];
}

export interface SortKeys {
  /** Every string key is in i;ascii-casemap form (a–z upper-cased, RFC 4790 §9.2); compare by octets. */
  /** RFC 5256 §2.1 base subject */
  subject: string;
  /** addr-mailbox of the first From address; a group's name when the list opens with a group */
  from: string;
  to: string;
  cc: string;
  /** ms since epoch of the Date header, or null when absent/invalid (caller falls back to internal date) */
  date: number | null;
  /** display name of the first From address, else its addr-spec; a group's name (RFC 5957) */
  displayFrom: string;
  displayTo: string;
}
