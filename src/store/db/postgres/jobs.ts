/**
 * The PostgreSQL adapter's background jobs (store.ts StoreJobs): the blob sweeper and history
 * pruning (with expired JMAP uploads and the undelete window's rows past store.undelete_window). Search texts are written in the append's transaction
 * (ops-messages.ts), so there is no indexer here; there is no orphan scan: content commits with
 * the rows that reference it (PgBlobStore.writeIn in `blobs.ensure`).
 *
 * Sweeper: per marked blob one short transaction deletes the row only while it is still marked and
 * unreferenced (the foreign keys from message and deleted_message refuse a referenced one:
 * an expunged message inside the undelete window keeps its content) and removes its content and
 * search text in that same transaction (PgBlobStore.deleteIn, PgSearch.removeIn) — the other half
 * of `blobs.ensure`. Every node runs it; two sweepers of one blob serialise on its row.
 */
import type pg from "pg";
import type { StoreJobs } from "../../store.ts";
import { pruneHistoryPg } from "./changelog.ts";
import { pgTransaction } from "./db.ts";
import type { PgContent } from "./ops-messages.ts";
import { num } from "./pg.ts";

const GC_BATCH = 100;
/** an upload's content name (domain/uploads.ts: 256 random bits, hex) */
const HEX64 = /^[0-9a-f]{64}$/;
const PRUNE_INTERVAL_MS = 3_600_000;
/** a claimed job's next time is this much earlier than its interval: the claimant's own next timer claims it again */
const CLAIM_SLACK_MS = 60_000;
/** an upload is collected this long after it expired (a download may be in progress; as SQLite's jobs.ts) */
const UPLOAD_GRACE_MS = 10 * 60_000;

export interface PgJobsOptions {
  /** days of change-log / expunge-log history kept; 0 = forever. Default 90 */
  changeLogDays?: number;
  /** first pruning run this long after open, then hourly; null = none. Default 60 s */
  pruneDelayMs?: number | null;
  onBlobDeleted?(sha: string): void;
  /** vacation reply records older than this are pruned by the same job (0 = never). Default 7 days */
  vacationReplyMs?: number;
  /** deletes vacation reply records older than `before` (domain/vacation.ts) */
  pruneVacationReplies?(before: Date): Promise<unknown>;
  /** deletes the webmail sessions expired before `now` (domain/webmail-sessions.ts) */
  pruneWebmailSessions?(now: Date): Promise<unknown>;
  /** one step of the purge of deleted mailboxes (domain/mailboxes.ts purgeDeleted); true = more to do */
  purge?(limit: number): Promise<boolean>;
  /** expunged messages kept this long for undelete (store.undelete_window); 0 = none kept. Default 0 */
  undeleteWindowMs?: number;
}

/**
 * Whether this node runs the hourly job `name` now: the first node past its next time (job_claim,
 * migration 26) moves it on by `everyMs` and runs it, the others skip it; one statement, so two
 * nodes at once cannot both claim (the second sees the first's row, no longer due). As SQLite's
 * claimJob (db/sqlite/jobs.ts).
 */
export async function claimPgJob(
  pool: pg.Pool,
  name: string,
  everyMs: number,
  now = Date.now(),
): Promise<boolean> {
  const r = await pool.query(
    `INSERT INTO job_claim (name, next_at) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET next_at = EXCLUDED.next_at WHERE job_claim.next_at <= $3
     RETURNING name`,
    [name, now + everyMs - CLAIM_SLACK_MS, now],
  );
  return (r.rowCount ?? 0) > 0;
}

export class PgJobs implements StoreJobs {
  readonly #pool: pg.Pool;
  readonly #content: Pick<PgContent, "drop" | "unindex">;
  readonly #onBlobDeleted: (sha: string) => void;
  readonly #changeLogDays: number;
  readonly #undeleteWindowMs: number;
  readonly #vacationReplyMs: number;
  readonly #pruneVacation: ((before: Date) => Promise<unknown>) | null;
  readonly #pruneSessions: ((now: Date) => Promise<unknown>) | null;
  #gcRun: Promise<void> | null = null;
  #gcAgain = false;
  #pruneTimer: NodeJS.Timeout | null = null;
  #pruneRun: Promise<void> | null = null;
  #closed = false;
  readonly #purge: ((limit: number) => Promise<boolean>) | null;
  #purgeRun: Promise<void> | null = null;
  #purgeAgain = false;

