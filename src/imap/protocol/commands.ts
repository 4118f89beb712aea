/**
 * Typed IMAP commands as produced by the parser (parser.ts) from the reader's input.
 *
 * Conventions:
 * - Command names and keywords are upper-cased; flags keep their case as sent (`\Seen`, `$Junk`);
 *   system flags are normalised to their canonical spelling (`\seen` → `\Seen`).
 * - Mailbox names (`MailboxName`) are the astring exactly as received, its bytes read as UTF-8.
 *   They are NOT modified-UTF-7 decoded: without UTF8=ACCEPT / IMAP4rev2 the server decodes them
 *   with `mutf7Decode` (RFC 3501 §5.1.3); with UTF-8 enabled they are already UTF-8 (RFC 6855 §3).
 * - Search strings are Buffers (their charset is the SEARCH CHARSET, decoded by the server).
 * - APPEND message data stays bytes (Buffer), never decoded.
 * - Mod-sequences are bigint (RFC 7162 mod-sequence-value is 63-bit); UIDs, sequence numbers,
 *   sizes and UIDVALIDITY are numbers (32-bit, RFC 9051 §9 nz-number / number64 for sizes).
 */
import type { SectionSpec } from "../../mime/types.ts";

/** A message number or UID in a sequence set; "*" is the largest number in use (RFC 9051 §9 seq-number). */
export type SeqNumber = number | "*";

/** One element of a sequence set: a single number has start === end. Order of start/end as sent. */
export interface SeqRange {
  start: SeqNumber;
  end: SeqNumber;
}

/**
 * RFC 9051 §9 sequence-set, or "$" (RFC 5182 SEARCHRES: the saved search result).
 */
export type SequenceSet = { type: "ranges"; ranges: SeqRange[] } | { type: "saved" };

/** Mailbox name as received (astring bytes read as UTF-8; not modified-UTF-7 decoded). */
export type MailboxName = string;

// ---------------------------------------------------------------------------------------------
// FETCH (RFC 9051 §6.4.5, RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC,
// RFC 8474 OBJECTID, RFC 8514 SAVEDATE)

/** Fetch items without arguments. */
export type SimpleFetchAttName =
  | "FLAGS"
  | "INTERNALDATE"
  | "RFC822.SIZE"
  | "RFC822"
  | "RFC822.HEADER"
  | "RFC822.TEXT"
  | "ENVELOPE"
  | "BODY"
  | "BODYSTRUCTURE"
  | "UID"
  | "MODSEQ"
  | "EMAILID"
  | "THREADID"
  | "SAVEDATE"
  /** RFC 8970 (a `(LAZY)` modifier is accepted and changes nothing: previews are precomputed) */
  | "PREVIEW";

/** `<offset.length>` partial fetch (RFC 9051 §6.4.5). */
export interface Partial {
  offset: number;
  length: number;
}

export type FetchAtt =
  | { type: SimpleFetchAttName }
  /** BODY[section]<partial> / BODY.PEEK[section]<partial> */
  | { type: "BODY[]"; peek: boolean; section: SectionSpec; partial: Partial | null }
  /** BINARY[part]<partial> / BINARY.PEEK[part]<partial> (RFC 3516 §4.2) */
  | { type: "BINARY[]"; peek: boolean; part: number[]; partial: Partial | null }
  /** BINARY.SIZE[part] (RFC 3516 §4.2) */
  | { type: "BINARY.SIZE[]"; part: number[] };

export interface FetchCommand {
  name: "FETCH";
  uid: boolean;
  set: SequenceSet;
  /** macros (ALL FAST FULL) are expanded; UID is NOT added implicitly for UID FETCH (the server adds it) */
  atts: FetchAtt[];
  /** RFC 7162 §3.1.4 CHANGEDSINCE modifier */
  changedSince: bigint | null;
  /** RFC 7162 §3.2.6 VANISHED modifier (UID FETCH only; parser rejects it otherwise) */
  vanished: boolean;
  /** RFC 9394 §3.3 PARTIAL modifier (UID FETCH only; parser rejects it otherwise); absent when not given */
  partial?: PartialRange;
}

// ---------------------------------------------------------------------------------------------
// STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3 UNCHANGEDSINCE)

export interface StoreCommand {
  name: "STORE";
  uid: boolean;
  set: SequenceSet;
  unchangedSince: bigint | null;
  /** FLAGS = replace, +FLAGS = add, -FLAGS = remove */
  op: "replace" | "add" | "remove";
  silent: boolean;
  flags: string[];
}

