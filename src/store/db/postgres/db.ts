/**
 * The db port on PostgreSQL (db/port.ts): a `Db` over a node-postgres pool.
 *
 * - `read`: one client, `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` — one snapshot for fn.
 * - `write`: one client, one READ COMMITTED transaction; each account the transaction touches is
 *   locked first (transaction-scoped advisory lock, pg.ts accountGuard), so writers of one account
 *   run one after another (one modseq per account per transaction, serializable effect) and
 *   writers of different accounts in parallel. Resolves after COMMIT (durable with
 *   synchronous_commit on, the server default), then runs the afterCommit hooks.
 * - Grouped writes run each as its own transaction: PostgreSQL's own group commit shares WAL
 *   flushes between concurrent commits, so no batching here; `expectGroupedWrite` is a no-op.
 * - `peek`: a single statement on the pool (its own snapshot).
 * - Round trips: writes nobody reads back are queued and merged (pg.ts Exec.defer), and the pool
 *   pipelines, so BEGIN and COMMIT travel with the statements next to them (pgTransaction).
 * Operations are bound per transaction (client, guard, hooks): ops*.ts.
 */
import type pg from "pg";
import type { Db, Maybe, Peeker, Reader, WriteOptions, Writer } from "../port.ts";
import { pgOps } from "./ops.ts";
import { pgAclOps } from "./ops-acl.ts";
import { pgAppPasswordOps } from "./ops-app-passwords.ts";
import { pgDeletedOps } from "./ops-deleted.ts";
import { pgImportOps } from "./ops-imports.ts";
import { pgJmapObjectOps } from "./ops-jmap-objects.ts";
import { pgMailOps, pgPeeker } from "./ops-mailboxes.ts";
import { type PgContent, pgMessageOps } from "./ops-messages.ts";
import { pgMetadataOps } from "./ops-metadata.ts";
import { pgThreadInputOps } from "./ops-thread-inputs.ts";
import { pgUploadOps } from "./ops-uploads.ts";
import { pgVacationOps } from "./ops-vacation.ts";
import { pgWebmailSessionOps } from "./ops-webmail-sessions.ts";
import { type AccountGuard, accountGuard, type Exec, execOn, NO_GUARD } from "./pg.ts";

function runHooks(hooks: Array<() => void>): void {
  for (const h of hooks) {
    try {
      h();
    } catch {
      // afterCommit hooks must not throw (port rule); the commit stands
    }
  }
}

/** attempts of a write that PostgreSQL aborted for a deadlock or a serialization failure */
const WRITE_ATTEMPTS = 5;
/**
 * pause before the next attempt, ms: grows with the attempt and is spread at random, so that two
 * writers that deadlocked do not start again in step and meet in the same order (3 attempts back
 * to back still ended in a 451 for a submission now and then when many writers of one account ran
 * on several nodes at once)
 */
function retryPause(attempt: number): number {
  return attempt * (5 + Math.random() * 20);
}

function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "40P01" || code === "40001";
}

function missingContent(): never {
  throw new Error("PgDb opened without message content (blob port)");
}

const NO_CONTENT: PgContent = {
  ensure: async () => missingContent(),
  drop: async () => missingContent(),
  index: async () => {},
  unindex: async () => {},
};

