/**
 * The Store implementation on SQL (SQLite now; the queries are kept portable for PostgreSQL).
 *
 * Concurrency: every write is one BEGIN IMMEDIATE transaction (cross-process write lock); the
 * account's modseq counter is bumped once per transaction and that value stamps every row the
 * transaction changes (messages, expunge log, mailbox HIGHESTMODSEQ, account change log). Blob
 * files are written and fsynced before the transaction that references them; after commit the
 * change feed gets a beacon per touched mailbox and unreferenced blobs are garbage-collected.
 */
import { randomBytes } from "node:crypto";
import { readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { Kysely } from "kysely";
import type { ParsedMessage } from "../../mime/types.ts";
import { type FsBlobStore, sha256Hex } from "../blob/fs.ts";
import { ChangeBuffer } from "../changes.ts";
import { crlfSize } from "../crlf.ts";
import type { SqliteDb } from "../db/sqlite/db.ts";
import type { DB } from "../db/sqlite/schema.ts";
import type { SqliteHandle } from "../db/sqlite/sqlite.ts";
import { Accounts } from "../domain/accounts.ts";
import { Aliases } from "../domain/aliases.ts";
import { ChangeReader } from "../domain/changes-read.ts";
import type { DomainDeps } from "../domain/context.ts";
import { Limits } from "../domain/limits.ts";
import { Mailboxes } from "../domain/mailboxes.ts";
import { MessageReader } from "../domain/messages-read.ts";
import { Queue } from "../domain/queue.ts";
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
import type { KeyStore } from "../keys/port.ts";
import type { LockService } from "../locks/port.ts";
import type { MimeFns } from "../mime-fns.ts";
import type { Fts5Search } from "../search/fts.ts";
import {
  type AppendInput,
  type AppendResult,
  type Beacon,
  type ChangeFeed,
  type CopyResult,
  type FlagOp,
  type Id,
  type MessageFlagsRow,
  type Store,
  StoreError,
  type StoreFlagsResult,
} from "../types.ts";
import * as changeLog from "./changelog.ts";

export const DEFAULT_MAX_MESSAGE_SIZE = 50 * 1024 * 1024;

/** uid lists up to this size are looked up one by one; larger ones by one range scan */
const POINT_LOOKUP_MAX = 64;
/** blobs examined per sweeper transaction (bounds the write-lock hold time) */
const GC_BATCH = 64;
/** the sweeper starts once no blob was marked for this long… */
const GC_DELAY_MS = 1000;
/** …or this long after the first mark, whichever comes first */
const GC_MAX_DELAY_MS = 10_000;
/** batches per sweeper run; a later trigger (or the next open) continues */
const GC_MAX_PASSES = 20_000;
/** files named like blobs but without a row are removed once older than this (crash leftovers) */
const DEFAULT_ORPHAN_MIN_AGE_MS = 15 * 60_000;
const DEFAULT_ORPHAN_SCAN_DELAY_MS = 30_000;
/** FTS indexer transactions: at most this many queued texts and (beyond the first) characters */
const INDEX_BATCH_ROWS = 64;
const INDEX_BATCH_CHARS = 256 * 1024;
/** appends within this window share one indexer transaction */
const INDEX_DELAY_MS = 200;
/**
 * The indexer yields to protocol work: it skips its turn while this process's event loop was
 * busier than this (its own batches not counted)…
 */
const INDEX_BUSY_UTILIZATION = 0.5;
/** …unless the oldest queued text has waited this long, which bounds the index lag under load */
const INDEX_MAX_LAG_MS = 30_000;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX2 = /^[0-9a-f]{2}$/;

export interface SqlStoreOptions {
  /** the locks port's adapter (store/locks) */
  locks: LockService;
  /** the keys port's adapter (store/keys) */
  keys: KeyStore;
  /** orphan-file scan this long after open; null = not at open (collectGarbage() still does it) */
  orphanScanDelayMs?: number | null;
  /** minimum age of an unreferenced blob file or temp file before the orphan scan removes it */
  orphanMinAgeMs?: number;
  /** change-log and expunge-log history kept, in days (store.change_log_days); 0 = forever. Default 90 */
  changeLogDays?: number;
  /** first background pruning run this long after open, then hourly; null = none. Default 60 s */
  pruneDelayMs?: number | null;
}

const DEFAULT_CHANGE_LOG_DAYS = 90;
const DEFAULT_PRUNE_DELAY_MS = 60_000;
const PRUNE_INTERVAL_MS = 3_600_000;

/** blob writes in flight per appendMany (each holds a file and up to a few directory handles) */
const PUT_CONCURRENCY = 16;

/** Runs fn over items with at most `limit` calls in flight; rejects with the first failure. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    // bounded: each iteration takes one item
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

interface TxCtx {
  k: Kysely<DB>;
  modseqs: Map<number, bigint>;
  beacons: Map<string, Beacon>;
  gcBlobs: Set<number>;
  /** the transaction queued text for the background FTS indexer */
  indexPending: boolean;
  /** objects changed, written to the account change log at the end of the transaction */
  changes: ChangeBuffer;
}

function newTxCtx(k: Kysely<DB>): TxCtx {
  return {
    k,
    modseqs: new Map(),
    beacons: new Map(),
    gcBlobs: new Set(),
    indexPending: false,
    changes: new ChangeBuffer(),
  };
}

function newId(prefix: string): string {
  return prefix + randomBytes(9).toString("base64url");
}

const MSGID_RE = /<[^<>\s]{1,250}>/g;
function msgIds(text: string | null | undefined): string[] {
  if (!text) return [];
  return text.match(MSGID_RE) ?? [];
}

function uniqueSorted(uids: readonly number[]): number[] {
  const out = [...new Set(uids.filter((u) => Number.isSafeInteger(u) && u > 0))];
  out.sort((a, b) => a - b);
  return out;
}

interface PreparedAppend {
  raw: Uint8Array;
  prefix: Uint8Array | null;
  size: number;
  /** octets in CRLF form, prefix included (POP3 LIST/STAT) */
  crlfSize: number;
  sha: string;
  parsed: ParsedMessage;
  text: { headers: string; body: string } | null;
  flags: string[];
  internalDate: number;
}

interface MsgRow {
  uid: number;
  size: number;
  blobId: number;
  prefixId: number | null;
  emailId: string;
  threadId: string;
}