// ---------------------------------------------------------------------------------------------
// SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES,
// RFC 7162 MODSEQ, RFC 5032 WITHIN, RFC 8474 OBJECTID, RFC 8514 SAVEDATE)

/** A calendar date from SEARCH (day-month-year, no time, no zone: RFC 9051 §6.4.4 "disregarding time and timezone"). */
export interface ImapDate {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
}

export type SearchKey =
  /** all keys must match (a parenthesised list, or the top-level list of keys) */
  | { type: "and"; keys: SearchKey[] }
  | { type: "or"; left: SearchKey; right: SearchKey }
  | { type: "not"; key: SearchKey }
  | { type: "all" }
  /** a message sequence set (or $) */
  | { type: "seq"; set: SequenceSet }
  /** UID set (or $) */
  | { type: "uid"; set: SequenceSet }
  /**
   * message has the flag: system flags `\Answered \Deleted \Draft \Flagged \Seen \Recent`
   * canonical spelling, or a keyword (KEYWORD x). UNSEEN etc. are `not` of this;
   * NEW = and(\Recent, not \Seen); OLD = not \Recent.
   */
  | { type: "flag"; flag: string }
  /**
   * FROM TO CC BCC SUBJECT → field lower-case name; HEADER field string → field as given
   * (lower-cased). `address`: FROM/TO/CC/BCC, matched against the parsed addresses (the envelope
   * structure's field, RFC 3501 §6.4.4) instead of the header text.
   */
  | { type: "header"; field: string; value: Buffer; address?: boolean }
  | { type: "body"; value: Buffer }
  | { type: "text"; value: Buffer }
  /** BEFORE/ON/SINCE (internal date), SENTBEFORE/SENTON/SENTSINCE (Date header), SAVEDBEFORE/... (RFC 8514) */
  | { type: "date"; field: "internal" | "sent" | "saved"; op: "before" | "on" | "since"; date: ImapDate }
  /** RFC 8514 SAVEDATESUPPORTED */
  | { type: "savedatesupported" }
  | { type: "size"; op: "larger" | "smaller"; size: number }
  /** RFC 5032 OLDER/YOUNGER interval in seconds */
  | { type: "age"; op: "older" | "younger"; seconds: number }
  /** RFC 7162 §3.1.5 MODSEQ [entry-name entry-type-req] mod-sequence-valzer */
  | {
      type: "modseq";
      modseq: bigint;
      entry: { name: string; type: "priv" | "shared" | "all" } | null;
    }
  /** RFC 8474 §6 */
  | { type: "emailid"; id: string }
  | { type: "threadid"; id: string };

/**
 * RFC 4731 §3.1 / RFC 5182 §2 search-return-opt; RFC 5267 §4.2 CONTEXT (a hint) and §4.3 UPDATE
 * (a live context: ADDTO/REMOVEFROM notifications)
 */
export type SearchReturnOpt = "MIN" | "MAX" | "ALL" | "COUNT" | "SAVE" | "CONTEXT" | "UPDATE";

/**
 * RFC 9394 §3.1 partial-range, as the client wrote it (echoed in the PARTIAL result item):
 * `first:second` counts from the first result, `-first:-second` (fromEnd) from the last; the two
 * ends may come in either order.
 */
export interface PartialRange {
  fromEnd: boolean;
  first: number;
  second: number;
}

export interface SearchCommand {
  name: "SEARCH";
  uid: boolean;
  /** upper-cased CHARSET argument, or null when absent */
  charset: string | null;
  /**
   * null = no RETURN (IMAP4rev1-style untagged SEARCH unless IMAP4rev2 is enabled);
   * [] = RETURN () which means RETURN (ALL) (RFC 4731 §3.1). Duplicates removed.
   */
  returnOpts: SearchReturnOpt[] | null;
  /** RFC 9394 RETURN (PARTIAL range); absent when not requested */
  partial?: PartialRange;
  criteria: SearchKey;
}

// ---------------------------------------------------------------------------------------------
// SORT / THREAD (RFC 5256)

export type SortKeyName =
  | "ARRIVAL"
  | "CC"
  | "DATE"
  | "FROM"
  | "SIZE"
  | "SUBJECT"
  | "TO"
  | "DISPLAYFROM"
  | "DISPLAYTO";

export interface SortCriterion {
  key: SortKeyName;
  reverse: boolean;
}

