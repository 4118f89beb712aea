/**
 * TRANSACTION-state commands (RFC 1939 §5) and QUIT's UPDATE state (§6). Each gets the narrowed
 * TransactionState from the command table, so the account and the maildrop are always there.
 */
import type { MessageContent } from "../../store/types.ts";
import { StoreError } from "../../store/types.ts";
import { type Pop3Command, parseLineCount, parseMsgNumber } from "../protocol/command.ts";
import { DotStuffer, isCrlfOnly, topEnd } from "../protocol/message.ts";
import { err, multiline, ok } from "../protocol/response.ts";
import { bad, Pop3Error } from "./errors.ts";
import type { Entry } from "./maildrop.ts";
import type { Session } from "./session.ts";
import type { TransactionState } from "./state.ts";

/** RETR streams the message in slices of this size */
const SLICE = 64 * 1024;
/** a body up to this size is queued whole with the other pipelined responses (one writev) */
const BATCH_BODY_MAX = 256 * 1024;
/** RETR of a message at least this large streams it from the store (never whole in memory) */
const STREAM_MIN = 1024 * 1024;

/** RFC 1939 §5: a message-number must exist and not be marked deleted */
function entry(st: TransactionState, arg: string | undefined): [number, Entry] {
  const n = parseMsgNumber(arg);
  if (n === null) throw bad("Invalid message number");
  const e = st.maildrop.get(n);
  if (!e) throw new Pop3Error(`There is no message ${n}`);
  if (e.deleted) throw new Pop3Error(`Message ${n} is already deleted`);
  return [n, e];
}

export async function stat(s: Session, st: TransactionState): Promise<void> {
  const d = st.maildrop;
  const live = [...d.live()].map(([, e]) => e);
  await d.ensureSizes(live);
  const size = live.reduce((a, e) => a + (e.size ?? 0), 0);
  s.send(ok(`${live.length} ${size}`)); // RFC 1939 §5 drop listing
}

export async function list(s: Session, st: TransactionState, c: Pop3Command): Promise<void> {
  const d = st.maildrop;
  if (c.args.length > 1) throw bad("Too many arguments");
  if (c.args.length === 1) {
    const [n, e] = entry(st, c.args[0]);
    await d.ensureSizes([e]);
    s.send(ok(`${n} ${e.size}`));
    return;
  }
  const live = [...d.live()];
  await d.ensureSizes(live.map(([, e]) => e));
  const total = live.reduce((a, [, e]) => a + (e.size ?? 0), 0);
  s.send(
    multiline(
      `${live.length} messages (${total} octets)`,
      live.map(([n, e]) => `${n} ${e.size}`),
    ),
  );
}

export function uidl(s: Session, st: TransactionState, c: Pop3Command): void {
  const d = st.maildrop;
  if (c.args.length > 1) throw bad("Too many arguments");
  if (c.args.length === 1) {
    const [n, e] = entry(st, c.args[0]);
    s.send(ok(`${n} ${d.uidl(e)}`));
    return;
  }
  s.send(
    multiline(
      "Unique-ID listing follows",
      [...d.live()].map(([n, e]) => `${n} ${d.uidl(e)}`),
    ),
  );
}

/** a message expunged meanwhile by IMAP gets a clear -ERR */
function removedMeanwhile(x: unknown, n: number): unknown {
  if (x instanceof StoreError && (x.code === "NOTFOUND" || x.code === "NONEXISTENT")) {
    return new Pop3Error(`Message ${n} was removed from the mailbox by another session`);
  }
  return x;
}

async function readEntry(st: TransactionState, n: number, e: Entry): Promise<Uint8Array> {
  try {
    return await st.maildrop.read(e);
  } catch (x) {
    throw removedMeanwhile(x, n);
  }
}

/** streams bytes as a dot-stuffed multi-line body with backpressure (RFC 1939 §3) */
async function streamBody(s: Session, first: string, body: Uint8Array, crlfOnly = false): Promise<void> {
  s.send(first);
  const stuffer = new DotStuffer({ crlfOnly });
  if (body.length <= BATCH_BODY_MAX) {
    // queued with the other pipelined responses; the pump flushes at FLUSH_AT or when input is drained
    for (const part of stuffer.transformParts(body)) s.send(part);
    s.send(stuffer.finish());
    return;
  }
  await s.flush();
  for (let off = 0; off < body.length && !s.isClosed; off += SLICE) {
    await s.write(stuffer.transform(body.subarray(off, Math.min(off + SLICE, body.length))));
  }
  s.send(stuffer.finish());
}