export class SqlStore implements Store {
  readonly feed: ChangeFeed;
  readonly locks: LockService;
  readonly keys: KeyStore;
  readonly #db: SqliteDb;
  readonly #h: SqliteHandle;
  // the mail logic already on the db port (docs/architecture.md "Store layers")
  readonly #acc: Accounts;
  readonly #ali: Aliases;
  readonly #queue: Queue;
  readonly #limits: Limits;
  readonly #mbx: Mailboxes;
  readonly #msgs: MessageReader;
  readonly #chg: ChangeReader;
  readonly #blobs: FsBlobStore;
  readonly #search: Fts5Search;
  readonly #mime: MimeFns;
  readonly #maxSize: number;
  /** the running sweeper (one per store), or null */
  #gcRun: Promise<void> | null = null;
  #gcTimer: NodeJS.Timeout | null = null;
  /** when the pending timer's first mark happened (ms since epoch) */
  #gcFirstMark = 0;
  /** a commit marked blobs while the sweeper ran: it makes another pass */
  #gcAgain = false;
  /** the running FTS indexer, or null; and "run again" as for the sweeper */
  #indexRun: Promise<void> | null = null;
  #indexAgain = false;
  #indexTimer: NodeJS.Timeout | null = null;
  /** event-loop utilization at the indexer's last busy check, and its own batch time since */
  #elu = performance.eventLoopUtilization();
  #indexOwnMs = 0;
  /** whenGcIdle: index regardless of load */
  #indexForce = false;
  #closed = false;
  #orphanTimer: NodeJS.Timeout | null = null;
  #orphanRun: Promise<number> | null = null;
  readonly #orphanMinAgeMs: number;
  readonly #changeLogDays: number;
  #pruneTimer: NodeJS.Timeout | null = null;
  #pruneRun: Promise<void> | null = null;

