/**
 * The message write paths over the db and blob ports: append (the one delivery path: IMAP APPEND,
 * SMTP local delivery and `postkontor deliver` all end here), flags, expunge, copy, move.
 *
 * Appends and message changes are grouped writes (`db.write(fn, { group: true })`): the group
 * commit is the SQLite adapter's business; the item functions here await only port operations,
 * never file or network I/O — blob contents are written (durably) before the transaction, and
 * everything that can be computed outside it (parse, search text, thread keys, sizes) is.
 */
import type { ParsedMessage } from "../../mime/types.ts";
import { sha256Hex } from "../blob/fs.ts";
import { crlfSize } from "../crlf.ts";
import type { MessageRefRow, ThreadInputRow } from "../db/port.ts";
import {
  applyFlagOp,
  FLAG_DRAFT,
  FLAG_SEEN,
  flagBits,
  flagText,
  normalizeFlags,
  parseFlagText,
  sameFlags,
} from "../flags.ts";
import type { MimeFns } from "../mime-fns.ts";
import {
  type AppendInput,
  type AppendResult,
  type CopyResult,
  type FlagOp,
  type Id,
  type ImportItem,
  type MessageFlagsRow,
  StoreError,
  type StoreFlagsResult,
} from "../types.ts";
import { type DomainDeps, type TxContext, write } from "./context.ts";
import { newObjectId } from "./object-ids.ts";
import { checkQuota } from "./quota.ts";
import { THREAD_INPUT_VERSION, threadInputOf } from "./thread-inputs.ts";
import { threadFor, threadKeys } from "./threads.ts";

/**
 * Blob writes handed to the writer threads at once per append (each holds a copy of its message
 * until written): enough to keep every thread's queue filled while the message derivations go on.
 */
const PUT_CONCURRENCY = 64;

const GROUP = { group: true } as const;

interface PreparedAppend {
  raw: Uint8Array;
  prefix: Uint8Array | null;
  size: number;
  /** octets in CRLF form, prefix included (POP3 LIST/STAT) */
  crlfSize: number;
  sha: string;
  parsed: ParsedMessage;
  text: { headers: string; body: string } | null;
  threadKeys: { own: string | null; refs: string[] };
  /** RFC 5256 THREAD/SORT inputs (thread-inputs.ts) */
  threadInput: ThreadInputRow;
  flags: string[];
  internalDate: number;
}

export function uniqueSorted(uids: readonly number[]): number[] {
  const out = [...new Set(uids.filter((u) => Number.isSafeInteger(u) && u > 0))];
  out.sort((a, b) => a - b);
  return out;
}

/**
 * Calls started one by one as items become known, at most `limit` in flight, the rest waiting in
 * order. `settled()` waits for every started and waiting call and rejects with the first failure
 * (once a call failed, the waiting ones are not started).
 */
