/**
 * THREAD and UID THREAD (RFC 5256 §3, §4): THREAD=ORDEREDSUBJECT, THREAD=REFERENCES and THREAD=REFS
 * (draft-ietf-morg-inthread §4; see ../threading.ts). The search
 * program runs through the shared search evaluator (so charset and criteria behave as for SEARCH
 * and SORT); the matches are then threaded by the pure functions of ../threading.ts.
 *
 * Inputs come from the cached parse (envelope: Date, Subject, Message-ID, In-Reply-To); REFERENCES
 * and REFS also need the References field, read from the message's header bytes only (never the body).
 */
import { headerValues, parseDate, threadSubject } from "../../../mime/index.ts";
import type { ParsedMessage } from "../../../mime/types.ts";
import type { MessageMeta } from "../../../store/types.ts";
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

const CHUNK = 500;
/** References kept per message (the newest): bounds the linking work of a pathological header */
const MAX_REFERENCES = 1000;
/** msg-id = "<" id-left "@" id-right ">" (RFC 5322 §3.6.4), taken loosely: linear, no backtracking */
const MSG_ID = /<[^<>\s]{1,250}>/g;

export const THREAD_ALGORITHMS = ["ORDEREDSUBJECT", "REFERENCES", "REFS"] as const;

function msgIds(text: string | null): string[] {
  return text ? (text.match(MSG_ID) ?? []) : [];
}

/** The blob's top-level header bytes (offsets of ParsedMessage are relative to the blob). */
async function headerBytes(
  s: Session,
  mailboxId: number,
  uid: number,
  p: ParsedMessage,
): Promise<Uint8Array> {
  const m = await s.store.openMessage(mailboxId, uid);
  const parts: Uint8Array[] = [];
  for await (const chunk of m.blob({ start: 0, end: p.root.bodyStart })) parts.push(chunk);
  return Buffer.concat(parts);
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
  const msgs: ThreadMessage[] = [];
  for (let i = 0; i < matched.length; i += CHUNK) {
    const metas: MessageMeta[] = await s.store.getMessages(v.mailboxId, matched.slice(i, i + CHUNK));
    for (const m of metas) {
      const p = await s.store.getParsed(m.blobId);
      const env = p.envelope;
      const subj = threadSubject(env.subject ?? "");
      // RFC 5256 §2.2: the Date header (timezone applied), else the internal date
      const date = parseDate(env.date) ?? m.internalDate.getTime();
      let references: string[] = [];
      if (refs) {
        try {
          references = msgIds(
            headerValues(await headerBytes(s, v.mailboxId, m.uid, p), p, "references").join(" "),
          );
        } catch {
          references = []; // expunged meanwhile, or unreadable: threaded without references
        }
        // RFC 5256 §3 REFERENCES 1.A: without (valid) References, the first msg-id of In-Reply-To
        if (references.length === 0) references = msgIds(env.inReplyTo).slice(0, 1);
        else if (references.length > MAX_REFERENCES) references = references.slice(-MAX_REFERENCES);
      }
      msgs.push({
        id: m.uid,
        date,
        subject: subj.subject,
        reply: subj.reply,
        messageId: msgIds(env.messageId)[0] ?? null,
        references,
      });
    }
  }
  const roots =
    cmd.algorithm === "REFS"
      ? refsThreads(msgs)
      : cmd.algorithm === "REFERENCES"
        ? referencesThreads(msgs)
        : orderedSubject(msgs);
  const lists = formatThreads(roots, (m) => (cmd.uid ? m.id : v.seqOf(m.id)));
  // RFC 5256 §4: thread-data = "THREAD" [SP 1*thread-list]
  await s.write(`* THREAD${lists === "" ? "" : " " + lists}\r\n`);
  return { code: null, text: "THREAD completed" };
}
