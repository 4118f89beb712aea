/**
 * Message reads over the ports: the SELECT / UID FETCH / SEARCH hot paths (one port call per
 * command, compact results from the adapter), CONDSTORE/QRESYNC changes (with the expunge-floor
 * fallback), the parsed-structure cache and message content (delivery prefix + blob stream).
 */
import type { ParsedMessage } from "../../mime/types.ts";
import type { BlobStore } from "../blob/port.ts";
import { isBlobNotFound } from "../blob/port.ts";
import type { MessageMetaRow } from "../db/port.ts";
import { parseFlagText } from "../flags.ts";
import type { MimeFns } from "../mime-fns.ts";
import type { SearchIndex } from "../search/port.ts";
import {
  type AccountMessage,
  type ChangesSince,
  type Id,
  type JmapMailboxCounts,
  type MessageBlobRef,
  type MessageContent,
  type MessageFlagsRow,
  type MessageMeta,
  type MessageStates,
  StoreError,
  type TextQuery,
} from "../types.ts";
import type { DomainDeps } from "./context.ts";
import { applyChanges, StateCache } from "./state-cache.ts";

const PARSED_CACHE_MAX = 2000;

export interface MessageReadDeps extends Omit<DomainDeps, "blobs" | "mime"> {
  blobs: Pick<BlobStore, "get" | "stream">;
  search: Pick<SearchIndex, "query">;
  mime: Pick<MimeFns, "parseMessage">;
  /** messages whose states this process keeps between reads (store.state_cache_messages); 0 = none */
  stateCacheMessages: number;
}

function noMailbox(): never {
  throw new StoreError("NONEXISTENT", "no such mailbox");
}

/** unique, positive, ascending */
function uniqueSorted(uids: readonly number[]): number[] {
  const out = [...new Set(uids.filter((u) => Number.isSafeInteger(u) && u > 0))];
  out.sort((a, b) => a - b);
  return out;
}

function toMeta(r: MessageMetaRow): MessageMeta {
  const m: MessageMeta = {
    uid: r.uid,
    emailId: r.emailId,
    threadId: r.threadId,
    blobId: r.sha256,
    size: r.size,
    internalDate: new Date(r.internalDate),
    saveDate: new Date(r.saveDate),
    flags: parseFlagText(r.flags),
    modseq: r.modseq,
  };
  // absent for rows stored before the column existed
  if (r.lineEndingFixups !== null) m.lineEndingFixups = r.lineEndingFixups;
  return m;
}

/** uids in [1, uidNext) not in `present` (ascending), i.e. every uid that may have vanished */
function absentUids(present: readonly number[], uidNext: number): number[] {
  const out: number[] = [];
  let next = 1;
  for (const u of present) {
    for (; next < u; next++) out.push(next);
    next = u + 1;
  }
  for (; next < uidNext; next++) out.push(next);
  return out;
}

export class MessageReader {
  readonly #d: MessageReadDeps;
  /** parsed structures by blob SHA-256, least recently used first */
  readonly #parsedCache = new Map<string, ParsedMessage>();
  #parserVersion: number | null = null;
  readonly #states: StateCache;

  constructor(deps: MessageReadDeps) {
    this.#d = deps;
    this.#states = new StateCache(deps.stateCacheMessages);
  }