  constructor(pool: pg.Pool, content: Pick<PgContent, "drop" | "unindex">, opts: PgJobsOptions = {}) {
    this.#pool = pool;
    this.#content = content;
    this.#onBlobDeleted = opts.onBlobDeleted ?? (() => {});
    this.#changeLogDays = opts.changeLogDays ?? 90;
    this.#undeleteWindowMs = opts.undeleteWindowMs ?? 0;
    this.#vacationReplyMs = opts.vacationReplyMs ?? 7 * 86_400_000;
    this.#pruneVacation = opts.pruneVacationReplies ?? null;
    this.#pruneSessions = opts.pruneWebmailSessions ?? null;
    this.#purge = opts.purge ?? null;
    // mailboxes deleted before a stop whose messages were not all purged
    if (this.#purge) setImmediate(() => this.schedulePurge());
    const delay = opts.pruneDelayMs === undefined ? 60_000 : opts.pruneDelayMs;
    if (delay !== null) this.#schedulePrune(delay);
  }

  scheduleGc(): void {
    if (this.#closed) return;
    if (this.#gcRun) {
      this.#gcAgain = true;
      return;
    }
    this.#gcRun = this.#gcLoop().finally(() => {
      this.#gcRun = null;
      if (this.#gcAgain && !this.#closed) {
        this.#gcAgain = false;
        this.scheduleGc();
      }
    });
  }

  scheduleIndex(): void {}

