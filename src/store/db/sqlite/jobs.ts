/**
 * The SQLite adapter's background jobs: the blob sweeper, the orphan-file scan, the FTS5 indexer
 * and the history pruning schedule. They live in the adapter, not in domain/, because each one is
 * bound to how SQLite and the blob files keep in step: the sweeper unlinks files synchronously
 * while holding SQLite's write lock (that, and `blobs.ensure` re-checking the file under the same
 * lock, is the "never referenced-but-missing" protocol), and the indexer moves texts into the FTS5
 * table on the same connection. A PostgreSQL backend brings its own (e.g. a row-locked sweep).
 * The domain side only marks blobs (TxContext.releaseBlobs) and schedules these jobs after commit.
 */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FsBlobStore } from "../../blob/fs.ts";
import { type Fts5Search, unparkSync } from "../../search/fts.ts";
import { pruneHistory } from "./changelog.ts";
import { checkpointNoWait, WalCheckpointer } from "./checkpointer.ts";
import { gcBarrierActive, gcBarrierDir } from "./gc-barrier.ts";
import { BUSY_PAUSE_FACTOR, LoopLoad, PEER_DEFER_MS, PeerPacing } from "./load.ts";
import { sweepOrphans } from "./orphans.ts";
import type { SqliteHandle } from "./sqlite.ts";

/** blobs examined per sweeper transaction (bounds the write-lock hold time) */
const GC_BATCH = 64;
/** the sweeper starts once no blob was marked for this long… */
const GC_DELAY_MS = 1000;
/** …or this long after the first mark, whichever comes first */
const GC_MAX_DELAY_MS = 10_000;
/** batches per sweeper run; a later trigger (or the next open) continues */
const GC_MAX_PASSES = 20_000;
/** a process that is not busy looks this often for work other processes' commits left (#peerPoll) */
const PEER_POLL_MS = 1000;
/** messages of a deleted mailbox removed per purge transaction (bounds the write-lock hold time) */
const PURGE_BATCH = 500;
/** pause after a failed TRUNCATE checkpoint (a reader held an old snapshot), and tries */
const WAL_RETRY_MS = 5000;
const WAL_MAX_TRIES = 12;
/** files named like blobs but without a row are removed once older than this (crash leftovers) */
const DEFAULT_ORPHAN_MIN_AGE_MS = 15 * 60_000;
const DEFAULT_ORPHAN_SCAN_DELAY_MS = 30_000;
/** FTS indexer transactions: at most this many queued texts and (beyond the first) characters */
const INDEX_BATCH_ROWS = 64;
const INDEX_BATCH_CHARS = 256 * 1024;
/** appends within this window share one indexer transaction */
const INDEX_DELAY_MS = 200;
/**
 * The indexer yields to protocol work (load.ts: this process's loop busy, or another connection
 * writing): it skips its turn unless the oldest queued text has waited this long, which bounds
 * the index lag under load
 */
const INDEX_MAX_LAG_MS = 30_000;
/**
 * Index entries of swept blobs (fts_dead; searches skip them) are deleted in the indexer's turns
 * after the queued texts, this many per transaction, and while busy only once the oldest has
 * waited DEAD_MAX_LAG_MS: they cost disk space, not correctness
 */
const DEAD_BATCH = 64;
const DEAD_MAX_LAG_MS = 10 * 60_000;
const DEFAULT_CHANGE_LOG_DAYS = 90;
const DEFAULT_PRUNE_DELAY_MS = 60_000;
/** RFC 3834 §2 suggests 7 days between replies to one sender */
const DEFAULT_VACATION_REPLY_MS = 7 * 86_400_000;
const PRUNE_INTERVAL_MS = 3_600_000;
/** a claimed job's next time is this much earlier than its interval: the claimant's own next timer claims it again */
const CLAIM_SLACK_MS = 60_000;
/** a sweep held back by a backup's GC barrier (gc-barrier.ts) is retried this much later */
const GC_BARRIER_RETRY_MS = 60_000;
/** expired uploads stay this long before the job removes them (a download just begun finishes) */
const UPLOAD_GRACE_MS = 10 * 60_000;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The sweeper's and the indexer's transactions: a power loss may take them back (their marks and
 * queues stay, and they run again), so they commit without a WAL fsync of their own (sqlite.ts)
 */