/** Every operation of the port over one client, guard and hook list. */
export function pgWriter(x: Exec, g: AccountGuard, content: PgContent, hooks: Array<() => void>): Writer {
  const afterCommit = (hook: () => void) => hooks.push(hook);
  const o = pgOps(x, g);
  const m = pgMailOps(x, g);
  const mo = pgMessageOps(x, g, content);
  return {
    ...o,
    accounts: { ...o.accounts, ...mo.accounts },
    mailboxes: { ...mo.mailboxes, ...m.mailboxes },
    subscriptions: m.subscriptions,
    messages: { ...o.messages, ...m.messageReads, ...mo.messages },
    expunges: { ...m.expunges, ...mo.expunges },
    threads: mo.threads,
    blobs: { ...o.blobs, ...m.blobsParsed, ...mo.blobs },
    changes: { ...m.changes, ...mo.changes },
    usage: m.usage,
    ...pgMetadataOps(x, g),
    ...pgAclOps(x, g),
    ...pgAppPasswordOps(x, g),
    ...pgVacationOps(x, g),
    ...pgDeletedOps(x),
    ...pgUploadOps(x),
    ...pgThreadInputOps(x),
    ...pgJmapObjectOps(x, g),
    ...pgImportOps(x, g),
    ...pgWebmailSessionOps(x),
    afterCommit,
  };
}

/** Runs fn in one transaction on a client of the pool (begin: the BEGIN statement); COMMIT or ROLLBACK. */
export async function pgTransaction<T>(pool: pg.Pool, begin: string, fn: (x: Exec) => Maybe<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    // the pool's clients pipeline (pg.ts openPool): BEGIN goes out with fn's first statement, and
    // COMMIT with the deferred writes (pg.ts Exec) right behind them — no round trip of their own.
    // A failed deferred write aborts the transaction: PostgreSQL then answers COMMIT with a
    // rollback, and its error rejects here
    const begun = client.query(begin);
    begun.catch(() => {});
    try {
      const x = execOn(client);
      const r = await fn(x);
      await Promise.all([begun, x.flush?.(), client.query("COMMIT")]);
      return r;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw err;
    }
  } finally {
    // a client whose rollback failed is not given back to the pool
    client.release(broken);
  }
}

export class PgDb implements Db {
  readonly pool: pg.Pool;
  readonly #content: PgContent;
  readonly #peeker: Peeker;
  readonly #inflight = new Set<Promise<unknown>>();
  #closed = false;

  /** `content`: where message writes keep blob content and send new search texts (ops-messages.ts) */
  constructor(pool: pg.Pool, content?: PgContent) {
    this.pool = pool;
    this.#content = content ?? NO_CONTENT;
    this.#peeker = pgPeeker(async (text, values) => {
      const r = await pool.query({ text, values, rowMode: "array" });
      return { rows: r.rows as unknown[][], rowCount: r.rowCount ?? 0 };
    });
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  read<T>(fn: (q: Reader) => Maybe<T>): Promise<T> {
    return this.#track(
      this.#tx("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", (x) =>
        fn(pgWriter(x, NO_GUARD, this.#content, [])),
      ),
    );
  }

  async peek<T>(fn: (p: Peeker) => Maybe<T>): Promise<T> {
    return fn(this.#peeker);
  }

  write<T>(fn: (tx: Writer) => Maybe<T>, _opts?: WriteOptions): Promise<T> {
    return this.#track(
      (async () => {
        // bounded: a deadlock between two writers (accounts locked in opposite orders) aborts one
        // of them; it runs again from the start, with fresh hooks
        for (let attempt = 1; ; attempt++) {
          const hooks: Array<() => void> = [];
          try {
            const r = await this.#tx("BEGIN", (x) => fn(pgWriter(x, accountGuard(x), this.#content, hooks)));
            runHooks(hooks);
            return r;
          } catch (err) {
            if (attempt >= WRITE_ATTEMPTS || !isRetryable(err)) throw err;
          }
          await new Promise((resolve) => setTimeout(resolve, retryPause(attempt)));
        }
      })(),
    );
  }

  async #tx<T>(begin: string, fn: (x: Exec) => Maybe<T>): Promise<T> {
    if (this.#closed) throw new Error("database closed");
    return pgTransaction(this.pool, begin, fn);
  }

  expectGroupedWrite(): () => void {
    return () => {};
  }

  async flush(): Promise<void> {
    // bounded: each round waits for the transactions open now
    for (let i = 0; i < 1000 && this.#inflight.size > 0; i++) await Promise.allSettled([...this.#inflight]);
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}