class LimitedRunner {
  readonly #limit: number;
  readonly #waiting: Array<() => Promise<unknown>> = [];
  #running = 0;
  #failure: unknown = null;
  #idle: (() => void) | null = null;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(fn: () => Promise<unknown>): void {
    this.#waiting.push(fn);
    this.#pump();
  }

  #pump(): void {
    // bounded: each iteration starts one waiting call
    while (this.#running < this.#limit && this.#waiting.length > 0 && this.#failure === null) {
      const fn = this.#waiting.shift()!;
      this.#running++;
      fn().then(
        () => this.#done(null),
        (err: unknown) => this.#done(err ?? new Error("blob write failed")),
      );
    }
    if (this.#running === 0) this.#idle?.();
  }

  #done(err: unknown): void {
    this.#running--;
    if (err !== null && this.#failure === null) this.#failure = err;
    this.#pump();
  }

  async settled(): Promise<void> {
    if (this.#running > 0 || (this.#waiting.length > 0 && this.#failure === null))
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    if (this.#failure !== null) throw this.#failure;
  }
}

/** An append's derived data, with its blob files being written meanwhile (see #prepare). */
interface Prepared {
  items: PreparedAppend[];
  /** resolves once every blob file is durable; null when the adapter writes content in the transaction */
  written: LimitedRunner | null;
  /** ends the group-commit announcement (db.expectGroupedWrite) */
  queued: () => void;
}

async function mailboxCore(t: TxContext, mailboxId: Id) {
  const mb = await t.tx.mailboxes.core(mailboxId);
  if (!mb) throw new StoreError("NONEXISTENT", "no such mailbox");
  return mb;
}

async function quotaOf(t: TxContext, accountId: Id) {
  const q = await t.tx.accounts.quota(accountId);
  if (!q) throw new StoreError("NONEXISTENT", "no such account");
  return q;
}

export class MessageWrites {
  readonly #d: DomainDeps;
  readonly #mime: MimeFns;
  readonly #blobs: NonNullable<DomainDeps["blobs"]>;

  constructor(deps: DomainDeps) {
    if (!deps.mime || !deps.blobs)
      throw new Error("message writes need the MIME functions and the blob port");
    this.#d = deps;
    this.#mime = deps.mime;
    this.#blobs = deps.blobs;
  }

  // --- append: the one delivery path ----------------------------------------------------

  /** `announced`: an expectDelivery() announcement this append takes over (ended once its own starts) */
  async appendMany(
    accountId: Id,
    mailboxId: Id,
    givenInputs: AppendInput[],
    announced?: () => void,
  ): Promise<AppendResult[]> {
    const prepared = await this.#prepare(accountId, mailboxId, givenInputs, null, announced);
    if (prepared.items.length === 0) return [];
    return this.#writePrepared(prepared, (t) => this.#appendTx(t, accountId, mailboxId, prepared.items));
  }

  /**
   * `postkontor import`: appendMany plus one import-ledger row per item in the same transaction.
   * Keys already in the ledger are skipped before any blob is written and checked again inside the
   * transaction (another import of the same source running at once); skipped items give null.
   */
  async importMany(
    accountId: Id,
    mailboxId: Id,
    source: string,
    items: ImportItem[],
  ): Promise<Array<AppendResult | null>> {
    const db = this.#d.db;
    const known = new Set(
      await db.read((r) =>
        r.imports.known(
          accountId,
          source,
          items.map((i) => i.key),
        ),
      ),
    );
    const todo = items.filter((i) => !known.has(i.key));
    const prepared = await this.#prepare(accountId, mailboxId, todo, null);
    if (prepared.items.length === 0) return items.map(() => null);
    const stored = new Map<string, AppendResult>();
    let raced = false;
    await this.#writePrepared(prepared, async (t) => {
      // a grouped write may run twice (db/port.ts): only the run that commits fills these
      stored.clear();
      const again = new Set(
        await t.tx.imports.known(
          accountId,
          source,
          todo.map((i) => i.key),
        ),
      );
      const keep = prepared.items.filter((_, n) => !again.has(todo[n]!.key));
      const keys = todo.map((i) => i.key).filter((k) => !again.has(k));
      raced = keep.length < prepared.items.length;
      if (keep.length === 0) return;
      const results = await this.#appendTx(t, accountId, mailboxId, keep);
      const now = Date.now();
      for (let n = 0; n < results.length; n++) {
        const r = results[n]!;
        await t.tx.imports.record(accountId, source, keys[n]!, mailboxId, r.uid, now);
        stored.set(keys[n]!, r);
      }
    });
    if (raced) {
      await db.write((w) => w.blobs.dropContentWithoutRow(prepared.items.map((p) => p.sha))).catch(() => {});
    }
    return items.map((i) => stored.get(i.key) ?? null);
  }

  /**
   * REPLACE (RFC 8508 §3.3): appends `input` to dstMailboxId and removes message `uid` of
   * srcMailboxId in ONE group write, so either both happen or neither — a failing append (quota,
   * size, target gone) leaves the old message, and a vanished old message (NONEXISTENT) stores
   * nothing. The old message is removed first inside the transaction, so its octets count as
   * freed for the quota check of the new one.
   */
  async replace(
    accountId: Id,
    srcMailboxId: Id,
    uid: number,
    dstMailboxId: Id,
    input: AppendInput,
  ): Promise<AppendResult> {
    const db = this.#d.db;
    const src = await db.read((q) => q.mailboxes.core(srcMailboxId));
    if (!src || src.accountId !== accountId) throw new StoreError("NONEXISTENT", "no such mailbox");
    const [old] = await db.read((q) => q.messages.meta(srcMailboxId, [uid]));
    if (!old) throw new StoreError("NONEXISTENT", "no such message");
    const prepared = await this.#prepare(accountId, dstMailboxId, [input], { bytes: old.size, messages: 1 });
    const [res] = await this.#writePrepared(prepared, async (t) => {
      const mb = await mailboxCore(t, srcMailboxId);
      const rows = await t.tx.messages.refRows(srcMailboxId, [uid]);
      if (rows.length === 0) throw new StoreError("NONEXISTENT", "no such message");
      const modseq = await t.modseq(mb.accountId);
      await removeRows(t, mb.accountId, srcMailboxId, rows, modseq);
      await t.tx.mailboxes.touch(srcMailboxId, modseq);
      t.beacon(mb.accountId, srcMailboxId, modseq);
      return this.#appendTx(t, accountId, dstMailboxId, prepared.items);
    });
    return res!;
  }

  /**
   * The checks and work before the transaction: size limit, quota pre-check (`freed`: what the
   * same transaction removes first, REPLACE), parse, search text, thread keys.
   */
  async #prepare(
    accountId: Id,
    mailboxId: Id,
    givenInputs: AppendInput[],
    freed: { bytes: number; messages: number } | null,
    announced?: () => void,
  ): Promise<Prepared> {
    const db = this.#d.db;
    // Raw messages are stored byte-exact, except that parts holding NUL octets are stored
    // base64-encoded (RFC 3516 §4.4 allows it; IMAP literals cannot carry NUL — see
    // docs/architecture.md "Mail store"): sizes, quota and the part index describe that form
    const inputs = givenInputs.map((i) => {
      const enc = this.#mime.encodeNulParts?.(i.raw) ?? null;
      return enc ? { ...i, raw: enc } : i;
    });
    // An adapter that writes the content inside the transaction (PostgreSQL) writes nothing
    // before it, so the mailbox and quota checks there (#appendTx, which decide anyway) are all:
    // no read transactions here, each of them round trips to the database server
    const early = this.#d.contentInWrite !== true;
    // cheap checks before any blob is written
    if (early) {
      const mb = await db.read((q) => q.mailboxes.core(mailboxId));
      if (!mb || mb.accountId !== accountId) throw new StoreError("NONEXISTENT", "no such mailbox");
    }
    if (inputs.length === 0) return { items: [], written: null, queued: () => {} };
    const max = this.#d.maxMessageSize;
    const sizes = inputs.map((i) => i.raw.byteLength + (i.deliveryHeaders?.byteLength ?? 0));
    for (const s of sizes) {
      if (s > max) throw new StoreError("TOOBIG", `message exceeds the size limit of ${max} octets`);
    }
    if (early) {
      const total = sizes.reduce((a, b) => a + b, 0);
      const q = await db.read((r) => r.accounts.quota(accountId));
      if (!q) throw new StoreError("NONEXISTENT", "no such account");
      checkQuota(
        freed
          ? { ...q, usedBytes: q.usedBytes - freed.bytes, usedMessages: q.usedMessages - freed.messages }
          : q,
        total,
        inputs.length,
      );
    }
    for (const i of inputs) {
      if (i.internalDate && !Number.isFinite(i.internalDate.getTime())) {
        throw new StoreError("INVALID", "invalid internal date");
      }
    }
    // durable blob files before the transaction that references them (docs/architecture.md
    // "Mail store"), written by the writer threads while this loop derives the next messages'
    // data; announced: a group commit forming meanwhile waits a moment for this append (an
    // adapter that writes the content in the transaction itself puts nothing before it)
    const written = early ? new LimitedRunner(PUT_CONCURRENCY) : null;
    const queued = db.expectGroupedWrite();
    // this append's own announcement takes over from the caller's (expectDelivery)
    announced?.();
    const prepared: PreparedAppend[] = [];
    const started: string[] = [];
    try {
      for (let i = 0; i < inputs.length; i++) {
        const inp = inputs[i]!;
        const sha = sha256Hex(inp.raw);
        if (written) {
          started.push(sha);
          written.add(() => this.#blobs.put(inp.raw, sha));
        }
        const parsed = this.#mime.parseMessage(inp.raw);
        // known content needs no search text; without the early reads it is made here, outside
        // the transaction, in case the content turns out new
        const exists = early ? await db.read((r) => r.blobs.has(sha)) : false;
        const prefix = inp.deliveryHeaders && inp.deliveryHeaders.byteLength > 0 ? inp.deliveryHeaders : null;
        prepared.push({
          raw: inp.raw,
          prefix,
          size: sizes[i]!,
          crlfSize: crlfSize(inp.raw, prefix),
          sha,
          parsed,
          text: exists ? null : this.#mime.searchText(inp.raw, parsed),
          threadKeys: threadKeys(this.#mime, inp.raw, parsed),
          threadInput: threadInputOf(this.#mime, inp.raw, parsed),
          flags: normalizeFlags(inp.flags ?? []),
          internalDate: inp.internalDate ? inp.internalDate.getTime() : Date.now(),
        });
      }
    } catch (err) {
      queued();
      // files started for an append that will not happen: wait for them, drop what no row references
      await written?.settled().catch(() => {});
      if (started.length > 0) await db.write((w) => w.blobs.dropContentWithoutRow(started)).catch(() => {});
      throw err;
    }
    return { items: prepared, written, queued };
  }

  /**
   * Waits for the blob files (started by #prepare), then runs fn as one group write; on failure
   * drops unreferenced blobs.
   */
  async #writePrepared<T>(prepared: Prepared, fn: (t: TxContext) => Promise<T>): Promise<T> {
    const db = this.#d.db;
    try {
      await prepared.written?.settled();
    } catch (err) {
      await db.write((w) => w.blobs.dropContentWithoutRow(prepared.items.map((p) => p.sha))).catch(() => {});
      throw err;
    } finally {
      // the announcement ends before the item is queued: queueing may start the group loop at
      // once, and a loop that still counted this append as expected would wait GROUP_WAIT_MS for it
      prepared.queued();
    }
    // queued synchronously right after, so no batch can form in between
    const tx = write(this.#d, fn, GROUP);
    try {
      return await tx;
    } catch (err) {
      // content written for a transaction that did not commit: remove what no row references
      await db.write((w) => w.blobs.dropContentWithoutRow(prepared.items.map((p) => p.sha))).catch(() => {});
      throw err;
    }
  }

  /**
   * The rows of an append. The content (blob rows, search text, THREAD/SORT inputs, delivery
   * prefixes) goes first: it needs no per-account order, and on PostgreSQL the account is locked
   * only from mailboxCore on (db/postgres/pg.ts accountGuard) — so concurrent appends of one account
   * write their content in parallel and queue only for UIDs, the modseq and the message rows.
   */
  async #appendTx(
    t: TxContext,
    accountId: Id,
    mailboxId: Id,
    prepared: PreparedAppend[],
  ): Promise<AppendResult[]> {
    const tx = t.tx;
    const stored: Array<{ blobId: number; prefixId: number | null }> = [];
    for (const p of prepared) {
      const blob = await tx.blobs.ensure({
        sha: p.sha,
        raw: p.raw,
        parsed: JSON.stringify(p.parsed),
        parsedVersion: p.parsed.version,
        text: () => p.text ?? this.#mime.searchText(p.raw, p.parsed),
      });
      if (blob.created) {
        t.indexQueued();
        // the THREAD/SORT inputs, in the same transaction (a blob stored earlier has its row, or
        // gets it on its first THREAD/SORT: thread-inputs.ts)
        await tx.threadInputs.put(blob.id, THREAD_INPUT_VERSION, p.threadInput);
      }
      const prefixId = p.prefix ? await tx.blobs.insertPrefix(p.prefix) : null;
      stored.push({ blobId: blob.id, prefixId });
    }
    // from here on in per-account order: UIDs strictly ascending per mailbox, one modseq
    const mb = await mailboxCore(t, mailboxId);
    if (mb.accountId !== accountId) throw new StoreError("NONEXISTENT", "no such mailbox");
    // the check that decides: counters are updated in this same transaction
    checkQuota(
      await quotaOf(t, accountId),
      prepared.reduce((a, p) => a + p.size, 0),
      prepared.length,
    );
    const modseq = await t.modseq(accountId);
    const now = Date.now();
    let uid = mb.uidNext;
    let bytes = 0;
    const results: AppendResult[] = [];
    for (const [n, p] of prepared.entries()) {
      const { blobId, prefixId } = stored[n]!;
      const emailId = newObjectId("M");
      const threadId = await threadFor(t, accountId, p.threadKeys, emailId);
      t.changes.touch(accountId, "email", emailId, "create", threadId);
      await tx.messages.insert({
        mailboxId,
        uid,
        accountId,
        emailId,
        threadId,
        blobId,
        prefixId,
        size: p.size,
        internalDate: p.internalDate,
        saveDate: now,
        flags: flagText(p.flags),
        flagBits: flagBits(p.flags),
        modseq,
        crlfSize: p.crlfSize,
      });
      results.push({ mailboxId, uidValidity: mb.uidValidity, uid, modseq });
      uid++;
      bytes += p.size;
    }
    await tx.mailboxes.touch(mailboxId, modseq, uid);
    t.changes.touch(accountId, "mailbox", String(mailboxId), "update");
    await tx.accounts.addUsage(accountId, bytes, prepared.length);
    t.beacon(accountId, mailboxId, modseq);
    return results;
  }

  // --- flags ----------------------------------------------------------------------------

  storeFlags(
    mailboxId: Id,
    uids: number[],
    op: FlagOp,
    flags: string[],
    opts?: { unchangedSince?: bigint },
  ): Promise<StoreFlagsResult> {
    return write(
      this.#d,
      async (t) => {
        const mb = await mailboxCore(t, mailboxId);
        const rows = await t.tx.messages.flagRowsOf(mailboxId, uniqueSorted(uids));
        let countsChanged = false;
        const updated: MessageFlagsRow[] = [];
        const modified: number[] = [];
        let modseq: bigint | null = null;
        for (const r of rows) {
          const cur = parseFlagText(r.flags);
          // RFC 7162 §3.1.3: UNCHANGEDSINCE fails for messages changed after the given modseq
          if (opts?.unchangedSince !== undefined && r.modseq > opts.unchangedSince) {
            modified.push(r.uid);
            continue;
          }
          const next = applyFlagOp(cur, op, flags);
          if (sameFlags(cur, next)) continue;
          modseq ??= await t.modseq(mb.accountId);
          const bits = flagBits(next);
          await t.tx.messages.setFlags(mailboxId, r.uid, flagText(next), bits, modseq);
          t.changes.touch(mb.accountId, "email", r.emailId, "update");
          // RFC 8621 §2 unreadEmails: neither $seen nor $draft — the mailbox's counts change
          if (((bits ^ flagBits(cur)) & (FLAG_SEEN | FLAG_DRAFT)) !== 0) countsChanged = true;
          updated.push({ uid: r.uid, flags: next, modseq });
        }
        if (modseq !== null) {
          await t.tx.mailboxes.touch(mailboxId, modseq);
          t.beacon(mb.accountId, mailboxId, modseq);
          if (countsChanged) t.changes.touch(mb.accountId, "mailbox", String(mailboxId), "update");
        }
        return { updated, modified };
      },
      GROUP,
    );
  }

  // --- expunge, copy, move --------------------------------------------------------------

  expunge(mailboxId: Id, uids: number[]): Promise<number[]> {
    return write(
      this.#d,
      async (t) => {
        const mb = await mailboxCore(t, mailboxId);
        const rows = await t.tx.messages.refRows(mailboxId, uniqueSorted(uids));
        if (rows.length === 0) return [];
        const modseq = await t.modseq(mb.accountId);
        // the undelete window (domain/undelete.ts): kept outside the quota, blob still referenced
        if ((this.#d.undeleteWindowMs ?? 0) > 0)
          await t.tx.deleted.keep(
            mb.accountId,
            mailboxId,
            rows.map((r) => r.uid),
            Date.now(),
          );
        await removeRows(t, mb.accountId, mailboxId, rows, modseq);
        await t.tx.mailboxes.touch(mailboxId, modseq);
        t.beacon(mb.accountId, mailboxId, modseq);
        return rows.map((r) => r.uid);
      },
      GROUP,
    );
  }

  copy(srcMailboxId: Id, uids: number[], dstMailboxId: Id): Promise<CopyResult> {
    return write(
      this.#d,
      async (t) => {
        const src = await mailboxCore(t, srcMailboxId);
        const dst = await mailboxCore(t, dstMailboxId);
        const { mapping } = await copyRows(
          t,
          srcMailboxId,
          src.accountId,
          uids,
          dstMailboxId,
          dst.accountId,
          true,
        );
        return { uidValidity: dst.uidValidity, mapping };
      },
      GROUP,
    );
  }

  move(srcMailboxId: Id, uids: number[], dstMailboxId: Id): Promise<CopyResult> {
    return write(
      this.#d,
      async (t) => {
        const src = await mailboxCore(t, srcMailboxId);
        const dst = await mailboxCore(t, dstMailboxId);
        const mapping = await moveRows(t, srcMailboxId, src.accountId, uids, dstMailboxId, dst.accountId);
        return { uidValidity: dst.uidValidity, mapping };
      },
      GROUP,
    );
  }
}

/**
 * Deletes message rows, logs them as expunged, adjusts usage; their blobs are marked for the
 * sweeper at the end of the transaction. `copied`: the rows were just copied within the account
 * (MOVE), so their Emails live on.
 */
export async function removeRows(
  t: TxContext,
  accountId: Id,
  mailboxId: Id,
  rows: readonly MessageRefRow[],
  modseq: bigint,
  copied = false,
): Promise<void> {
  const uids = rows.map((r) => r.uid);
  await t.tx.messages.delete(mailboxId, uids);
  await t.tx.expunges.add(mailboxId, uids, modseq);
  let bytes = 0;
  const prefixes = new Set<number>();
  const blobs: number[] = [];
  for (const r of rows) {
    // an Email lives on while another mailbox holds a row of it (checked at the end of the tx)
    t.changes.touch(accountId, "email", r.emailId, copied ? "update" : "remove", r.threadId);
    bytes += r.size;
    blobs.push(r.blobId);
    if (r.prefixId !== null) prefixes.add(r.prefixId);
  }
  t.releaseBlobs(blobs);
  if (prefixes.size > 0) await t.tx.blobs.dropUnreferencedPrefixes(prefixes);
  await t.tx.accounts.addUsage(accountId, -bytes, -rows.length);
  if (rows.length > 0) t.changes.touch(accountId, "mailbox", String(mailboxId), "update");
}

/** Inserts copies of rows into dst; returns [srcUid, dstUid] pairs and the source rows. */
export async function copyRows(
  t: TxContext,
  srcMailboxId: Id,
  srcAccountId: Id,
  uids: readonly number[],
  dstMailboxId: Id,
  dstAccountId: Id,
  checkQuotaFirst: boolean,
): Promise<{ mapping: Array<[number, number]>; rows: MessageRefRow[] }> {
  const tx = t.tx;
  const dst = await mailboxCore(t, dstMailboxId);
  const rows = await tx.messages.refRows(srcMailboxId, uniqueSorted(uids));
  if (rows.length === 0) return { mapping: [], rows };
  const bytes = rows.reduce((a, r) => a + r.size, 0);
  if (checkQuotaFirst) checkQuota(await quotaOf(t, dstAccountId), bytes, rows.length);
  const modseq = await t.modseq(dstAccountId);
  const now = Date.now();
  let uid = dst.uidNext;
  const mapping: Array<[number, number]> = [];
  const sameAccount = srcAccountId === dstAccountId;
  const has = async (kind: "email" | "thread", id: string): Promise<boolean> =>
    t.changes.has(dstAccountId, kind, id) || (await tx.messages.holds(dstAccountId, kind, id));
  for (const r of rows) {
    if (sameAccount) {
      // the same Email gains a mailbox (emailId kept, RFC 8474 §5.1); its thread is unchanged
      t.changes.touch(dstAccountId, "email", r.emailId, "update", r.threadId);
    } else {
      // into another account: new there unless that account already holds the same Email
      const threadOp = (await has("thread", r.threadId)) ? "update" : "create";
      const emailOp = (await has("email", r.emailId)) ? "update" : "create";
      t.changes.touch(dstAccountId, "email", r.emailId, emailOp, r.threadId);
      t.changes.touch(dstAccountId, "thread", r.threadId, threadOp);
    }
    mapping.push([r.uid, uid]);
    uid++;
  }
  // COPY/MOVE keep emailId and threadId (RFC 8474 §5.1: same EMAILID for copies); blob shared
  await tx.messages.copy(
    srcMailboxId,
    mapping,
    { mailboxId: dstMailboxId, accountId: dstAccountId },
    now,
    modseq,
  );
  await tx.mailboxes.touch(dstMailboxId, modseq, uid);
  t.changes.touch(dstAccountId, "mailbox", String(dstMailboxId), "update");
  await tx.accounts.addUsage(dstAccountId, bytes, rows.length);
  t.beacon(dstAccountId, dstMailboxId, modseq);
  return { mapping, rows };
}

/** MOVE (RFC 6851): copy, then remove from the source in the same transaction. */
export async function moveRows(
  t: TxContext,
  srcMailboxId: Id,
  srcAccountId: Id,
  uids: readonly number[],
  dstMailboxId: Id,
  dstAccountId: Id,
): Promise<Array<[number, number]>> {
  // within the account the usage does not change: no quota check (the message is already counted)
  const { mapping, rows } = await copyRows(
    t,
    srcMailboxId,
    srcAccountId,
    uids,
    dstMailboxId,
    dstAccountId,
    srcAccountId !== dstAccountId,
  );
  if (rows.length === 0) return mapping;
  const modseq = await t.modseq(srcAccountId);
  await removeRows(t, srcAccountId, srcMailboxId, rows, modseq, srcAccountId === dstAccountId);
  await t.tx.mailboxes.touch(srcMailboxId, modseq);
  t.beacon(srcAccountId, srcMailboxId, modseq);
  return mapping;
}