const REDOABLE = { redoable: true } as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** a pause of ms (rounded up, at least 1), or one turn of the event loop for 0 */
const pauseFor = (ms: number) =>
  new Promise<void>((resolve) =>
    ms > 0 ? setTimeout(resolve, Math.max(1, Math.ceil(ms))) : setImmediate(resolve),
  );

/**
 * Whether this process runs the store-wide job `name` now: the first process past the job's next
 * time (table job_claim, migration 26) moves it on by `everyMs` and runs it; the others, whose
 * timers fire about as often, skip it. A claimant that stops is replaced at the next timer of
 * another process.
 */
export function claimJob(h: SqliteHandle, name: string, everyMs: number, now = Date.now()): Promise<boolean> {
  return h.transaction(() => {
    h.stmt("INSERT OR IGNORE INTO job_claim (name, next_at) VALUES (?, 0)").run(name);
    const r = h
      .stmt("UPDATE job_claim SET next_at = ? WHERE name = ? AND next_at <= ?")
      .run(now + everyMs - CLAIM_SLACK_MS, name, now);
    return r.changes === 1;
  });
}

export interface SqliteJobsOptions {
  /** orphan-file scan this long after open; null = not at open (collectGarbage() still does it) */
  orphanScanDelayMs?: number | null;
  /** minimum age of an unreferenced blob file or temp file before the orphan scan removes it */
  orphanMinAgeMs?: number;
  /** change-log and expunge-log history kept, in days (store.change_log_days); 0 = forever. Default 90 */
  changeLogDays?: number;
  /** first background pruning run this long after open, then hourly; null = none. Default 60 s */
  pruneDelayMs?: number | null;
  /**
   * look for the background work other processes' commits left, and take it on when they are
   * busy (#peerPoll); default true. One-shot CLI commands do not: their close would wait for it
   */
  peerWork?: boolean;
  /** vacation reply records older than this are pruned by the same job (0 = never). Default 7 days */
  vacationReplyMs?: number;
  /** deletes vacation reply records older than `before` (domain/vacation.ts) */
  pruneVacationReplies?(before: Date): Promise<unknown>;
  /** deletes the webmail sessions expired before `now` (domain/webmail-sessions.ts) */
  pruneWebmailSessions?(now: Date): Promise<unknown>;
  /** expunged messages kept this long for undelete (store.undelete_window); 0 = none kept. Default 0 */
  undeleteWindowMs?: number;
  /** a blob's row and file were deleted (caches keyed by content hash drop it) */
  onBlobDeleted?(sha: string): void;
  /**
   * One step of the purge of deleted mailboxes (domain/mailboxes.ts purgeDeleted): removes up to
   * `limit` of their messages; false when nothing is left.
   */
  purge?(limit: number): Promise<boolean>;
}

