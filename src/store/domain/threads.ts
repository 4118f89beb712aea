/**
 * Thread ids from Message-ID / In-Reply-To / References (RFC 5256 §2.2 style, simplified): a new
 * message joins the thread of the newest referenced message the account knows, else starts one.
 * References (Message-ID → thread) are kept per account through the db port (`threads.*`); the
 * pruning job removes those whose thread has no message left.
 */
import type { ParsedMessage } from "../../mime/types.ts";
import type { MimeFns } from "../mime-fns.ts";
import type { Id } from "../types.ts";
import type { TxContext } from "./context.ts";

const MSGID_RE = /<[^<>\s]{1,250}>/g;
/** references kept per message (the newest ones) */
const MAX_REFS = 50;

/** the msg-ids in a header value (RFC 5322 §3.6.4, taken loosely: linear, no backtracking) */
export function msgIds(text: string | null | undefined): string[] {
  if (!text) return [];
  return text.match(MSGID_RE) ?? [];
}

/** The message's own Message-ID and the ids it refers to (References, then In-Reply-To). */
export function threadKeys(
  mime: MimeFns,
  raw: Uint8Array,
  parsed: ParsedMessage,
): { own: string | null; refs: string[] } {
  const own = msgIds(parsed.envelope.messageId)[0] ?? null;
  let refs: string[] = [];
  try {
    refs = msgIds(mime.headerValues(raw, parsed, "references").join(" "));
  } catch {
    refs = [];
  }
  for (const id of msgIds(parsed.envelope.inReplyTo)) if (!refs.includes(id)) refs.push(id);
  return { own, refs: refs.slice(-MAX_REFS) };
}

/** The thread of a new Email (emailId "M…"), recorded in the change log and the references. */
export async function threadFor(
  t: TxContext,
  accountId: Id,
  keys: { own: string | null; refs: string[] },
  emailId: string,
): Promise<string> {
  const order = keys.own ? [keys.own, ...keys.refs.toReversed()] : keys.refs.toReversed();
  let thread = order.length > 0 ? await t.tx.threads.find(accountId, order) : null;
  if (thread === null) {
    thread = "T" + emailId.slice(1);
    t.changes.touch(accountId, "thread", thread, "create");
  } else if (!t.changes.has(accountId, "thread", thread)) {
    // a reference can outlive its thread's last message until pruned: then it is new again
    const existed = await t.tx.messages.holds(accountId, "thread", thread);
    t.changes.touch(accountId, "thread", thread, existed ? "update" : "create");
  }
  const put = keys.own ? [keys.own, ...keys.refs] : keys.refs;
  if (put.length > 0) await t.tx.threads.put(accountId, put, thread);
  return thread;
}