  constructor(
    db: SqliteDb,
    blobs: FsBlobStore,
    search: Fts5Search,
    mime: MimeFns,
    feed: ChangeFeed,
    maxMessageSize: number,
    opts: SqlStoreOptions,
  ) {
    this.#db = db;
    this.#h = db.handle;
    const deps: DomainDeps = { db, feed, scheduleGc: () => this.#scheduleGc(), maxMessageSize };
    this.#acc = new Accounts(deps);
    this.#ali = new Aliases(deps);
    this.#queue = new Queue(deps);
    this.#limits = new Limits(deps);
    this.#mbx = new Mailboxes(deps);
    this.#msgs = new MessageReader({ ...deps, blobs, search, mime });
    this.#chg = new ChangeReader(deps);
    this.#blobs = blobs;
    this.#search = search;
    this.#mime = mime;
    this.feed = feed;
    this.locks = opts.locks;
    this.keys = opts.keys;
    this.#maxSize = maxMessageSize;
    this.#orphanMinAgeMs = opts.orphanMinAgeMs ?? DEFAULT_ORPHAN_MIN_AGE_MS;
    this.#changeLogDays = opts.changeLogDays ?? DEFAULT_CHANGE_LOG_DAYS;
    const pruneDelay = opts.pruneDelayMs === undefined ? DEFAULT_PRUNE_DELAY_MS : opts.pruneDelayMs;
    if (pruneDelay !== null) this.#schedulePrune(pruneDelay);
    // blobs marked (texts queued) by a process that stopped before its sweeper (indexer) finished
    this.#scheduleGc();
    this.#scheduleIndex(0);
    const delay =
      opts.orphanScanDelayMs === undefined ? DEFAULT_ORPHAN_SCAN_DELAY_MS : opts.orphanScanDelayMs;
    if (delay !== null) {
      this.#orphanTimer = setTimeout(() => {
        this.#orphanTimer = null;
        this.#orphanRun = this.#sweepOrphans(this.#orphanMinAgeMs)
          .catch(() => 0)
          .finally(() => {
            this.#orphanRun = null;
          });
      }, delay);
      this.#orphanTimer.unref();
    }
  }

  // --- plumbing ---------------------------------------------------------------------------

  #stmt(text: string, safe = false): Database.Statement {
    return this.#h.stmt(text, safe);
  }

  #all(text: string, safe: boolean, ...args: unknown[]): unknown[][] {
    return this.#stmt(text, safe)
      .raw(true)
      .all(...args) as unknown[][];
  }

  #get<T>(text: string, ...args: unknown[]): T | undefined {
    return this.#stmt(text)
      .raw(false)
      .get(...args) as T | undefined;
  }

  #run(text: string, ...args: unknown[]): Database.RunResult {
    return this.#stmt(text).run(...args);
  }

  #read<T>(fn: (k: Kysely<DB>) => Promise<T> | T): Promise<T> {
    return this.#h.withConnection(fn);
  }

  /** After COMMIT returned: feed beacons, and the background work the transaction left. */
  #afterCommit(ctx: TxCtx, marked: number): void {
    // published only now: a listener that pulls sees the change
    for (const b of ctx.beacons.values()) this.feed.publish(b);
    // blob deletion is off the reply path: the sweeper collects marked blobs in the background
    if (marked > 0) this.#scheduleGc();
    if (ctx.indexPending) this.#scheduleIndex();
  }

  // --- group commit ----------------------------------------------------------------------
  //
  // Appends (SMTP/LMTP-style deliveries, IMAP APPEND) and message changes (flags, expunge, copy,
  // move) are grouped writes of the db port (db/sqlite/db.ts runs the group commit): each item
  // gets its own context (own modseq bump, beacons, GC marks) and savepoint; its afterCommit work
  // runs after the shared, durable COMMIT. The item functions are synchronous.

  #txGrouped<T>(fn: (ctx: TxCtx) => T): Promise<T> {
    return this.#db.write(
      (tx) => {
        const ctx = newTxCtx(this.#h.k);
        const value = fn(ctx);
        this.#flushChanges(ctx);
        const marked = ctx.gcBlobs.size > 0 ? this.#markGc(ctx.gcBlobs) : 0;
        tx.afterCommit(() => this.#afterCommit(ctx, marked));
        return value;
      },
      { group: true },
    );
  }

  /** The account's next modseq, taken once per transaction (RFC 7162 §3.1.1: strictly increasing). */
  #modseq(ctx: TxCtx, accountId: number): bigint {
    let m = ctx.modseqs.get(accountId);
    if (m === undefined) {
      const row = this.#stmt("UPDATE account SET modseq = modseq + 1 WHERE id = ? RETURNING modseq", true)
        .raw(true)
        .get(accountId) as [bigint] | undefined;
      if (!row) throw new StoreError("NONEXISTENT", "no such account");
      m = row[0];
      ctx.modseqs.set(accountId, m);
    }
    return m;
  }

  /** The transaction's change-log rows, in the transaction (same commit as the change). */
  #flushChanges(ctx: TxCtx): void {
    changeLog.writeChanges(
      (t, safe) => this.#stmt(t, safe),
      ctx.changes,
      (a) => this.#modseq(ctx, a),
    );
  }

  #beacon(ctx: TxCtx, accountId: number, mailboxId: number | null, modseq: bigint): void {
    ctx.beacons.set(`${accountId}:${mailboxId ?? ""}`, { accountId, mailboxId, modseq: modseq.toString() });
  }

  // --- blob garbage collection -----------------------------------------------------------
  //
  // Invariant (DESIGN.md §3): never referenced-but-missing. A transaction that removes the last
  // message row of a blob marks it gc_pending (same transaction). The sweeper, in short
  // BEGIN IMMEDIATE transactions of GC_BATCH blobs, re-checks that no row references each marked
  // blob, deletes its rows (blob, FTS) and unlinks the file BEFORE COMMIT, while holding the
  // write lock; it starts after a quiet GC_DELAY_MS (#scheduleGc). An append that dedupes to a
  // blob takes the same lock, clears the mark and re-checks the file (rewriting it if a sweep removed it), so
  // it can neither reference a file about to be unlinked nor one already gone. A sweep that
  // fails after some unlinks rolls back: rows come back still marked and unreferenced, the next
  // pass finishes them (ENOENT is fine), and an appender rewrites a missing file.

  /** Marks blobs no message references any more; returns how many were marked. */
  #markGc(blobIds: Iterable<number>): number {
    const st = this.#stmt(
      `UPDATE blob SET gc_pending = 1 WHERE id = ? AND gc_pending = 0
         AND NOT EXISTS (SELECT 1 FROM message WHERE blob_id = ?)`,
    );
    let n = 0;
    for (const id of blobIds) n += st.run(id, id).changes;
    return n;
  }

  /**
   * Starts the background sweeper once no blob has been marked for GC_DELAY_MS (at the latest
   * GC_MAX_DELAY_MS after the first mark), or makes a running one take another pass: a burst of
   * expunges (many POP3 QUITs at once) is swept in a few full batches after it, not during it.
   */
  #scheduleGc(): void {
    if (this.#closed) return;
    if (this.#gcRun) {
      this.#gcAgain = true;
      return;
    }
    const now = Date.now();
    if (this.#gcTimer) {
      if (now - this.#gcFirstMark >= GC_MAX_DELAY_MS) return;
      clearTimeout(this.#gcTimer);
    } else {
      this.#gcFirstMark = now;
    }
    const delay = Math.min(GC_DELAY_MS, this.#gcFirstMark + GC_MAX_DELAY_MS - now);
    this.#gcTimer = setTimeout(() => {
      this.#gcTimer = null;
      this.#startGc();
    }, delay);
    this.#gcTimer.unref();
  }

  #startGc(): void {
    if (this.#closed || this.#gcRun) return;
    this.#gcRun = this.#gcLoop().finally(() => {
      this.#gcRun = null;
      // marked after the loop's last pass but before this callback: another pass
      if (this.#gcAgain) {
        this.#gcAgain = false;
        this.#scheduleGc();
      }
    });
  }

  async #gcLoop(): Promise<void> {
    for (let pass = 0; pass < GC_MAX_PASSES && !this.#closed; pass++) {
      this.#gcAgain = false;
      let examined: number;
      try {
        examined = await this.#gcBatch(GC_BATCH);
      } catch {
        // an unreferenced blob left behind is only wasted space; the next trigger or open retries
        return;
      }
      if (examined < GC_BATCH && !this.#gcAgain) return;
      // yield between batches so protocol work in this process interleaves
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** One sweeper transaction; returns the number of marked blobs examined. */
  async #gcBatch(limit: number): Promise<number> {
    // cheap read first: no write lock (and no cross-process wait) when nothing is marked
    const any = await this.#read(() => this.#get("SELECT 1 AS x FROM blob WHERE gc_pending <> 0 LIMIT 1"));
    if (!any) return 0;
    return this.#h.transaction(() => {
      const rows = this.#all("SELECT id, sha256 FROM blob WHERE gc_pending <> 0 LIMIT ?", false, limit);
      const dead: string[] = [];
      for (const r of rows) {
        const id = Number(r[0]);
        const sha = String(r[1]);
        if (this.#get("SELECT 1 AS x FROM message WHERE blob_id = ? LIMIT 1", id)) {
          // referenced again (COPY, or an append deduped to it): keep it
          this.#run("UPDATE blob SET gc_pending = 0 WHERE id = ?", id);
          continue;
        }
        this.#search.removeSync(id);
        this.#run("DELETE FROM blob WHERE id = ?", id);
        this.#msgs.forgetParsed(sha);
        if (HEX64.test(sha)) dead.push(sha);
      }
      // unlinked before COMMIT, under the write lock (see the invariant above). Synchronously:
      // ≤ limit unlinks of tens of µs each, while an await here would hold the write lock for as
      // long as this process's event loop is busy
      for (const sha of dead) this.#blobs.deleteSync(sha);
      return rows.length;
    });
  }

  /**
   * Crash leftovers: blob files without a row (written before a transaction that never
   * committed) and temp files, older than minAgeMs. The directory walk is async and outside any
   * lock; each directory's candidates are re-checked and unlinked under the write lock, so an
   * append deduping to such a file either sees it removed (and rewrites it) or keeps it.
   */
  async #sweepOrphans(minAgeMs: number): Promise<number> {
    const root = this.#blobs.root;
    const cutoff = Date.now() - minAgeMs;
    let removed = 0;
    const list = async (dir: string): Promise<string[]> => {
      try {
        return await readdir(dir);
      } catch {
        return [];
      }
    };
    const old = async (path: string): Promise<boolean> => {
      try {
        return (await stat(path)).mtimeMs <= cutoff;
      } catch {
        return false;
      }
    };
    // bounded: two levels of at most 256 directories each (names that are not hex are skipped)
    for (const a of await list(root)) {
      if (this.#closed) break;
      if (!HEX2.test(a)) continue;
      for (const b of await list(join(root, a))) {
        if (this.#closed) break;
        if (!HEX2.test(b)) continue;
        const dir = join(root, a, b);
        const named: string[] = [];
        for (const name of await list(dir)) {
          if (name.startsWith(".tmp-")) {
            // temp names are never referenced: no lock needed
            const path = join(dir, name);
            if (await old(path)) {
              await unlinkQuiet(path).catch(() => {});
              removed++;
            }
          } else if (HEX64.test(name) && name.startsWith(a + b)) {
            named.push(name);
          }
        }
        // files with a row are the normal case: filtered by a read, without the write lock
        const noRow = named.length
          ? await this.#read(() =>
              named.filter((sha) => !this.#get("SELECT 1 AS x FROM blob WHERE sha256 = ?", sha)),
            )
          : [];
        const candidates: string[] = [];
        for (const sha of noRow) if (await old(join(dir, sha))) candidates.push(sha);
        for (let i = 0; i < candidates.length; i += GC_BATCH) {
          const chunk = candidates.slice(i, i + GC_BATCH);
          removed += await this.#h.transaction(async () => {
            const dead = chunk.filter((sha) => !this.#get("SELECT 1 AS x FROM blob WHERE sha256 = ?", sha));
            await Promise.all(dead.map((sha) => unlinkQuiet(this.#blobs.pathOf(sha))));
            return dead.length;
          });
        }
      }
    }
    return removed;
  }

  /**
   * Runs the sweeper to completion now (marked blobs), and with `orphanMinAgeMs` also the orphan
   * scan. Returns the number of orphan files removed. For tests, the CLI and maintenance.
   */
  async collectGarbage(opts: { orphanMinAgeMs?: number } = {}): Promise<number> {
    await this.whenGcIdle();
    // bounded like the sweeper: each batch examines up to GC_BATCH marked blobs
    for (let pass = 0; pass < GC_MAX_PASSES; pass++) {
      if ((await this.#gcBatch(GC_BATCH)) < GC_BATCH) break;
    }
    return opts.orphanMinAgeMs === undefined ? 0 : this.#sweepOrphans(opts.orphanMinAgeMs);
  }

  /** Resolves when the background sweeper and FTS indexer have nothing left to do. */
  async whenGcIdle(): Promise<void> {
    this.#indexForce = true;
    try {
      await this.#whenIdle();
    } finally {
      this.#indexForce = false;
    }
  }

  async #whenIdle(): Promise<void> {
    // bounded: each wait ends one run; a new run starts only after a further commit
    for (let i = 0; i < 1000 && (this.#gcRun || this.#gcTimer || this.#indexRun || this.#indexTimer); i++) {
      if (this.#gcTimer) {
        clearTimeout(this.#gcTimer);
        this.#gcTimer = null;
        this.#startGc();
      }
      if (this.#indexTimer) {
        clearTimeout(this.#indexTimer);
        this.#indexTimer = null;
        this.#startIndex();
      }
      await this.#gcRun;
      await this.#indexRun;
    }
  }

  // --- FTS indexer ------------------------------------------------------------------------
  //
  // APPEND stores the search text (fts_text) and queues the blob id (fts_pending) in its own
  // transaction; this indexer moves queued texts into the trigram index in write transactions of
  // bounded text size, after the commit that queued them and at open (leftovers after a crash).
  // the search adapter scans queued rows directly, so a message is searchable as soon as APPEND returns.

  /**
   * Starts the indexer after `delay` ms, so that a stream of appends is indexed in a few batched
   * transactions (one extra commit per batch, not per append).
   */
  #scheduleIndex(delay = INDEX_DELAY_MS): void {
    if (this.#closed) return;
    if (this.#indexRun) {
      this.#indexAgain = true;
      return;
    }
    if (this.#indexTimer) return;
    this.#indexTimer = setTimeout(() => {
      this.#indexTimer = null;
      this.#startIndex();
    }, delay);
    this.#indexTimer.unref();
  }

  #startIndex(): void {
    if (this.#closed || this.#indexRun) return;
    this.#indexRun = this.#indexLoop().finally(() => {
      this.#indexRun = null;
      // texts queued while the last batch ran: the next batch after the usual delay
      if (this.#indexAgain) {
        this.#indexAgain = false;
        this.#scheduleIndex();
      }
    });
  }

  async #indexLoop(): Promise<void> {
    for (let pass = 0; pass < GC_MAX_PASSES && !this.#closed; pass++) {
      if (!this.#indexForce && this.#protocolBusy() && !(await this.#indexLagging())) {
        // busy serving: try again after the usual delay (searches scan queued texts meanwhile)
        this.#indexAgain = true;
        return;
      }
      let more: boolean;
      const t0 = performance.now();
      try {
        more = await this.#indexBatch();
      } catch {
        // left queued: searches still find the rows; the next append or open retries
        this.#indexAgain = false;
        return;
      } finally {
        this.#indexOwnMs += performance.now() - t0;
      }
      if (!more) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Whether this process's event loop was busier than INDEX_BUSY_UTILIZATION since the last
   * check, not counting the indexer's own batches.
   */
  #protocolBusy(): boolean {
    const now = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(now, this.#elu);
    const own = this.#indexOwnMs;
    this.#elu = now;
    this.#indexOwnMs = 0;
    const total = d.active + d.idle;
    return total > 0 && Math.max(0, d.active - own) / total > INDEX_BUSY_UTILIZATION;
  }

  /** Whether the oldest queued text has waited longer than INDEX_MAX_LAG_MS. */
  async #indexLagging(): Promise<boolean> {
    const at = await this.#read(() => this.#search.oldestPendingAtSync());
    return at !== null && Date.now() - at > INDEX_MAX_LAG_MS;
  }

  /** Indexes queued texts up to INDEX_BATCH_CHARS (at least one); true if more may be queued. */
  async #indexBatch(): Promise<boolean> {
    const any = await this.#read(() => this.#search.hasPendingSync());
    if (!any) return false;
    return this.#h.transaction(() => this.#search.indexPendingSync(INDEX_BATCH_ROWS, INDEX_BATCH_CHARS));
  }

  // Hot single-row lookups are cached prepared statements (kysely would compile and prepare the
  // query on every call: measured ~15 % of a worker's CPU during SMTP ingest).

  /** hot-path lookup of the fields message operations need */
  #mailboxCore(id: number): { accountId: number; uidValidity: number; uidNext: number } {
    const r = this.#get<{ account_id: number; uidvalidity: number; uidnext: number }>(
      "SELECT account_id, uidvalidity, uidnext FROM mailbox WHERE id = ?",
      id,
    );
    if (!r) throw new StoreError("NONEXISTENT", "no such mailbox");
    return { accountId: r.account_id, uidValidity: r.uidvalidity, uidNext: r.uidnext };
  }

  /** Rows for the given uids of one mailbox, in uid order (missing uids skipped). */
  #rowsForUids(mailboxId: number, uids: readonly number[], columns: string, safe: boolean): unknown[][] {
    const list = uniqueSorted(uids);
    if (list.length === 0) return [];
    if (list.length <= POINT_LOOKUP_MAX) {
      const st = this.#stmt(
        `SELECT ${columns} FROM message m WHERE m.mailbox_id = ? AND m.uid = ?`,
        safe,
      ).raw(true);
      const out: unknown[][] = [];
      for (const u of list) {
        const r = st.get(mailboxId, u) as unknown[] | undefined;
        if (r) out.push(r);
      }
      return out;
    }
    const want = new Set(list);
    const rows = this.#all(
      `SELECT ${columns} FROM message m WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`,
      safe,
      mailboxId,
      list[0],
      list[list.length - 1],
    );
    return rows.filter((r) => want.has(Number(r[0])));
  }

  #msgRows(mailboxId: number, uids: readonly number[]): MsgRow[] {
    return this.#rowsForUids(
      mailboxId,
      uids,
      "m.uid, m.size, m.blob_id, m.prefix_id, m.email_id, m.thread_id",
      false,
    ).map((r) => ({
      uid: Number(r[0]),
      size: Number(r[1]),
      blobId: Number(r[2]),
      prefixId: r[3] === null ? null : Number(r[3]),
      emailId: String(r[4]),
      threadId: String(r[5]),
    }));
  }

  /**
   * Deletes message rows, logs them as expunged, adjusts usage; blobs are collected after commit.
   * `copied`: the rows were just copied within the account (MOVE), so their Emails live on.
   */
  #removeRows(
    ctx: TxCtx,
    accountId: number,
    mailboxId: number,
    rows: MsgRow[],
    modseq: bigint,
    copied = false,
  ): void {
    const del = this.#stmt("DELETE FROM message WHERE mailbox_id = ? AND uid = ?");
    const log = this.#stmt(
      "INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?) ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq",
    );
    let bytes = 0;
    const prefixes = new Set<number>();
    for (const r of rows) {
      del.run(mailboxId, r.uid);
      log.run(mailboxId, r.uid, modseq);
      // an Email lives on while another mailbox holds a row of it (checked at the end of the tx)
      ctx.changes.touch(accountId, "email", r.emailId, copied ? "update" : "remove", r.threadId);
      bytes += r.size;
      ctx.gcBlobs.add(r.blobId);
      if (r.prefixId !== null) prefixes.add(r.prefixId);
    }
    this.#dropPrefixes(prefixes);
    this.#subtractUsage(accountId, bytes, rows.length);
    if (rows.length > 0) ctx.changes.touch(accountId, "mailbox", String(mailboxId), "update");
  }

  #subtractUsage(accountId: number, bytes: number, messages: number): void {
    this.#run(
      `UPDATE account SET used_bytes = CASE WHEN used_bytes > ? THEN used_bytes - ? ELSE 0 END,
         used_messages = CASE WHEN used_messages > ? THEN used_messages - ? ELSE 0 END WHERE id = ?`,
      bytes,
      bytes,
      messages,
      messages,
      accountId,
    );
  }

  #dropPrefixes(ids: Iterable<number>): void {
    const st = this.#stmt(
      "DELETE FROM delivery_prefix WHERE id = ? AND NOT EXISTS (SELECT 1 FROM message WHERE prefix_id = ?)",
    );
    for (const id of ids) st.run(id, id);
  }

  #touchMailbox(mailboxId: number, modseq: bigint, uidNext?: number): void {
    if (uidNext === undefined) {
      this.#run("UPDATE mailbox SET highestmodseq = ? WHERE id = ?", modseq, mailboxId);
    } else {
      this.#run("UPDATE mailbox SET highestmodseq = ?, uidnext = ? WHERE id = ?", modseq, uidNext, mailboxId);
    }
  }

  #checkQuota(accountId: number, addBytes: number, addMessages: number): void {
    const a = this.#get<{
      quota_bytes: number;
      quota_messages: number;
      used_bytes: number;
      used_messages: number;
    }>("SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM account WHERE id = ?", accountId);
    if (!a) throw new StoreError("NONEXISTENT", "no such account");
    // RFC 9208 §4.3 / RFC 5530 OVERQUOTA: nothing is stored when the limit would be exceeded
    if (a.quota_bytes > 0 && a.used_bytes + addBytes > a.quota_bytes) {
      throw new StoreError("OVERQUOTA", "storage quota exceeded");
    }
    if (a.quota_messages > 0 && a.used_messages + addMessages > a.quota_messages) {
      throw new StoreError("OVERQUOTA", "message count quota exceeded");
    }
  }

  // --- domains, accounts, aliases, outbound queue, sending limits: domain/ over the db port ---

  readonly addDomain: Store["addDomain"] = (n) => this.#acc.addDomain(n);
  readonly listDomains: Store["listDomains"] = () => this.#acc.listDomains();
  readonly deleteDomain: Store["deleteDomain"] = (n, o) => this.#acc.deleteDomain(n, o);
  readonly getDomain: Store["getDomain"] = (n) => this.#acc.getDomain(n);
  readonly createAccount: Store["createAccount"] = (a, h) => this.#acc.createAccount(a, h);
  readonly getAccount: Store["getAccount"] = (a) => this.#acc.getAccount(a);
  readonly getAccountById: Store["getAccountById"] = (id) => this.#acc.getAccountById(id);
  readonly listAccounts: Store["listAccounts"] = (d) => this.#acc.listAccounts(d);
  readonly setPassword: Store["setPassword"] = (a, h) => this.#acc.setPassword(a, h);
  readonly updateAccount: Store["updateAccount"] = (a, p) => this.#acc.updateAccount(a, p);
  readonly deleteAccount: Store["deleteAccount"] = (a) => this.#acc.deleteAccount(a);
  readonly addAlias: Store["addAlias"] = (s, t) => this.#ali.addAlias(s, t);
  readonly listAliases: Store["listAliases"] = (d) => this.#ali.listAliases(d);
  readonly deleteAlias: Store["deleteAlias"] = (s, t) => this.#ali.deleteAlias(s, t);
  readonly resolveRecipient: Store["resolveRecipient"] = (a) => this.#ali.resolveRecipient(a);
  readonly addressesOf: Store["addressesOf"] = (id) => this.#ali.addressesOf(id);
  readonly enqueueOutbound: Store["enqueueOutbound"] = (i) => this.#queue.enqueueOutbound(i);
  readonly listQueue: Store["listQueue"] = () => this.#queue.listQueue();
  readonly getQueuedMessage: Store["getQueuedMessage"] = (id) => this.#queue.getQueuedMessage(id);
  readonly getQueueEntry: Store["getQueueEntry"] = (id) => this.#queue.getQueueEntry(id);
  readonly claimOutbound: Store["claimOutbound"] = (o) => this.#queue.claimOutbound(o);
  readonly finishOutbound: Store["finishOutbound"] = (id, o, r) => this.#queue.finishOutbound(id, o, r);
  readonly releaseOutboundLease: Store["releaseOutboundLease"] = (id, o) =>
    this.#queue.releaseOutboundLease(id, o);
  readonly renewOutboundLease: Store["renewOutboundLease"] = (id, o, ms) =>
    this.#queue.renewOutboundLease(id, o, ms);
  readonly countOutbound: Store["countOutbound"] = (id) => this.#queue.countOutbound(id);
  readonly updateOutbound: Store["updateOutbound"] = (id, op) => this.#queue.updateOutbound(id, op);
  readonly deleteOutbound: Store["deleteOutbound"] = (id) => this.#queue.deleteOutbound(id);
  readonly recordSending: Store["recordSending"] = (id, n, l) => this.#limits.recordSending(id, n, l);

  // --- mailboxes, message reads, change-log reads: domain/ over the ports -------------------

  readonly listMailboxes: Store["listMailboxes"] = (a) => this.#mbx.listMailboxes(a);
  readonly getMailbox: Store["getMailbox"] = (a, n) => this.#mbx.getMailbox(a, n);
  readonly getMailboxById: Store["getMailboxById"] = (id) => this.#mbx.getMailboxById(id);
  readonly createMailbox: Store["createMailbox"] = (a, n, u) => this.#mbx.createMailbox(a, n, u);
  readonly deleteMailbox: Store["deleteMailbox"] = (a, n) => this.#mbx.deleteMailbox(a, n);
  readonly renameMailbox: Store["renameMailbox"] = (a, f, t) => this.#mbx.renameMailbox(a, f, t);
  readonly setSubscribed: Store["setSubscribed"] = (a, n, s) => this.#mbx.setSubscribed(a, n, s);
  readonly listSubscriptions: Store["listSubscriptions"] = (a) => this.#mbx.listSubscriptions(a);
  readonly mailboxCounts: Store["mailboxCounts"] = (id) => this.#mbx.mailboxCounts(id);
  readonly claimRecent: Store["claimRecent"] = (id, u) => this.#mbx.claimRecent(id, u);
  readonly recentCount: Store["recentCount"] = (id) => this.#mbx.recentCount(id);
  readonly listMessages: Store["listMessages"] = (id) => this.#msgs.listMessages(id);
  readonly listFlagText: Store["listFlagText"] = (id) => this.#msgs.listFlagText(id);
  readonly changesSince: Store["changesSince"] = (id, m) => this.#msgs.changesSince(id, m);
  readonly getMessages: Store["getMessages"] = (id, u) => this.#msgs.getMessages(id, u);
  readonly getParsed: Store["getParsed"] = (b) => this.#msgs.getParsed(b);
  readonly readMessage: Store["readMessage"] = (id, u) => this.#msgs.readMessage(id, u);
  readonly openMessage: Store["openMessage"] = (id, u) => this.#msgs.openMessage(id, u);
  readonly searchText: Store["searchText"] = (id, q) => this.#msgs.searchText(id, q);
  readonly currentState: Store["currentState"] = (a) => this.#chg.currentState(a);
  readonly changesSinceState: Store["changesSinceState"] = (a, k, s, m) =>
    this.#chg.changesSinceState(a, k, s, m);

  // --- messages ---------------------------------------------------------------------------

  async append(accountId: Id, mailboxId: Id, input: AppendInput): Promise<AppendResult> {
    const [r] = await this.appendMany(accountId, mailboxId, [input]);
    return r!;
  }

  async appendMany(accountId: Id, mailboxId: Id, givenInputs: AppendInput[]): Promise<AppendResult[]> {
    // Raw messages are stored byte-exact, except that parts holding NUL octets are stored
    // base64-encoded (RFC 3516 §4.4 allows it; IMAP literals cannot carry NUL — see
    // docs/architecture.md "Mail store"): sizes, quota and the part index describe that form
    const inputs = givenInputs.map((i) => {
      const enc = this.#mime.encodeNulParts?.(i.raw) ?? null;
      return enc ? { ...i, raw: enc } : i;
    });
    // cheap checks before any blob is written
    const known = await this.#read(() => {
      const mb = this.#mailboxCore(mailboxId);
      if (mb.accountId !== accountId) throw new StoreError("NONEXISTENT", "no such mailbox");
      return true;
    });
    if (!known || inputs.length === 0) return [];
    const sizes = inputs.map((i) => i.raw.byteLength + (i.deliveryHeaders?.byteLength ?? 0));
    for (const s of sizes) {
      if (s > this.#maxSize)
        throw new StoreError("TOOBIG", `message exceeds the size limit of ${this.#maxSize} octets`);
    }
    await this.#read(() =>
      this.#checkQuota(
        accountId,
        sizes.reduce((a, b) => a + b, 0),
        inputs.length,
      ),
    );
    for (const i of inputs) {
      if (i.internalDate && !Number.isFinite(i.internalDate.getTime())) {
        throw new StoreError("INVALID", "invalid internal date");
      }
    }
    const prepared: PreparedAppend[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const inp = inputs[i]!;
      const sha = sha256Hex(inp.raw);
      const parsed = this.#mime.parseMessage(inp.raw);
      const exists = await this.#read(() => this.#get("SELECT 1 AS x FROM blob WHERE sha256 = ?", sha));
      const prefix = inp.deliveryHeaders && inp.deliveryHeaders.byteLength > 0 ? inp.deliveryHeaders : null;
      prepared.push({
        raw: inp.raw,
        prefix,
        size: sizes[i]!,
        crlfSize: crlfSize(inp.raw, prefix),
        sha,
        parsed,
        text: exists ? null : this.#mime.searchText(inp.raw, parsed),
        flags: normalizeFlags(inp.flags ?? []),
        internalDate: inp.internalDate ? inp.internalDate.getTime() : Date.now(),
      });
    }
    // durable blob files before the transaction that references them (DESIGN.md §3)
    // announced: a group commit forming meanwhile waits a moment for this append
    const queued = this.#db.expectGroupedWrite();
    try {
      await eachLimited(prepared, PUT_CONCURRENCY, (p) => this.#blobs.put(p.raw, p.sha));
    } finally {
      // #appendTx below queues synchronously after this
      queued();
    }
    try {
      return await this.#appendTx(accountId, mailboxId, prepared);
    } catch (err) {
      // blob files written for a transaction that did not commit: remove those nothing references
      await this.#dropUnreferencedFiles(prepared.map((p) => p.sha)).catch(() => {});
      throw err;
    }
  }

  /** Deletes blob files that have no blob row, under the write lock (an appender re-checks under it). */
  async #dropUnreferencedFiles(shas: string[]): Promise<void> {
    await this.#h.transaction(() => {
      for (const sha of new Set(shas)) {
        if (!this.#get("SELECT 1 AS x FROM blob WHERE sha256 = ?", sha)) this.#blobs.deleteSync(sha);
      }
    });
  }

  #appendTx(accountId: number, mailboxId: number, prepared: PreparedAppend[]): Promise<AppendResult[]> {
    return this.#txGrouped((ctx) => {
      const mb = this.#mailboxCore(mailboxId);
      if (mb.accountId !== accountId) throw new StoreError("NONEXISTENT", "no such mailbox");
      this.#checkQuota(
        accountId,
        prepared.reduce((a, p) => a + p.size, 0),
        prepared.length,
      );
      const modseq = this.#modseq(ctx, accountId);
      const now = Date.now();
      const insert = this.#stmt(
        `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
           internal_date, save_date, flags, flag_bits, modseq, crlf_size)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      let uid = mb.uidNext;
      let bytes = 0;
      const results: AppendResult[] = [];
      for (const p of prepared) {
        const blobId = this.#ensureBlob(ctx, p);
        const prefixId = p.prefix
          ? Number(this.#run("INSERT INTO delivery_prefix (data) VALUES (?)", p.prefix).lastInsertRowid)
          : null;
        const emailId = newId("M");
        const threadId = this.#threadFor(ctx, accountId, p, emailId);
        ctx.changes.touch(accountId, "email", emailId, "create", threadId);
        insert.run(
          mailboxId,
          uid,
          accountId,
          emailId,
          threadId,
          blobId,
          prefixId,
          p.size,
          p.internalDate,
          now,
          flagText(p.flags),
          flagBits(p.flags),
          modseq,
          p.crlfSize,
        );
        results.push({ mailboxId, uidValidity: mb.uidValidity, uid, modseq });
        uid++;
        bytes += p.size;
      }
      this.#touchMailbox(mailboxId, modseq, uid);
      ctx.changes.touch(accountId, "mailbox", String(mailboxId), "update");
      this.#run(
        "UPDATE account SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?",
        bytes,
        prepared.length,
        accountId,
      );
      this.#beacon(ctx, accountId, mailboxId, modseq);
      return results;
    });
  }

  /** Blob row (+ FTS entry) for appended content; re-writes the file if a GC removed it meanwhile. */
  #ensureBlob(ctx: TxCtx, p: PreparedAppend): number {
    const ins = this.#stmt(
      `INSERT INTO blob (sha256, size, parsed, parsed_version, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sha256) DO NOTHING RETURNING id`,
    )
      .raw(true)
      .get(p.sha, p.raw.byteLength, JSON.stringify(p.parsed), p.parsed.version, Date.now()) as
      | [number]
      | undefined;
    let id: number;
    if (ins) {
      id = Number(ins[0]);
      const t = p.text ?? this.#mime.searchText(p.raw, p.parsed);
      // the text now; the trigram index entry later (background indexer, "FTS indexer" below):
      // it is over half of an append's WAL pages, and searches scan pending rows meanwhile
      this.#search.indexSync(id, t);
      ctx.indexPending = true;
    } else {
      id = Number(this.#get<{ id: number }>("SELECT id FROM blob WHERE sha256 = ?", p.sha)!.id);
      // a blob awaiting the sweeper is referenced again: unmark it under the write lock
      this.#run("UPDATE blob SET gc_pending = 0 WHERE id = ? AND gc_pending <> 0", id);
    }
    // under the write lock: a GC that unlinked the file has committed or will see our reference
    if (!this.#blobs.exists(p.sha)) this.#blobs.writeSync(p.sha, p.raw);
    return id;
  }

  /** Thread id from Message-ID / In-Reply-To / References (RFC 5256 §2.2 style, simplified). */
  #threadFor(ctx: TxCtx, accountId: number, p: PreparedAppend, emailId: string): string {
    const own = msgIds(p.parsed.envelope.messageId)[0] ?? null;
    let refs: string[] = [];
    try {
      refs = msgIds(this.#mime.headerValues(p.raw, p.parsed, "references").join(" "));
    } catch {
      refs = [];
    }
    for (const id of msgIds(p.parsed.envelope.inReplyTo)) if (!refs.includes(id)) refs.push(id);
    refs = refs.slice(-50);
    const lookup = this.#stmt("SELECT thread_id FROM thread_ref WHERE account_id = ? AND msgid = ?").raw(
      true,
    );
    let thread: string | null = null;
    for (const id of own ? [own, ...refs.toReversed()] : refs.toReversed()) {
      const r = lookup.get(accountId, id) as [string] | undefined;
      if (r) {
        thread = r[0];
        break;
      }
    }
    if (thread === null) {
      thread = "T" + emailId.slice(1);
      ctx.changes.touch(accountId, "thread", thread, "create");
    } else if (!ctx.changes.has(accountId, "thread", thread)) {
      // a reference can outlive its thread's last message until pruned: then it is new again
      const existed = changeLog.objectExists((t) => this.#stmt(t), accountId, "thread", thread);
      ctx.changes.touch(accountId, "thread", thread, existed ? "update" : "create");
    }
    const put = this.#stmt(
      "INSERT INTO thread_ref (account_id, msgid, thread_id) VALUES (?, ?, ?) ON CONFLICT (account_id, msgid) DO NOTHING",
    );
    if (own) put.run(accountId, own, thread);
    for (const id of refs) put.run(accountId, id, thread);
    return thread;
  }

  // --- account change log ------------------------------------------------------------------

  async pruneHistory(before: Date): Promise<void> {
    await changeLog.pruneHistory(
      {
        stmt: (t, safe) => this.#stmt(t, safe),
        read: (fn) => this.#read(fn),
        write: (fn) => this.#h.transaction(fn),
        stopped: () => this.#closed,
      },
      before.getTime(),
    );
  }

  /** The background pruning job: the first run pruneDelayMs after open, then hourly. */
  #schedulePrune(delayMs: number): void {
    if (this.#closed || this.#changeLogDays <= 0) return;
    this.#pruneTimer = setTimeout(() => {
      this.#pruneTimer = null;
      const before = new Date(Date.now() - this.#changeLogDays * 86_400_000);
      this.#pruneRun = this.pruneHistory(before)
        // history left unpruned is only space; the next run retries
        .catch(() => {})
        .finally(() => {
          this.#pruneRun = null;
          this.#schedulePrune(PRUNE_INTERVAL_MS);
        });
    }, delayMs);
    this.#pruneTimer.unref();
  }

  async storeFlags(
    mailboxId: Id,
    uids: number[],
    op: FlagOp,
    flags: string[],
    opts?: { unchangedSince?: bigint },
  ): Promise<StoreFlagsResult> {
    return this.#txGrouped((ctx) => {
      const mb = this.#mailboxCore(mailboxId);
      const rows = this.#rowsForUids(mailboxId, uids, "m.uid, m.flags, m.modseq, m.email_id", true);
      let countsChanged = false;
      const updated: MessageFlagsRow[] = [];
      const modified: number[] = [];
      let modseq: bigint | null = null;
      const upd = this.#stmt(
        "UPDATE message SET flags = ?, flag_bits = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
      );
      for (const r of rows) {
        const uid = Number(r[0]);
        const cur = parseFlagText(r[1] as string);
        // RFC 7162 §3.1.3: UNCHANGEDSINCE fails for messages changed after the given modseq
        if (opts?.unchangedSince !== undefined && (r[2] as bigint) > opts.unchangedSince) {
          modified.push(uid);
          continue;
        }
        const next = applyFlagOp(cur, op, flags);
        if (sameFlags(cur, next)) continue;
        modseq ??= this.#modseq(ctx, mb.accountId);
        const bits = flagBits(next);
        upd.run(flagText(next), bits, modseq, mailboxId, uid);
        ctx.changes.touch(mb.accountId, "email", String(r[3]), "update");
        // RFC 8621 §2 unreadEmails: neither $seen nor $draft — the mailbox's counts change
        if (((bits ^ flagBits(cur)) & (FLAG_SEEN | FLAG_DRAFT)) !== 0) countsChanged = true;
        updated.push({ uid, flags: next, modseq });
      }
      if (modseq !== null) {
        this.#touchMailbox(mailboxId, modseq);
        this.#beacon(ctx, mb.accountId, mailboxId, modseq);
        if (countsChanged) ctx.changes.touch(mb.accountId, "mailbox", String(mailboxId), "update");
      }
      return { updated, modified };
    });
  }

  async expunge(mailboxId: Id, uids: number[]): Promise<number[]> {
    return this.#txGrouped((ctx) => {
      const mb = this.#mailboxCore(mailboxId);
      const rows = this.#msgRows(mailboxId, uids);
      if (rows.length === 0) return [];
      const modseq = this.#modseq(ctx, mb.accountId);
      this.#removeRows(ctx, mb.accountId, mailboxId, rows, modseq);
      this.#touchMailbox(mailboxId, modseq);
      this.#beacon(ctx, mb.accountId, mailboxId, modseq);
      return rows.map((r) => r.uid);
    });
  }

  /** Inserts copies of rows into dst; returns [srcUid, dstUid] pairs and total bytes. */
  #copyRows(
    ctx: TxCtx,
    srcMailboxId: number,
    srcAccountId: number,
    uids: readonly number[],
    dstMailboxId: number,
    dstAccountId: number,
    checkQuota: boolean,
  ): { mapping: Array<[number, number]>; rows: MsgRow[] } {
    const dst = this.#mailboxCore(dstMailboxId);
    const rows = this.#msgRows(srcMailboxId, uids);
    if (rows.length === 0) return { mapping: [], rows };
    const bytes = rows.reduce((a, r) => a + r.size, 0);
    if (checkQuota) this.#checkQuota(dstAccountId, bytes, rows.length);
    const modseq = this.#modseq(ctx, dstAccountId);
    const now = Date.now();
    // COPY/MOVE keep emailId and threadId (RFC 8474 §5.1: same EMAILID for copies); blob shared
    const ins = this.#stmt(
      `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
         internal_date, save_date, flags, flag_bits, modseq, crlf_size)
       SELECT ?, ?, ?, email_id, thread_id, blob_id, prefix_id, size, internal_date, ?, flags, flag_bits, ?, crlf_size
       FROM message WHERE mailbox_id = ? AND uid = ?`,
    );
    let uid = dst.uidNext;
    const mapping: Array<[number, number]> = [];
    const sameAccount = srcAccountId === dstAccountId;
    const has = (kind: "email" | "thread", id: string): boolean =>
      ctx.changes.has(dstAccountId, kind, id) ||
      changeLog.objectExists((t) => this.#stmt(t), dstAccountId, kind, id);
    for (const r of rows) {
      if (sameAccount) {
        // the same Email gains a mailbox (emailId kept, RFC 8474 §5.1); its thread is unchanged
        ctx.changes.touch(dstAccountId, "email", r.emailId, "update", r.threadId);
      } else {
        // into another account: new there unless that account already holds the same Email
        const threadOp = has("thread", r.threadId) ? "update" : "create";
        ctx.changes.touch(
          dstAccountId,
          "email",
          r.emailId,
          has("email", r.emailId) ? "update" : "create",
          r.threadId,
        );
        ctx.changes.touch(dstAccountId, "thread", r.threadId, threadOp);
      }
      ins.run(dstMailboxId, uid, dstAccountId, now, modseq, srcMailboxId, r.uid);
      mapping.push([r.uid, uid]);
      uid++;
    }
    this.#touchMailbox(dstMailboxId, modseq, uid);
    ctx.changes.touch(dstAccountId, "mailbox", String(dstMailboxId), "update");
    this.#run(
      "UPDATE account SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?",
      bytes,
      rows.length,
      dstAccountId,
    );
    this.#beacon(ctx, dstAccountId, dstMailboxId, modseq);
    return { mapping, rows };
  }

  #moveRows(
    ctx: TxCtx,
    srcMailboxId: number,
    srcAccountId: number,
    uids: readonly number[],
    dstMailboxId: number,
    dstAccountId: number,
  ): Array<[number, number]> {
    const { mapping, rows } = this.#copyRows(
      ctx,
      srcMailboxId,
      srcAccountId,
      uids,
      dstMailboxId,
      dstAccountId,
      srcAccountId !== dstAccountId,
    );
    if (rows.length === 0) return mapping;
    const modseq = this.#modseq(ctx, srcAccountId);
    this.#removeRows(ctx, srcAccountId, srcMailboxId, rows, modseq, srcAccountId === dstAccountId);
    this.#touchMailbox(srcMailboxId, modseq);
    this.#beacon(ctx, srcAccountId, srcMailboxId, modseq);
    return mapping;
  }

  async copy(srcMailboxId: Id, uids: number[], dstMailboxId: Id): Promise<CopyResult> {
    return this.#txGrouped((ctx) => {
      const src = this.#mailboxCore(srcMailboxId);
      const dst = this.#mailboxCore(dstMailboxId);
      const { mapping } = this.#copyRows(
        ctx,
        srcMailboxId,
        src.accountId,
        uids,
        dstMailboxId,
        dst.accountId,
        true,
      );
      return { uidValidity: dst.uidValidity, mapping };
    });
  }

  async move(srcMailboxId: Id, uids: number[], dstMailboxId: Id): Promise<CopyResult> {
    return this.#txGrouped((ctx) => {
      const src = this.#mailboxCore(srcMailboxId);
      const dst = this.#mailboxCore(dstMailboxId);
      const mapping = this.#moveRows(ctx, srcMailboxId, src.accountId, uids, dstMailboxId, dst.accountId);
      return { uidValidity: dst.uidValidity, mapping };
    });
  }

  async close(): Promise<void> {
    // the sweeper stops after its current batch; marks left are collected at the next open
    this.#closed = true;
    if (this.#orphanTimer) clearTimeout(this.#orphanTimer);
    if (this.#pruneTimer) clearTimeout(this.#pruneTimer);
    this.#pruneTimer = null;
    // queued texts stay queued (searches scan them); the next open indexes them
    if (this.#indexTimer) clearTimeout(this.#indexTimer);
    this.#indexTimer = null;
    await this.whenGcIdle();
    await this.#orphanRun;
    await this.#pruneRun;
    await this.#db.flush();
    await this.#blobs.close();
    await this.feed.close();
    await this.#db.close();
  }
}