  async listMessages(mailboxId: Id): Promise<MessageFlagsRow[]> {
    const rows = await this.#d.db.read(async (q) => {
      if (!(await q.mailboxes.core(mailboxId))) noMailbox();
      return q.messages.flagRows(mailboxId);
    });
    const out: MessageFlagsRow[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      out[i] = { uid: r.uid, flags: parseFlagText(r.flags), modseq: r.modseq };
    }
    return out;
  }

  /**
   * The mailbox's states, from this process's cache when its HIGHESTMODSEQ is unchanged, brought
   * up to date from the changes since when it is not (state-cache.ts), else one full read. The
   * check and the reads share one read transaction, so the result is what a full read would give.
   */
  async listMessageStates(mailboxId: Id): Promise<MessageStates> {
    const states = await this.#d.db.read(async (q) => {
      const cached = this.#states.get(mailboxId);
      if (!cached) return q.messages.states(mailboxId);
      const sync = await q.mailboxes.syncState(mailboxId);
      if (!sync) return null;
      if (sync.highestModseq === cached.highestModseq) return cached;
      // RFC 7162 §3.1.1: modseqs only grow; the expunge log must reach back to the entry's modseq
      if (sync.highestModseq < cached.highestModseq || cached.highestModseq < sync.expungeFloor)
        return q.messages.states(mailboxId);
      const changed = await q.messages.changedSince(mailboxId, cached.highestModseq);
      const expunged = await q.expunges.since(mailboxId, cached.highestModseq);
      return applyChanges(cached, changed, expunged, sync.highestModseq);
    });
    if (!states) {
      this.#states.drop(mailboxId);
      return noMailbox();
    }
    this.#states.put(mailboxId, states);
    return states;
  }

  async changesSince(mailboxId: Id, modseq: bigint): Promise<ChangesSince> {
    return this.#d.db.read(async (q) => {
      const mb = (await q.mailboxes.syncState(mailboxId)) ?? noMailbox();
      const changed = (await q.messages.changedSince(mailboxId, modseq)).map(
        (r): MessageFlagsRow => ({ uid: r.uid, flags: parseFlagText(r.flags), modseq: r.modseq }),
      );
      // the expunge log is complete only above expunge_floor (older rows are pruned): from an
      // older modseq every uid below UIDNEXT that is not here may have vanished, and is reported
      // as such — VANISHED (EARLIER) may name uids the client never had (RFC 7162 §3.2.5.2, §3.2.10)
      const expunged =
        modseq < mb.expungeFloor
          ? absentUids(await q.messages.uids(mailboxId), mb.uidNext)
          : await q.expunges.since(mailboxId, modseq);
      return { changed, expunged, highestModseq: mb.highestModseq, uidNext: mb.uidNext };
    });
  }

  async getMessages(mailboxId: Id, uids: number[]): Promise<MessageMeta[]> {
    const rows = await this.#d.db.read(async (q) => {
      if (!(await q.mailboxes.core(mailboxId))) noMailbox();
      const list = uniqueSorted(uids);
      return list.length === 0 ? [] : q.messages.meta(mailboxId, list);
    });
    return rows.map(toMeta);
  }

  async getMessageBlobs(mailboxId: Id, uids: number[]): Promise<MessageBlobRef[]> {
    const rows = await this.#d.db.read(async (q) => {
      if (!(await q.mailboxes.core(mailboxId))) noMailbox();
      const list = uniqueSorted(uids);
      return list.length === 0 ? [] : q.messages.blobRows(mailboxId, list);
    });
    return rows.map((r) => ({ uid: r.uid, blobId: r.sha256, modseq: r.modseq }));
  }

  async messagesByEmailId(accountId: Id, emailIds: string[]): Promise<AccountMessage[]> {
    if (emailIds.length === 0) return [];
    const rows = await this.#d.db.read((q) => q.messages.byEmailIds(accountId, emailIds));
    return rows.map((r) => ({ ...toMeta(r), mailboxId: r.mailboxId }));
  }

  async messagesByThreadId(accountId: Id, threadIds: string[]): Promise<AccountMessage[]> {
    if (threadIds.length === 0) return [];
    const rows = await this.#d.db.read((q) => q.messages.byThreadIds(accountId, threadIds));
    return rows.map((r) => ({ ...toMeta(r), mailboxId: r.mailboxId }));
  }

  async emailIdsByDate(
    mailboxId: Id,
    position: number,
    limit: number,
    opts: { collapseThreads?: boolean; ascending?: boolean } = {},
  ): Promise<string[]> {
    if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(limit) || limit < 0)
      throw new StoreError("INVALID", "position and limit must be non-negative integers");
    if (limit === 0) return [];
    return this.#d.db.read(async (q) => {
      if (!(await q.mailboxes.core(mailboxId))) noMailbox();
      return q.messages.emailIdsByDate(
        mailboxId,
        position,
        limit,
        opts.collapseThreads === true,
        opts.ascending === true,
      );
    });
  }

  async emailIndexByDate(
    mailboxId: Id,
    emailId: string,
    opts: { collapseThreads?: boolean; ascending?: boolean } = {},
  ): Promise<number | null> {
    return this.#d.db.read(async (q) => {
      if (!(await q.mailboxes.core(mailboxId))) noMailbox();
      return q.messages.emailIndexByDate(
        mailboxId,
        emailId,
        opts.collapseThreads === true,
        opts.ascending === true,
      );
    });
  }

  async mailboxThreadCount(mailboxId: Id): Promise<number> {
    return (await this.jmapMailboxTotals(mailboxId)).threads;
  }

  async jmapMailboxTotals(mailboxId: Id): Promise<{ emails: number; threads: number }> {
    const r = await this.#d.db.read(async (q) => {
      if (!(await q.mailboxes.core(mailboxId))) noMailbox();
      return q.messages.jmapTotals(mailboxId);
    });
    return r ?? noMailbox();
  }

  async jmapAccountCounts(accountId: Id): Promise<Map<Id, JmapMailboxCounts>> {
    const rows = await this.#d.db.read((q) => q.messages.jmapCounts(accountId));
    return new Map(
      rows.map((r) => [
        r.mailboxId,
        {
          emails: r.emails,
          threads: r.threads,
          unreadEmails: r.unreadEmails,
          unreadThreads: r.unreadThreads,
        },
      ]),
    );
  }

  #currentParserVersion(): number {
    this.#parserVersion ??= this.#d.mime.parseMessage(new Uint8Array(0)).version;
    return this.#parserVersion;
  }

  /** drops a blob's cached parse (the blob sweeper removed it) */
  forgetParsed(sha256: string): void {
    this.#parsedCache.delete(sha256);
  }

  /** the cached structure, made the most recently used */
  #cachedParsed(blobId: string): ParsedMessage | undefined {
    const cached = this.#parsedCache.get(blobId);
    if (cached) {
      this.#parsedCache.delete(blobId);
      this.#parsedCache.set(blobId, cached);
    }
    return cached;
  }

  async getParsed(blobId: string): Promise<ParsedMessage> {
    const cached = this.#cachedParsed(blobId);
    if (cached) return cached;
    const row = await this.#d.db.read((q) => q.blobs.parsed(blobId));
    if (!row) throw new StoreError("NOTFOUND", "no such blob");
    let parsed: ParsedMessage;
    if (row.parsed !== null && row.version >= this.#currentParserVersion()) {
      parsed = JSON.parse(row.parsed) as ParsedMessage;
    } else {
      // cache from an older parser: re-parse once and store the new structure
      let raw: Uint8Array;
      try {
        raw = await this.#d.blobs.get(blobId);
      } catch {
        throw new StoreError("NOTFOUND", "blob content missing");
      }
      parsed = this.#d.mime.parseMessage(raw);
      const p = parsed;
      // only a cache: a failure to store it back is not an error
      await this.#d.db
        .write((tx) => tx.blobs.setParsed(blobId, JSON.stringify(p), p.version))
        .catch(() => {});
    }
    this.#parsedCache.set(blobId, parsed);
    if (this.#parsedCache.size > PARSED_CACHE_MAX) {
      const oldest = this.#parsedCache.keys().next().value;
      if (oldest !== undefined) this.#parsedCache.delete(oldest);
    }
    return parsed;
  }

  async getParsedMany(blobIds: readonly string[]): Promise<Array<ParsedMessage | null>> {
    const out: Array<ParsedMessage | null> = new Array(blobIds.length);
    for (let i = 0; i < blobIds.length; i++) {
      const id = blobIds[i]!;
      const cached = this.#cachedParsed(id);
      if (cached) {
        out[i] = cached;
        continue;
      }
      try {
        out[i] = await this.getParsed(id);
      } catch (e) {
        if (e instanceof StoreError && e.code === "NOTFOUND") out[i] = null;
        else throw e;
      }
    }
    return out;
  }

  async readMessage(mailboxId: Id, uid: number): Promise<Uint8Array> {
    // a snapshot read that does not queue behind this process's transactions (Db.peek)
    const loc = await this.#d.db.peek((p) => p.location(mailboxId, uid));
    if (!loc) throw new StoreError("NOTFOUND", "no such message");
    let body: Buffer;
    try {
      body = (await this.#d.blobs.get(loc.sha256)) as Buffer;
    } catch (err) {
      // expunged and collected between the lookup and the read
      if (isBlobNotFound(err)) throw new StoreError("NOTFOUND", "message expunged");
      throw err;
    }
    return loc.prefix && loc.prefix.byteLength > 0 ? Buffer.concat([loc.prefix, body]) : body;
  }

  async openMessage(mailboxId: Id, uid: number): Promise<MessageContent> {
    const loc = await this.#d.db.peek((p) => p.location(mailboxId, uid));
    if (!loc) throw new StoreError("NOTFOUND", "no such message");
    const blobs = this.#d.blobs;
    const prefix = loc.prefix ?? new Uint8Array(0);
    const sha = loc.sha256;
    return {
      prefix,
      size: prefix.byteLength + loc.blobSize,
      async *blob(range) {
        try {
          yield* blobs.stream(sha, range);
        } catch (err) {
          // expunged and collected between the lookup and the first read
          if (isBlobNotFound(err)) throw new StoreError("NOTFOUND", "message expunged");
          throw err;
        }
      },
    };
  }

  async searchText(mailboxId: Id, q: TextQuery): Promise<number[]> {
    if (!(await this.#d.db.read((r) => r.mailboxes.core(mailboxId)))) noMailbox();
    return this.#d.search.query({ mailboxId }, q);
  }
}
