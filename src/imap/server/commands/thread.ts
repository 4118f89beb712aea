/**
 * THREAD and UID THREAD (RFC 5256 §3, §4): THREAD=ORDEREDSUBJECT, THREAD=REFERENCES and THREAD=REFS
 * (draft-ietf-morg-inthread §4; see ../threading.ts). The search
 * program runs through the shared search evaluator (so charset and criteria behave as for SEARCH
 * and SORT); the matches are then threaded by the pure functions of ../threading.ts.
 *
 * Inputs come from the store's per-blob THREAD inputs (Message-ID, References else the first
 * In-Reply-To id, base subject, sent date): one query for the whole mailbox, recorded at append
 * (store/domain/thread-inputs.ts), so no message is parsed or read here. UID THREAD answers are
 * kept for reuse while the matched uids stay the same (below).
 */
import type { ThreadCommand } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import { bad } from "../errors.ts";
import type { SelectedState, Session } from "../session.ts";
import {
  formatThreads,
  orderedSubject,
  referencesThreads,
  refsThreads,
  type ThreadMessage,
} from "../threading.ts";
import { runSearch } from "./search.ts";

export const THREAD_ALGORITHMS = ["ORDEREDSUBJECT", "REFERENCES", "REFS"] as const;

const NO_REFS: string[] = [];

/**
 * Recent UID THREAD answers per store, by mailbox, UIDVALIDITY and algorithm. An answer depends
 * only on the matched messages, and a message's inputs never change while its uid lives (uids are
 * not reused within a UIDVALIDITY, RFC 9051 §2.3.1.1): the same matched uids give the same answer,
 * whatever changed in the mailbox meanwhile (flags, other messages). Bounded: a few entries of one
 * uid array and one response line each.
 */
const CACHE_ENTRIES = 4;
interface Cached {
  uids: Uint32Array;
  lists: string;
}
const answers = new WeakMap<object, Map<string, Cached>>();

function sameUids(a: Uint32Array, b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function thread(
  s: Session,
  _tag: string,
  cmd: ThreadCommand,
  st: SelectedState,
): Promise<OkResult> {
  // RFC 5256 §3: an algorithm the server does not support is an invalid argument
  if (!(THREAD_ALGORITHMS as readonly string[]).includes(cmd.algorithm)) {
    throw bad(`Unsupported threading algorithm ${cmd.algorithm}`);
  }
  // REFERENCES and REFS link by the References field; ORDEREDSUBJECT needs only the envelope
  const refs = cmd.algorithm !== "ORDEREDSUBJECT";
  const v = st.view;
  const { matched } = await runSearch(s, cmd.search, cmd.charset);
  let cache = answers.get(s.store);
  const key = `${v.mailboxId}:${v.uidValidity}:${cmd.algorithm}`;
  const hit = cmd.uid ? cache?.get(key) : undefined;
  if (hit && sameUids(hit.uids, matched)) {
    await s.write(`* THREAD${hit.lists === "" ? "" : " " + hit.lists}\r\n`);
    return { code: null, text: "THREAD completed" };
  }
  const inp = await s.store.threadInputs(v.mailboxId);
  const at = new Map<number, number>();
  for (let i = 0; i < inp.uid.length; i++) at.set(inp.uid[i]!, i);
  const msgs: ThreadMessage[] = [];
  for (const uid of matched) {
    const i = at.get(uid);
    if (i === undefined) continue; // expunged meanwhile
    const r = inp.refs[i]!;
    msgs.push({
      id: uid,
      date: inp.date[i]!,
      subject: inp.subject[i]!,
      reply: inp.reply[i] === 1,
      messageId: inp.messageId[i]!,
      references: refs && r !== "" ? r.split(" ") : NO_REFS,
    });
  }
  const roots =
    cmd.algorithm === "REFS"
      ? refsThreads(msgs)
      : cmd.algorithm === "REFERENCES"
        ? referencesThreads(msgs)
        : orderedSubject(msgs);
  const lists = formatThreads(roots, (m) => (cmd.uid ? m.id : v.seqOf(m.id)));
  if (cmd.uid && inp.complete && msgs.length === matched.length) {
    if (!cache) {
      cache = new Map();
      answers.set(s.store, cache);
    }
    cache.delete(key);
    cache.set(key, { uids: Uint32Array.from(matched), lists });
    if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  }
  // RFC 5256 §4: thread-data = "THREAD" [SP 1*thread-list]
  await s.write(`* THREAD${lists === "" ? "" : " " + lists}\r\n`);
  return { code: null, text: "THREAD completed" };
}