  async #gcLoop(): Promise<void> {
    let after = 0;
    // bounded: each batch moves the id cursor forward
    for (let pass = 0; pass < 1_000_000 && !this.#closed; pass++) {
      const ids = (
        await this.#pool.query({
          text: "SELECT id FROM blob WHERE gc_pending AND id > $1 ORDER BY id LIMIT $2",
          values: [after, GC_BATCH],
          rowMode: "array",
        })
      ).rows.map((r) => num(r[0]));
      if (ids.length === 0) return;
      for (const id of ids) {
        after = id;
        await this.#sweep(id).catch(() => {
          // referenced again (foreign key) or a transient failure: the mark stays for the next run
        });
      }
    }
  }

  async #sweep(id: number): Promise<void> {
    const sha = await pgTransaction(this.#pool, "BEGIN", async (x) => {
      const r = (
        await x(
          `DELETE FROM blob WHERE id = $1 AND gc_pending
             AND NOT EXISTS (SELECT 1 FROM message WHERE blob_id = $1)
             AND NOT EXISTS (SELECT 1 FROM deleted_message WHERE blob_id = $1) RETURNING sha256`,
          [id],
        )
      ).rows[0];
      if (!r) {
        // referenced again, or held by the undelete window (a purge marks it again): unmark (an
        // append's ensure unmarks too)
        await x(
          `UPDATE blob SET gc_pending = false WHERE id = $1 AND (EXISTS (SELECT 1 FROM message WHERE blob_id = $1)
             OR EXISTS (SELECT 1 FROM deleted_message WHERE blob_id = $1))`,
          [id],
        );
        return null;
      }
      const s = String(r[0]);
      // before commit, in this transaction: content and search text go with the row; an append
      // waiting on this row rewrites the content after we commit
      await this.#content.drop(x, s);
      await this.#content.unindex(x, id);
      return s;
    });
    if (sha) this.#onBlobDeleted(sha);
  }

  async collectGarbage(_opts: { orphanMinAgeMs?: number } = {}): Promise<number> {
    await this.whenIdle();
    // expunged messages past the undelete window first: their blobs are then marked too
    await this.purgeDeleted(new Date(Date.now() - this.#undeleteWindowMs));
    await this.#gcLoop();
    return 0;
  }

  /**
   * Purges the undelete window's rows of messages expunged before `before` (any of them when the
   * window is 0), 500 per transaction; the trigger of migration 22 marks their blobs and the
   * sweeper deletes those nothing else references (as the SQLite jobs.ts). Returns the rows purged.
   */
  async purgeDeleted(before: Date): Promise<number> {
    let total = 0;
    // bounded: each batch deletes what it selects
    for (let pass = 0; pass < 1_000_000 && !this.#closed; pass++) {
      const n = await pgTransaction(this.#pool, "BEGIN", async (x) => {
        const r = await x(
          `DELETE FROM deleted_message WHERE id IN (
             SELECT id FROM deleted_message WHERE expunged_at < $1 LIMIT 500 FOR UPDATE SKIP LOCKED)
           RETURNING id`,
          [before.getTime()],
        );
        return r.rows.length;
      });
      total += n;
      if (n < 500) break;
    }
    if (total > 0) this.scheduleGc();
    return total;
  }

  async whenIdle(): Promise<void> {
    // bounded: each wait ends one run; a new one starts only after a further commit
    for (let i = 0; i < 1000 && this.#gcRun; i++) await this.#gcRun;
  }

  pruneHistory(before: Date): Promise<void> {
    return pruneHistoryPg(
      {
        read: (fn) => pgTransaction(this.#pool, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn),
        write: (fn) => pgTransaction(this.#pool, "BEGIN", fn),
        stopped: () => this.#closed,
      },
      before.getTime(),
    );
  }

  #schedulePrune(delayMs: number): void {
    if (this.#closed) return;
    this.#pruneTimer = setTimeout(() => {
      this.#pruneTimer = null;
      this.#pruneRun = claimPgJob(this.#pool, "prune", PRUNE_INTERVAL_MS)
        .then((mine) => (mine && !this.#closed ? this.#pruneOnce() : undefined))
        .catch(() => {})
        .finally(() => {
          this.#pruneRun = null;
          this.#schedulePrune(PRUNE_INTERVAL_MS);
        });
    }, delayMs);
    this.#pruneTimer.unref();
  }

  /** One run of the hourly job (in one node: claimPgJob); expired JMAP uploads are always collected. */
  async #pruneOnce(): Promise<void> {
    const vacation = this.#pruneVacation !== null && this.#vacationReplyMs > 0;
    const now = Date.now();
    const history =
      this.#changeLogDays > 0 ? this.pruneHistory(new Date(now - this.#changeLogDays * 86_400_000)) : null;
    const replies = vacation ? this.#pruneVacation?.(new Date(now - this.#vacationReplyMs)) : null;
    const uploads = this.expireUploads(now - UPLOAD_GRACE_MS);
    // the undelete window (or rows left from a larger window before a restart)
    const deleted = this.purgeDeleted(new Date(now - this.#undeleteWindowMs));
    const sessions = this.#pruneSessions?.(new Date(now)) ?? null;
    await Promise.allSettled([history, replies, uploads, deleted, sessions]);
  }

  /**
   * Removes the JMAP uploads that expired before `before` (ms): rows and their bytes (blob-port
   * content under the upload's random name) in one transaction per batch.
   */
  async expireUploads(before: number): Promise<number> {
    let total = 0;
    // bounded: each batch deletes what it selects
    for (let pass = 0; pass < 1_000_000 && !this.#closed; pass++) {
      const n = await pgTransaction(this.#pool, "BEGIN", async (x) => {
        const rows = (
          await x(
            `DELETE FROM jmap_upload WHERE (account_id, blob_id) IN (
               SELECT account_id, blob_id FROM jmap_upload WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING file`,
            [before, GC_BATCH],
          )
        ).rows;
        for (const r of rows) if (HEX64.test(String(r[0]))) await this.#content.drop(x, String(r[0]));
        return rows.length;
      });
      total += n;
      if (n < GC_BATCH) break;
    }
    return total;
  }

  /** Starts the purge of deleted mailboxes (batches of 500 messages), or makes a running one look again. */
  schedulePurge(): void {
    if (this.#closed || !this.#purge) return;
    if (this.#purgeRun) {
      this.#purgeAgain = true;
      return;
    }
    const purge = this.#purge;
    this.#purgeRun = (async () => {
      do {
        this.#purgeAgain = false;
        while (!this.#closed && (await purge(500))) {}
      } while (this.#purgeAgain && !this.#closed);
    })()
      .catch(() => {})
      .finally(() => {
        this.#purgeRun = null;
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#purgeRun;
    if (this.#pruneTimer) clearTimeout(this.#pruneTimer);
    this.#pruneTimer = null;
    await this.whenIdle();
    await this.#pruneRun;
  }
}