export interface SortCommand {
  name: "SORT";
  uid: boolean;
  /** RFC 5267 ESORT RETURN options, null when absent */
  returnOpts: SearchReturnOpt[] | null;
  /** RFC 9394 RETURN (PARTIAL range); absent when not requested */
  partial?: PartialRange;
  criteria: SortCriterion[];
  charset: string;
  search: SearchKey;
}

export interface ThreadCommand {
  name: "THREAD";
  uid: boolean;
  /** upper-cased: ORDEREDSUBJECT, REFERENCES, ... */
  algorithm: string;
  charset: string;
  search: SearchKey;
}

// ---------------------------------------------------------------------------------------------
// Mailbox commands

/** RFC 9051 §6.3.11 / RFC 7162 §3.1.8 / RFC 8438 / RFC 7889 / RFC 8474 §4 status-att */
export type StatusItem =
  | "MESSAGES"
  | "UIDNEXT"
  | "UIDVALIDITY"
  | "UNSEEN"
  | "DELETED"
  | "SIZE"
  | "HIGHESTMODSEQ"
  | "RECENT"
  | "APPENDLIMIT"
  | "MAILBOXID";

/** RFC 7162 §3.2.5 QRESYNC select parameter */
export interface QresyncParams {
  uidValidity: number;
  modseq: bigint;
  /** known-uids; null when absent */
  knownUids: SequenceSet | null;
  /** seq-match-data: (known-sequence-set known-uid-set); null when absent */
  seqMatch: { seqs: SequenceSet; uids: SequenceSet } | null;
}

export interface SelectCommand {
  name: "SELECT" | "EXAMINE";
  mailbox: MailboxName;
  /** (CONDSTORE) select parameter, RFC 7162 §3.1.8 */
  condstore: boolean;
  qresync: QresyncParams | null;
}

/** RFC 5258 §3.1 list-select-opts (base option `\`-less, upper-case) */
export interface ListSelection {
  subscribed: boolean;
  remote: boolean;
  recursiveMatch: boolean;
  /** RFC 6154 §5.1 */
  specialUse: boolean;
}

/** RFC 5258 §3.2 list-return-opts; RFC 5819 STATUS; RFC 6154 SPECIAL-USE */
export interface ListReturn {
  children: boolean;
  subscribed: boolean;
  specialUse: boolean;
  /** RETURN (STATUS (...)) items, null when not requested */
  status: StatusItem[] | null;
}

export interface ListCommand {
  name: "LIST";
  reference: MailboxName;
  /** one or more mailbox patterns (list-mailbox: may contain % and *), as received */
  patterns: MailboxName[];
  selection: ListSelection;
  returnOpts: ListReturn;
  /** true when selection options, RETURN or a pattern list was used (RFC 5258 extended LIST) */
  extended: boolean;
}

export interface AppendMessage {
  /** flags as given (system flags canonicalised) */
  flags: string[];
  /** internal date from the date-time argument, null when absent */
  date: Date | null;
  /** the message bytes, byte-exact */
  data: Buffer;
  /** sent as literal8 `~{n}` (RFC 3516 §4.4): may contain NUL; server may answer [UNKNOWN-CTE] */
  binary: boolean;
  /** sent in the `UTF8 (~{n})` form (RFC 6855 §4) */
  utf8: boolean;
  /** RFC 4469 CATENATE form: the parts to assemble (then `data` is empty until resolved) */
  catenate?: CatenatePart[];
}

/** RFC 4469 §5 cat-part */
export type CatenatePart = { type: "TEXT"; data: Buffer; binary: boolean } | { type: "URL"; url: string };

/** RFC 5465 §6 filter-mailboxes (keywords upper-cased; names as sent, decoded by the server) */
export type NotifyFilter =
  | { kind: "SELECTED" | "SELECTED-DELAYED" | "INBOXES" | "PERSONAL" | "SUBSCRIBED" }
  | { kind: "SUBTREE" | "MAILBOXES"; names: MailboxName[] };
/** RFC 5465 §5 event (name upper-cased); fetch: MessageNew's fetch attributes, if given */
export interface NotifyEvent {
  name: string;
  fetch: FetchAtt[] | null;
}
/** RFC 5465 §3.1 event-group; events [] = NONE */
export interface NotifyGroup {
  filter: NotifyFilter;
  events: NotifyEvent[];
}

