/**
 * RFC 5256 THREAD/SORT inputs per blob: the Message-ID, the References ids (else the first
 * In-Reply-To id, REFERENCES step 1.A), the §2.1 base subject and the sent date (§2.2). Computed
 * once — at append (messages-write.ts, same transaction as the message row) or, for blobs stored
 * before the `thread_input` table existed, on the first read here (then stored) — so that a THREAD
 * or SORT over a large mailbox is one query instead of a parse-cache read and a blob read per
 * message.
 */
import type { ParsedMessage } from "../../mime/types.ts";
import type { BlobStore } from "../blob/port.ts";
import type { ThreadInputColumns, ThreadInputRow } from "../db/port.ts";
import type { MimeFns } from "../mime-fns.ts";
import { type Id, StoreError, type ThreadInputs } from "../types.ts";
import type { DomainDeps } from "./context.ts";
import { msgIds } from "./threads.ts";

/** bump when what is derived changes: rows of older versions are recomputed on read */
export const THREAD_INPUT_VERSION = 1;
/** References kept per message (the newest): bounds the linking work of a pathological header */
const MAX_REFERENCES = 1000;
/** blobs computed and stored per write transaction when filling in rows for old data */
const FILL_BATCH = 500;

export type ThreadMime = Pick<MimeFns, "headerValues" | "threadSubject" | "parseDate">;

/**
 * The inputs of one message. `raw` holds at least the blob's top-level header (the offsets of
 * `parsed` are relative to the blob); References is read from it, the rest from the envelope.
 */
export function threadInputOf(
  mime: ThreadMime,
  raw: Uint8Array | null,
  parsed: ParsedMessage,
): ThreadInputRow {
  const env = parsed.envelope;
  let refs: string[] = [];
  if (raw !== null) {
    try {
      refs = msgIds(mime.headerValues(raw, parsed, "references").join(" "));
    } catch {
      refs = []; // unreadable header: threaded without references
    }
  }
  // RFC 5256 §3 REFERENCES 1.A: without (valid) References, the first msg-id of In-Reply-To
  if (refs.length === 0) refs = msgIds(env.inReplyTo).slice(0, 1);
  else if (refs.length > MAX_REFERENCES) refs = refs.slice(-MAX_REFERENCES);
  const subj = mime.threadSubject(env.subject ?? "");
  return {
    messageId: msgIds(env.messageId)[0] ?? null,
    // a msg-id holds no white space (msgIds), so a space separates them unambiguously
    refs: refs.join(" "),
    subject: subj.subject,
    reply: subj.reply,
    sentDate: mime.parseDate(env.date),
  };
}

export interface ThreadInputDeps extends Pick<DomainDeps, "db"> {
  blobs: Pick<BlobStore, "stream">;
  mime: ThreadMime;
  getParsed(sha256: string): Promise<ParsedMessage>;
}

export class ThreadInputReader {
  readonly #d: ThreadInputDeps;

  constructor(deps: ThreadInputDeps) {
    this.#d = deps;
  }

  /** Store.threadInputs: every message of the mailbox, uid order, rows of old blobs filled in. */
  async threadInputs(mailboxId: Id): Promise<ThreadInputs> {
    const c = await this.#d.db.read(async (q) => {
      if (!(await q.mailboxes.core(mailboxId))) throw new StoreError("NONEXISTENT", "no such mailbox");
      return q.threadInputs.ofMailbox(mailboxId, THREAD_INPUT_VERSION);
    });
    const complete = await this.#fill(c);
    const n = c.uid.length;
    const date = new Array<number>(n);
    // RFC 5256 §2.2: the Date header, else the internal date
    for (let i = 0; i < n; i++) date[i] = c.sentDate[i] ?? c.internalDate[i]!;
    return {
      uid: c.uid,
      date,
      messageId: c.messageId,
      refs: c.refs,
      subject: c.subject,
      reply: c.reply,
      complete,
    };
  }

  /** computes (and stores) the rows missing for blobs stored before the table existed */
  async #fill(c: ThreadInputColumns): Promise<boolean> {
    const missing = new Map<number, number[]>(); // blob id → indexes
    for (let i = 0; i < c.uid.length; i++) {
      if (c.has[i]) continue;
      const b = c.blobId[i]!;
      const at = missing.get(b);
      if (at) at.push(i);
      else missing.set(b, [i]);
    }
    if (missing.size === 0) return true;
    let complete = true;
    const blobs = [...missing.keys()];
    for (let k = 0; k < blobs.length; k += FILL_BATCH) {
      const done: Array<[number, ThreadInputRow]> = [];
      for (const blobId of blobs.slice(k, k + FILL_BATCH)) {
        const at = missing.get(blobId)!;
        const row = await this.#compute(c.sha256[at[0]!]!);
        if (row === null) {
          complete = false; // unreadable now: answered without inputs, not stored
          continue;
        }
        for (const i of at) {
          c.messageId[i] = row.messageId;
          c.refs[i] = row.refs;
          c.subject[i] = row.subject;
          c.reply[i] = row.reply ? 1 : 0;
          c.sentDate[i] = row.sentDate;
        }
        done.push([blobId, row]);
      }
      if (done.length === 0) continue;
      // a cache of what the blob determines: a failed store is computed again next time
      await this.#d.db
        .write(async (tx) => {
          for (const [blobId, row] of done) await tx.threadInputs.put(blobId, THREAD_INPUT_VERSION, row);
        })
        .catch(() => {});
    }
    return complete;
  }

  async #compute(sha256: string): Promise<ThreadInputRow | null> {
    let parsed: ParsedMessage;
    try {
      parsed = await this.#d.getParsed(sha256);
    } catch {
      return null; // swept meanwhile (the message was expunged)
    }
    // the header bytes only, never the body
    const parts: Uint8Array[] = [];
    try {
      for await (const chunk of this.#d.blobs.stream(sha256, { start: 0, end: parsed.root.bodyStart })) {
        parts.push(chunk);
      }
    } catch {
      return null;
    }
    return threadInputOf(this.#d.mime, Buffer.concat(parts), parsed);
  }
}
