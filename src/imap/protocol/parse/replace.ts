/**
 * REPLACE (RFC 8508 §5):
 *   replace     = "REPLACE" SP seq-number SP mailbox append-message
 *   uid-replace = "UID" SP replace
 * (the seq-number is a UID in the UID form, RFC 8508 §3.2).
 */
import type { Command } from "../commands.ts";
import { parseAppendMessage } from "./mailbox.ts";
import { type Cursor, parseMailbox, parseSeqNumber, sp } from "./primitives.ts";

export function parseReplace(c: Cursor, uid: boolean): Command {
  sp(c);
  const seq = parseSeqNumber(c);
  sp(c);
  const mailbox = parseMailbox(c);
  sp(c);
  return { name: "REPLACE", uid, seq, mailbox, message: parseAppendMessage(c) };
}