export class SqliteJobs {
  readonly #h: SqliteHandle;
  readonly #files: FsBlobStore;
  readonly #checkpointer: WalCheckpointer;
  /** backups hold the sweeper off while they copy blobs (gc-barrier.ts) */
  readonly #barrierDir: string;
  #barrierTimer: NodeJS.Timeout | null = null;
  readonly #search: Fts5Search;
  readonly #onBlobDeleted: (sha: string) => void;
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
  readonly #indexLoad = new LoopLoad();
  #closed = false;
  /** event-loop utilization at the sweeper's last pause, and its own batch time since */
  readonly #gcLoad = new LoopLoad();
  /** who does the background work, and how fast (load.ts) */
  readonly #pacing: PeerPacing;
  readonly #pollLoad = new LoopLoad();
  #pollTimer: NodeJS.Timeout | null = null;
  readonly #purge: ((limit: number) => Promise<boolean>) | null;
  #purgeRun: Promise<void> | null = null;
  #purgeAgain = false;
  #walTimer: NodeJS.Timeout | null = null;
  #walRun: Promise<void> | null = null;
  #orphanTimer: NodeJS.Timeout | null = null;
  #orphanRun: Promise<number> | null = null;
  readonly #changeLogDays: number;
  readonly #vacationReplyMs: number;
  readonly #pruneVacation: ((before: Date) => Promise<unknown>) | null;
  readonly #pruneSessions: ((now: Date) => Promise<unknown>) | null;
  readonly #undeleteWindowMs: number;
  #pruneTimer: NodeJS.Timeout | null = null;
  #pruneRun: Promise<void> | null = null;