export type Command =
  | { name: "CAPABILITY" }
  /** RFC 5465 §3: set null = NOTIFY NONE */
  | { name: "NOTIFY"; set: { status: boolean; groups: NotifyGroup[] } | null }
  | { name: "NOOP" }
  | { name: "LOGOUT" }
  | { name: "STARTTLS" }
  /** RFC 5464 §4.2: entries lower-cased and validated (§3.2); maxSize null = no MAXSIZE */
  | {
      name: "GETMETADATA";
      mailbox: MailboxName;
      maxSize: number | null;
      depth: 0 | 1 | "infinity";
      entries: string[];
    }
  /** RFC 5464 §4.3: value null = remove the entry */
  | { name: "SETMETADATA"; mailbox: MailboxName; entries: Array<{ name: string; value: Buffer | null }> }
  /** RFC 4314 §3.1: op from the mod-rights prefix ("+" add, "-" remove, none: replace) */
  | { name: "SETACL"; mailbox: MailboxName; identifier: string; op: "set" | "add" | "remove"; rights: string }
  | { name: "DELETEACL" | "LISTRIGHTS"; mailbox: MailboxName; identifier: string }
  | { name: "GETACL" | "MYRIGHTS"; mailbox: MailboxName }
  /** RFC 4467 §7: mechanisms upper-cased; URLs as sent (ASCII) */
  | { name: "GENURLAUTH"; items: Array<{ url: string; mechanism: string }> }
  | { name: "RESETKEY"; mailbox: MailboxName | null; mechanisms: string[] }
  | { name: "URLFETCH"; urls: string[] }
  /** RFC 4978 §3: COMPRESS mechanism (upper-cased) */
  | { name: "COMPRESS"; mechanism: string }
  /** RFC 9051 §6.2.2; SASL-IR RFC 4959: initialResponse decoded from base64 ("=" → empty buffer), null if absent */
  | { name: "AUTHENTICATE"; mechanism: string; initialResponse: Buffer | null }
  | { name: "LOGIN"; username: string; password: string }
  /** RFC 5161: capability names upper-cased */
  | { name: "ENABLE"; capabilities: string[] }
  /** RFC 2971: null = ID NIL; values may be null */
  | { name: "ID"; params: Array<[string, string | null]> | null }
  | { name: "NAMESPACE" }
  | SelectCommand
  /** RFC 6154 §5.2 / RFC 9051 §6.3.4: CREATE name (USE (\Drafts ...)) */
  | { name: "CREATE"; mailbox: MailboxName; specialUse: string[] }
  | { name: "DELETE"; mailbox: MailboxName }
  | { name: "RENAME"; from: MailboxName; to: MailboxName }
  | { name: "SUBSCRIBE"; mailbox: MailboxName }
  | { name: "UNSUBSCRIBE"; mailbox: MailboxName }
  | ListCommand
  | { name: "LSUB"; reference: MailboxName; pattern: MailboxName }
  | { name: "STATUS"; mailbox: MailboxName; items: StatusItem[] }
  /** one message, or several with MULTIAPPEND (RFC 3502) */
  | { name: "APPEND"; mailbox: MailboxName; messages: AppendMessage[] }
  | { name: "IDLE" }
  | { name: "CHECK" }
  | { name: "CLOSE" }
  | { name: "UNSELECT" }
  /** EXPUNGE (uidSet null) or UID EXPUNGE set (RFC 4315 §2.1) */
  | { name: "EXPUNGE"; uidSet: SequenceSet | null }
  | SearchCommand
  | FetchCommand
  | StoreCommand
  | { name: "COPY" | "MOVE"; uid: boolean; set: SequenceSet; mailbox: MailboxName }
  /** RFC 8508: seq is a UID in the UID form */
  | { name: "REPLACE"; uid: boolean; seq: SeqNumber; mailbox: MailboxName; message: AppendMessage }
  | SortCommand
  | ThreadCommand
  /** RFC 5267 §4.3.5: the tags (quoted strings) of the searching commands whose updates stop */
  | { name: "CANCELUPDATE"; tags: string[] }
  /** RFC 9208 §4.2 */
  | { name: "GETQUOTA"; root: string }
  | { name: "GETQUOTAROOT"; mailbox: MailboxName }
  /** RFC 9208 §4.3: resource names upper-cased */
  | { name: "SETQUOTA"; root: string; limits: Array<{ resource: string; limit: bigint }> };

export type CommandName = Command["name"];

/** Commands that take a UID prefix (RFC 9051 §6.4.9, RFC 4315, RFC 6851, RFC 5256). */
export const UID_COMMANDS: ReadonlySet<string> = new Set([
  "FETCH",
  "STORE",
  "COPY",
  "MOVE",
  "SEARCH",
  "EXPUNGE",
  "SORT",
  "THREAD",
  "REPLACE",
]);