export async function retr(s: Session, st: TransactionState, c: Pop3Command): Promise<void> {
  if (c.args.length !== 1) throw bad("RETR needs one message number");
  const [n, e] = entry(st, c.args[0]);
  if (e.size !== null && e.storeSize >= STREAM_MIN) {
    await retrStream(s, st, n, e, e.size);
    e.retrieved = true;
    return;
  }
  const raw = await readEntry(st, n, e);
  // e.size is exact once read (recorded at append, or computed by read())
  await streamBody(s, ok(`${e.size} octets`), raw, e.size !== null && isCrlfOnly(raw, e.size));
  e.retrieved = true;
}

/**
 * RETR of a large message: prefix, then the blob in chunks through the dot-stuffer, each write
 * honouring backpressure, so a 50 MB message is never held in memory. The first chunk is read
 * before "+OK": a message collected meanwhile still gets a clean -ERR.
 */
async function retrStream(
  s: Session,
  st: TransactionState,
  n: number,
  e: Entry,
  size: number,
): Promise<void> {
  let it: AsyncIterator<Uint8Array>;
  let first: IteratorResult<Uint8Array>;
  let m: MessageContent;
  try {
    m = await s.ctx.opts.store.openMessage(st.maildrop.mailboxId, e.uid);
    it = m.blob()[Symbol.asyncIterator]();
    first = await it.next();
  } catch (x) {
    throw removedMeanwhile(x, n);
  }
  s.send(ok(`${size} octets`));
  await s.flush();
  // RFC 1939 §3: CRLF-only content (size = stored size) takes the dot-stuffer's fast path
  const stuffer = new DotStuffer({ crlfOnly: size === m.size });
  try {
    if (m.prefix.byteLength > 0) await s.write(stuffer.transform(m.prefix));
    // one iteration per chunk of the blob; ends at its end or when the connection closed
    for (let r = first; !r.done && !s.isClosed; r = await it.next())
      await s.write(stuffer.transform(r.value));
  } catch (x) {
    // the response is half sent: nothing sensible can follow it on this connection
    s.log.error(s.logCtx({ err: String(x) }), "pop3 RETR stream failed");
    s.abort();
    return;
  } finally {
    await it.return?.();
  }
  s.send(stuffer.finish());
}

export async function top(s: Session, st: TransactionState, c: Pop3Command): Promise<void> {
  if (c.args.length !== 2) throw bad("TOP needs a message number and a line count");
  const lines = parseLineCount(c.args[1]);
  if (lines === null) throw bad("Invalid line count");
  const [n, e] = entry(st, c.args[0]);
  const raw = await readEntry(st, n, e);
  await streamBody(s, ok("Top of message follows"), raw.subarray(0, topEnd(raw, lines)));
}

export function dele(s: Session, st: TransactionState, c: Pop3Command): void {
  if (c.args.length !== 1) throw bad("DELE needs one message number");
  const [n, e] = entry(st, c.args[0]);
  e.deleted = true; // RFC 1939 §5: only marked; removed in the UPDATE state
  s.send(ok(`Message ${n} deleted`));
}

export function rset(s: Session, st: TransactionState): void {
  const d = st.maildrop;
  d.reset();
  s.send(ok(`Maildrop has ${d.entries.length} messages`));
}

/**
 * QUIT in TRANSACTION: the UPDATE state (RFC 1939 §6). The maildrop lock is released before the
 * final reply, so a client that reconnects on that reply never meets its own lease ([IN-USE]) —
 * on PostgreSQL the release is a database round trip.
 */
export async function quit(s: Session, st: TransactionState): Promise<void> {
  s.enterUpdate(st);
  const { account, maildrop, lock } = st;
  let reply: string;
  try {
    // settings are read fresh: a change made while the session ran is effective immediately
    const fresh = (await s.ctx.opts.store.getAccountById(account.id)) ?? account;
    const mode = fresh.settings.pop3Delete;
    const r = await maildrop.apply(account.id, mode);
    s.log.info(s.logCtx({ deleted: r.requested, removed: r.removed, mode }), "pop3 logout");
    reply = ok(
      `Bye, ${r.requested} message${r.requested === 1 ? "" : "s"} ${mode === "keep-read" ? "marked read" : "deleted"}`,
    );
  } catch (e) {
    s.log.error(s.logCtx({ err: (e as Error)?.stack ?? String(e) }), "pop3 update failed");
    reply = err("Some deleted messages were not removed", "SYS/TEMP"); // RFC 1939 §6
  }
  // RFC 1939 §6: the UPDATE state ends the session: the lock goes (awaited) before the +OK
  await lock.release();
  s.send(reply);
  s.closeAfterResponses();
}