  constructor(h: SqliteHandle, files: FsBlobStore, search: Fts5Search, opts: SqliteJobsOptions = {}) {
    this.#h = h;
    this.#files = files;
    this.#barrierDir = gcBarrierDir(dirname(files.root));
    this.#search = search;
    this.#onBlobDeleted = opts.onBlobDeleted ?? (() => {});
    this.#changeLogDays = opts.changeLogDays ?? DEFAULT_CHANGE_LOG_DAYS;
    this.#vacationReplyMs = opts.vacationReplyMs ?? DEFAULT_VACATION_REPLY_MS;
    this.#pruneVacation = opts.pruneVacationReplies ?? null;
    this.#pruneSessions = opts.pruneWebmailSessions ?? null;
    this.#undeleteWindowMs = opts.undeleteWindowMs ?? 0;
    this.#purge = opts.purge ?? null;
    this.#checkpointer = new WalCheckpointer(h);
    this.#pacing = new PeerPacing(h, join(dirname(files.root), "run", "jobs-heartbeat"));
    if (opts.peerWork !== false) {
      this.#pollTimer = setInterval(() => this.#peerPoll(), PEER_POLL_MS);
      this.#pollTimer.unref();
    }
    const pruneDelay = opts.pruneDelayMs === undefined ? DEFAULT_PRUNE_DELAY_MS : opts.pruneDelayMs;
    if (pruneDelay !== null) this.#schedulePrune(pruneDelay);
    // blobs marked (texts queued) by a process that stopped before its sweeper (indexer) finished
    this.scheduleGc();
    this.scheduleIndex(0);
    // mailboxes deleted before a stop whose messages were not all purged
    if (this.#purge) setImmediate(() => this.schedulePurge());
    const delay =
      opts.orphanScanDelayMs === undefined ? DEFAULT_ORPHAN_SCAN_DELAY_MS : opts.orphanScanDelayMs;
    if (delay !== null) {
      const minAge = opts.orphanMinAgeMs ?? DEFAULT_ORPHAN_MIN_AGE_MS;
      this.#orphanTimer = setTimeout(() => {
        this.#orphanTimer = null;
        this.#orphanRun = this.#sweepOrphans(minAge)
          .catch(() => 0)
          .finally(() => {
            this.#orphanRun = null;
          });
      }, delay);
      this.#orphanTimer.unref();
    }
  }

  // --- blob garbage collection -----------------------------------------------------------
  //
  // Invariant (docs/architecture.md "Mail store"): never referenced-but-missing. A transaction
  // that removes the last message row of a blob marks it gc_pending (same transaction,
  // TxContext.finish). The sweeper, in short BEGIN IMMEDIATE transactions of GC_BATCH blobs,
  // re-checks that no row references each marked blob, deletes its rows (blob, search text; the
  // index entry is queued for the indexer, search/fts.ts removeSync) and unlinks
  // the file BEFORE COMMIT, while holding the write lock; it starts after a quiet GC_DELAY_MS. An
  // append that dedupes to a blob takes the same lock, clears the mark and re-checks the file
  // (ops-messages.ts blobs.ensure, rewriting it if a sweep removed it), so it can neither
  // reference a file about to be unlinked nor one already gone. A sweep that fails after some
  // unlinks rolls back: rows come back still marked and unreferenced, the next pass finishes
  // them (ENOENT is fine), and an appender rewrites a missing file.

  /**
   * Starts the background sweeper once no blob has been marked for GC_DELAY_MS (at the latest
   * GC_MAX_DELAY_MS after the first mark), or makes a running one take another pass: a burst of
   * expunges (many POP3 QUITs at once) is swept in a few full batches after it, not during it.
   */
  scheduleGc(): void {
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
        this.scheduleGc();
      }
    });
  }

  async #gcLoop(): Promise<void> {
    let swept = 0;
    try {
      for (let pass = 0; pass < GC_MAX_PASSES && !this.#closed; pass++) {
        this.#gcAgain = false;
        const turn = this.#pacing.turn(this.#gcLoad, 1);
        if (turn.defer) {
          // busy serving, and a process that is not does the sweeping (load.ts PeerPacing)
          await sleep(PEER_DEFER_MS);
          continue;
        }
        let examined: number;
        const t0 = performance.now();
        try {
          examined = await this.#gcBatch(GC_BATCH);
        } catch {
          // an unreferenced blob left behind is only wasted space; the next trigger or open retries
          return;
        }
        const took = performance.now() - t0;
        this.#gcLoad.own(took);
        swept += examined;
        if (examined < GC_BATCH && !this.#gcAgain) return;
        // paced (load.ts): protocol work in this process and other processes' writers get the
        // lock between batches; whenIdle() (tests, CLI) does not pace
        await pauseFor(took * turn.pause);
      }
    } finally {
      // a large sweep wrote a lot of WAL: bring the file back under its bound; the index entries
      // of the swept blobs are deleted by the indexer (search/fts.ts removeDeadSync)
      if (swept > 0) {
        this.scheduleWalCheck(0);
        this.scheduleIndex();
      }
    }
  }

  // --- purge of deleted mailboxes ---------------------------------------------------------
  //
  // DELETE retires a mailbox at once (domain/mailboxes.ts deleteMailbox); its messages go here,
  // PURGE_BATCH per transaction, paced like the sweeper; each transaction marks the blobs it
  // released, so the sweeper follows.

  /** Starts the purge, or makes a running one look again when it is done. */
  schedulePurge(): void {
    if (this.#closed || !this.#purge) return;
    if (this.#purgeRun) {
      this.#purgeAgain = true;
      return;
    }
    this.#purgeRun = this.#purgeLoop().finally(() => {
      this.#purgeRun = null;
      if (this.#purgeAgain) {
        this.#purgeAgain = false;
        this.schedulePurge();
      }
    });
  }

  async #purgeLoop(): Promise<void> {
    const purge = this.#purge;
    if (!purge) return;
    for (let pass = 0; pass < GC_MAX_PASSES && !this.#closed; pass++) {
      this.#purgeAgain = false;
      const turn = this.#pacing.turn(this.#gcLoad, 1);
      if (turn.defer) {
        await sleep(PEER_DEFER_MS);
        continue;
      }
      const t0 = performance.now();
      let more: boolean;
      try {
        more = await purge(PURGE_BATCH);
      } catch {
        // left retired: the next DELETE or open continues
        return;
      }
      const took = performance.now() - t0;
      this.#gcLoad.own(took);
      if (!more) return;
      await pauseFor(took * turn.pause);
    }
  }

  /**
   * Another process's commits may have left work that only that process's jobs were told of —
   * a deleted mailbox, marked blobs, queued texts — and that process may be too busy serving to
   * do it (load.ts PeerPacing): a process that is not busy looks for it while others write, and
   * takes it on. Each job's first step is a cheap read that ends it when there is nothing to do.
   */
  #peerPoll(): void {
    if (this.#closed || !this.#pacing.others.writing() || this.#pollLoad.busy()) return;
    this.schedulePurge();
    if (!this.#gcRun && !this.#gcTimer) this.#startGc();
    this.scheduleIndex(0);
  }

  // --- WAL bound ----------------------------------------------------------------------------
  //
  // SQLite's automatic checkpoints (PASSIVE, at commit) copy the log into the database but never
  // shrink the file, and cannot start the log over while a reader still uses an old snapshot,
  // so after a burst the file stays at its largest size. journal_size_limit (sqlite.ts)
  // truncates it whenever the log starts over; this job makes sure that happens after a burst:
  // when the file is larger than the bound, a TRUNCATE checkpoint that does not wait for
  // readers (busy_timeout 0); if a reader is in the way it is retried a few times later.

  /** Checks the WAL file's size after `delay` ms (after the sweeper and the indexer ran). */
  scheduleWalCheck(delay = WAL_RETRY_MS, tries = WAL_MAX_TRIES): void {
    if (this.#closed || this.#h.walLimitBytes <= 0 || this.#walTimer || this.#walRun) return;
    this.#walTimer = setTimeout(() => {
      this.#walTimer = null;
      this.#walRun = this.#walCheck()
        .then((ok) => {
          if (!ok && tries > 1) {
            this.#walRun = null;
            this.scheduleWalCheck(WAL_RETRY_MS, tries - 1);
          }
        })
        .catch(() => {})
        .finally(() => {
          this.#walRun = null;
        });
    }, delay);
    this.#walTimer.unref();
  }

  /** One check: true when the WAL is within its bound (now or after the checkpoint). */
  async #walCheck(): Promise<boolean> {
    const walSize = (): number => {
      try {
        return statSync(`${this.#h.path}-wal`).size;
      } catch {
        return 0;
      }
    };
    if (walSize() <= this.#h.walLimitBytes) return true;
    return this.#h.withConnection(() => this.checkpointSync() && walSize() <= this.#h.walLimitBytes);
  }

  /**
   * A TRUNCATE checkpoint that does not wait (busy_timeout 0): true when it completed, false when
   * another connection's write or old snapshot was in the way. Call with no transaction open.
   */
  checkpointSync(): boolean {
    return checkpointNoWait(this.#h, "TRUNCATE");
  }

  #has(text: string, ...args: unknown[]): boolean {
    return (
      this.#h
        .stmt(text)
        .raw(true)
        .get(...args) !== undefined
    );
  }

  /** One sweeper transaction; returns the number of marked blobs examined. */
  async #gcBatch(limit: number): Promise<number> {
    // cheap read first: no write lock (and no cross-process wait) when nothing is marked
    const any = await this.#h.withConnection(() =>
      this.#has("SELECT 1 FROM blob WHERE gc_pending <> 0 LIMIT 1"),
    );
    if (!any) return 0;
    // redoable: a power loss that takes this commit back leaves the rows marked and unreferenced,
    // which the next pass finishes (ENOENT is fine), as after a failed sweep
    return this.#h.transaction(() => {
      // checked under the write lock: a backup creates its barrier, then takes this lock once
      // before its metadata copy, so a sweep either finished before the copy or sees the barrier
      if (gcBarrierActive(this.#barrierDir)) {
        this.#retryAfterBarrier();
        return 0;
      }
      const rows = this.#h
        .stmt("SELECT id, sha256 FROM blob WHERE gc_pending <> 0 LIMIT ?")
        .raw(true)
        .all(limit) as unknown[][];
      const dead: string[] = [];
      for (const r of rows) {
        const id = Number(r[0]);
        const sha = String(r[1]);
        if (
          this.#has("SELECT 1 FROM message WHERE blob_id = ? LIMIT 1", id) ||
          this.#has("SELECT 1 FROM deleted_message WHERE blob_id = ? LIMIT 1", id)
        ) {
          // referenced again (COPY, or an append deduped to it), or an expunged message inside
          // the undelete window still holds it (purgeDeleted marks it again later): keep it
          this.#h.stmt("UPDATE blob SET gc_pending = 0 WHERE id = ?").run(id);
          unparkSync(this.#h.stmt, id);
          continue;
        }
        this.#search.removeSync(id);
        this.#h.stmt("DELETE FROM blob WHERE id = ?").run(id);
        this.#onBlobDeleted(sha);
        if (HEX64.test(sha)) dead.push(sha);
      }
      // unlinked before COMMIT, under the write lock (see the invariant above). Synchronously:
      // ≤ limit unlinks of tens of µs each, while an await here would hold the write lock for as
      // long as this process's event loop is busy
      this.#files.deleteManySync(dead);
      return rows.length;
    }, REDOABLE);
  }

  /** The orphan scan (orphans.ts) over this store's files, stopping when the jobs close. */
  #sweepOrphans(minAgeMs: number): Promise<number> {
    return sweepOrphans(this.#h, this.#files, minAgeMs, () => this.#closed);
  }

  #retryAfterBarrier(): void {
    if (this.#barrierTimer || this.#closed) return;
    this.#barrierTimer = setTimeout(() => {
      this.#barrierTimer = null;
      this.scheduleGc();
    }, GC_BARRIER_RETRY_MS);
    this.#barrierTimer.unref();
  }

  /**
   * Runs the sweeper to completion now (marked blobs), and with `orphanMinAgeMs` also the orphan
   * scan. Returns the number of orphan files removed. For tests, the CLI and maintenance.
   */
  async collectGarbage(opts: { orphanMinAgeMs?: number } = {}): Promise<number> {
    await this.whenIdle();
    // expunged messages past the undelete window first: their blobs are then marked too
    await this.purgeDeleted(new Date(Date.now() - this.#undeleteWindowMs));
    // bounded like the sweeper: each batch examines up to GC_BATCH marked blobs
    for (let pass = 0; pass < GC_MAX_PASSES; pass++) {
      if ((await this.#gcBatch(GC_BATCH)) < GC_BATCH) break;
    }
    // and the index entries of the blobs just swept (fts_dead)
    this.scheduleIndex(0);
    await this.whenIdle();
    return opts.orphanMinAgeMs === undefined ? 0 : this.#sweepOrphans(opts.orphanMinAgeMs);
  }

  /** Resolves when the background sweeper and FTS indexer have nothing left to do. */
  async whenIdle(): Promise<void> {
    this.#pacing.fast = true;
    // retired mailboxes left by an earlier process, even if the open's own trigger has not run yet
    this.schedulePurge();
    try {
      // bounded: each wait ends one run; a new run starts only after a further commit
      for (
        let i = 0;
        i < 1000 && (this.#purgeRun || this.#gcRun || this.#gcTimer || this.#indexRun || this.#indexTimer);
        i++
      ) {
        // first the purge: the blobs it releases are the sweeper's next work
        await this.#purgeRun;
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
      // a WAL check the runs above scheduled: now, not after its delay
      if (this.#walTimer) {
        clearTimeout(this.#walTimer);
        this.#walTimer = null;
        await this.#walCheck().catch(() => false);
      }
      await this.#walRun;
    } finally {
      this.#pacing.fast = false;
    }
  }

  // --- FTS indexer ------------------------------------------------------------------------
  //
  // APPEND stores the search text (fts_text) and queues the blob id (fts_pending) in its own
  // transaction; this indexer moves queued texts into the trigram index in write transactions of
  // bounded text size, after the commit that queued them and at open (leftovers after a crash).
  // The search adapter scans queued rows directly, so a message is searchable as soon as APPEND returns.

  /**
   * Starts the indexer after `delay` ms, so that a stream of appends is indexed in a few batched
   * transactions (one extra commit per batch, not per append).
   */
  scheduleIndex(delay = INDEX_DELAY_MS): void {
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
        this.scheduleIndex();
      }
    });
  }

  async #indexLoop(): Promise<void> {
    try {
      await this.#indexPasses();
    } finally {
      this.scheduleWalCheck();
    }
  }

  async #indexPasses(): Promise<void> {
    for (let pass = 0; pass < GC_MAX_PASSES && !this.#closed; pass++) {
      const turn = this.#pacing.turn(this.#indexLoad, 0);
      if (turn.defer || (turn.busy && !(await this.#indexLagging()))) {
        // busy serving, or a process that is not indexes (load.ts PeerPacing): try again after
        // the usual delay (searches scan queued texts meanwhile)
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
        this.#indexLoad.own(performance.now() - t0);
      }
      if (!more) return;
      // lagging behind while busy, or while another process writes: paced like the sweeper
      await pauseFor((performance.now() - t0) * turn.pause);
    }
  }

  /**
   * Whether the oldest queued text has waited longer than INDEX_MAX_LAG_MS, or the oldest index
   * entry to delete longer than DEAD_MAX_LAG_MS.
   */
  async #indexLagging(): Promise<boolean> {
    const [text, dead] = await this.#h.withConnection(() => [
      this.#search.oldestPendingAtSync(),
      this.#search.oldestDeadAtSync(),
    ]);
    const now = Date.now();
    return (
      (text !== null && now - text > INDEX_MAX_LAG_MS) || (dead !== null && now - dead > DEAD_MAX_LAG_MS)
    );
  }

  /**
   * Indexes queued texts up to INDEX_BATCH_CHARS (at least one), or when none are queued deletes
   * up to DEAD_BATCH index entries of swept blobs; true if more of either may be queued.
   */
  async #indexBatch(): Promise<boolean> {
    const [pending, dead] = await this.#h.withConnection(() => [
      this.#search.hasPendingSync(),
      this.#search.hasDeadSync(),
    ]);
    if (pending)
      return this.#h.transaction(
        () => this.#search.indexPendingSync(INDEX_BATCH_ROWS, INDEX_BATCH_CHARS),
        REDOABLE,
      );
    if (dead) return this.#h.transaction(() => this.#search.removeDeadSync(DEAD_BATCH), REDOABLE);
    return false;
  }

  // --- history pruning ----------------------------------------------------------------------

  /**
   * Prunes change-log, expunge-log and thread-reference history older than `before`; `paced`
   * (the background job) pauses between batches like the sweeper, else only yields.
   */
  pruneHistory(before: Date, paced = false): Promise<void> {
    return pruneHistory(
      {
        stmt: (t, safe) => this.#h.stmt(t, safe),
        read: (fn) => this.#h.withConnection(fn),
        write: (fn) => this.#h.transaction(fn),
        stopped: () => this.#closed,
        pace: paced ? this.#pacer(new LoopLoad()) : undefined,
      },
      before.getTime(),
    );
  }

  /**
   * Pauses between two batches of a long job as the sweeper does between its own (load.ts), a
   * batch being what ran since the last call. Never deferred to a peer: only this process runs
   * the job (claimJob).
   */
  #pacer(load: LoopLoad): () => Promise<void> {
    let t0 = performance.now();
    return async () => {
      const took = performance.now() - t0;
      load.own(took);
      const turn = this.#pacing.turn(load, 1);
      await pauseFor(took * (turn.defer ? BUSY_PAUSE_FACTOR : turn.pause));
      t0 = performance.now();
    };
  }

  /**
   * Purges expunged messages kept for undelete that were expunged before `before` (any of them
   * when the window is 0), in transactions of at most 500 rows; a trigger marks their blobs for
   * the sweeper, which deletes those nothing else references. Returns the rows purged.
   */
  async purgeDeleted(before: Date): Promise<number> {
    let total = 0;
    for (let pass = 0; pass < GC_MAX_PASSES && !this.#closed; pass++) {
      const n = await this.#h.transaction(
        () =>
          this.#h
            .stmt(
              "DELETE FROM deleted_message WHERE id IN (SELECT id FROM deleted_message WHERE expunged_at < ? LIMIT 500)",
            )
            .run(before.getTime()).changes,
      );
      total += n;
      if (n < 500) break;
    }
    if (total > 0) this.scheduleGc();
    return total;
  }

  /** The background pruning job: the first run delayMs after open, then hourly. */
  /**
   * Removes JMAP uploads that expired before `before` (rows and files, in batches): the file is
   * unlinked under the write lock before COMMIT, like the blob sweeper, so a re-upload of the same
   * content (which writes a new file and keeps the row's) never names a removed file. Returns the
   * number removed.
   */
  async expireUploads(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.#h.transaction(() => {
        const rows = this.#h
          .stmt("SELECT account_id, blob_id, file FROM jmap_upload WHERE expires_at < ? LIMIT ?")
          .raw(true)
          .all(before, GC_BATCH) as unknown[][];
        const del = this.#h.stmt("DELETE FROM jmap_upload WHERE account_id = ? AND blob_id = ?");
        for (const r of rows) del.run(r[0], r[1]);
        for (const r of rows) if (HEX64.test(String(r[2]))) this.#files.deleteSync(String(r[2]));
        return rows.length;
      });
      total += n;
      if (n < GC_BATCH || this.#closed) return total;
    }
  }

  #schedulePrune(delayMs: number): void {
    if (this.#closed) return;
    this.#pruneTimer = setTimeout(() => {
      this.#pruneTimer = null;
      this.#pruneRun = this.#pruneOnce().finally(() => {
        this.#pruneRun = null;
        this.#schedulePrune(PRUNE_INTERVAL_MS);
      });
    }, delayMs);
    this.#pruneTimer.unref();
  }

  /** One run of the hourly job, in one process of those sharing the store (claimJob). */
  async #pruneOnce(): Promise<void> {
    // each step's failure leaves only space behind: the next run retries
    const step = (p: Promise<unknown>) => p.catch(() => {});
    const mine = await claimJob(this.#h, "prune", PRUNE_INTERVAL_MS).catch(() => false);
    if (!mine || this.#closed) return;
    const now = Date.now();
    if (this.#changeLogDays > 0)
      await step(this.pruneHistory(new Date(now - this.#changeLogDays * 86_400_000), true));
    // and the undelete window (or rows left from a larger window before a restart)
    await step(this.purgeDeleted(new Date(Date.now() - this.#undeleteWindowMs)));
    // RFC 3834 §2 records older than the reply interval no longer stop a reply
    if (this.#pruneVacation !== null && this.#vacationReplyMs > 0 && !this.#closed)
      await step(this.#pruneVacation(new Date(now - this.#vacationReplyMs)));
    // expired JMAP uploads (kept a grace period so a download just begun finishes)
    await step(this.expireUploads(Date.now() - UPLOAD_GRACE_MS));
    // expired webmail sessions
    if (this.#pruneSessions !== null && !this.#closed) await step(this.#pruneSessions(new Date()));
  }

  /** Stops the jobs: the sweeper after its current batch (marks left are collected at the next open). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#checkpointer.stop();
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#pollTimer = null;
    if (this.#orphanTimer) clearTimeout(this.#orphanTimer);
    if (this.#pruneTimer) clearTimeout(this.#pruneTimer);
    this.#pruneTimer = null;
    if (this.#barrierTimer) clearTimeout(this.#barrierTimer);
    this.#barrierTimer = null;
    if (this.#walTimer) clearTimeout(this.#walTimer);
    this.#walTimer = null;
    // queued texts stay queued (searches scan them); the next open indexes them
    if (this.#indexTimer) clearTimeout(this.#indexTimer);
    this.#indexTimer = null;
    await this.whenIdle();
    await this.#orphanRun;
    await this.#pruneRun;
    await this.#walRun;
  }
}
