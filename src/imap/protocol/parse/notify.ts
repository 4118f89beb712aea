/**
 * NOTIFY (RFC 5465 §8):
 *   notify          = "NOTIFY" SP (notify-set / notify-none)
 *   notify-none     = "NONE"
 *   notify-set      = "SET" [status-indicator] SP event-groups
 *   status-indicator = SP "STATUS"
 *   event-groups    = event-group *(SP event-group)
 *   event-group     = "(" filter-mailboxes SP events ")"
 *   filter-mailboxes = "selected" / "selected-delayed" / "inboxes" / "personal" / "subscribed" /
 *                      ("subtree" SP one-or-more-mailbox) / ("mailboxes" SP one-or-more-mailbox)
 *   one-or-more-mailbox = mailbox / many-mailboxes;  many-mailboxes = "(" mailbox *(SP mailbox) ")"
 *   events          = ( "(" event *(SP event) ")" ) / "NONE"
 *   event           = message-event / mailbox-event / user-event / event-ext
 *   message-event   = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) / "MessageExpunge" /
 *                     "FlagChange" / "AnnotationChange"
 *   event-ext       = atom   (unknown events parse; the server answers NO [BADEVENT])
 * The semantic rules (which events go together, fetch-att only for the selected mailbox) are the
 * server's (imap/server/notify-spec.ts): they answer BAD or NO, not a syntax error.
 */
import type { Command, NotifyEvent, NotifyFilter, NotifyGroup } from "../commands.ts";
import { parseFetchAtt } from "./fetch.ts";
import {
  type Cursor,
  expectByte,
  keyword,
  LPAREN,
  ParseError,
  parenList,
  parseMailbox,
  RPAREN,
  SP,
  sp,
  tryByte,
} from "./primitives.ts";

/** event groups per NOTIFY SET; mailboxes per filter (bounded command work) */
const MAX_GROUPS = 64;
const MAX_MAILBOXES = 1000;

function parseMailboxes(c: Cursor): string[] {
  if (c.peek() === LPAREN) {
    const names = parenList(c, parseMailbox, false, "mailbox list");
    if (names.length > MAX_MAILBOXES) throw new ParseError("Too many mailboxes in one filter");
    return names;
  }
  return [parseMailbox(c)];
}

function parseFilter(c: Cursor): NotifyFilter {
  const f = keyword(c);
  switch (f) {
    case "SELECTED":
    case "SELECTED-DELAYED":
    case "INBOXES":
    case "PERSONAL":
    case "SUBSCRIBED":
      return { kind: f };
    case "SUBTREE":
    case "MAILBOXES":
      sp(c);
      return { kind: f, names: parseMailboxes(c) };
    default:
      throw new ParseError(`Unknown NOTIFY filter ${f}`);
  }
}

function parseEvent(c: Cursor): NotifyEvent {
  const name = keyword(c);
  if (name === "MESSAGENEW" && c.peek() === SP) {
    // "MessageNew" SP "(" fetch-att ... ")": the only event with arguments (else SP starts the next event)
    const save = c.pos;
    c.advance();
    if (c.peek() === LPAREN)
      return { name, fetch: parenList(c, parseFetchAtt, false, "MessageNew fetch attributes") };
    c.pos = save;
  }
  return { name, fetch: null };
}

function parseGroup(c: Cursor): NotifyGroup {
  expectByte(c, LPAREN, '"(" starting an event group');
  c.enter();
  const filter = parseFilter(c);
  sp(c);
  let events: NotifyEvent[] = [];
  if (c.peek() === LPAREN) events = parenList(c, parseEvent, false, "event list");
  else if (keyword(c) !== "NONE") throw new ParseError("Expected an event list or NONE");
  expectByte(c, RPAREN, '")" ending an event group');
  c.leave();
  return { filter, events };
}

export function parseNotify(c: Cursor): Command {
  sp(c);
  const verb = keyword(c);
  if (verb === "NONE") return { name: "NOTIFY", set: null };
  if (verb !== "SET") throw new ParseError("NOTIFY takes SET or NONE");
  sp(c);
  let status = false;
  if (c.peek() !== LPAREN) {
    if (keyword(c) !== "STATUS") throw new ParseError("Expected STATUS or an event group");
    status = true;
    sp(c);
  }
  const groups: NotifyGroup[] = [parseGroup(c)];
  while (tryByte(c, SP)) {
    if (groups.length >= MAX_GROUPS) throw new ParseError("Too many NOTIFY event groups");
    groups.push(parseGroup(c));
  }
  return { name: "NOTIFY", set: { status, groups } };
}
