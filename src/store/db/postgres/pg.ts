/**
 * PostgreSQL plumbing of the db adapter: the pool, one query shape for every operation (rows as
 * arrays, like the SQLite adapter's raw statements), the driver-error translation and the
 * per-transaction account guard that gives the port's serialisation rule.
 *
 * Values: node-postgres hands int8 and numeric out as strings; operations read ids and counters
 * with Number() and modseqs with BigInt() (exact). bigint parameters go out as their decimal text.
 */
import pg from "pg";
import { DbConflict } from "../port.ts";

/** one query on the transaction's client: rows as arrays */
export type Query = (text: string, values?: unknown[]) => Promise<unknown[][]>;

export interface QueryResultLike {
  rows: unknown[][];
  rowCount: number;
}

/**
 * Runs a statement and returns its rows and row count. A transaction's Exec (execOn) also takes
 * deferred writes: `defer` queues a statement whose result nobody reads, and the queue goes out
 * before the next statement and before COMMIT, consecutive writes to different tables merged
 * into one statement (deferredText) — one round trip instead of several. A deferred statement's
 * error surfaces there and aborts the transaction as it would have at once. `statements` counts
 * what ran or was queued on it (ops-mailboxes.ts: a value read together with another is reused
 * only while nothing ran in between).
 */
export interface Exec {
  (text: string, values?: unknown[]): Promise<QueryResultLike>;
  /** queues a write on `table` (statements from this code only, parameters `$n`, nothing read back) */
  defer?(table: string, text: string, values: unknown[]): void;
  /** sends what is queued (before COMMIT) */
  flush?(): Promise<void>;
  /**
   * runs a statement (not starting with WITH) that reads only `reads`, the queued writes to other
   * tables in the same statement (in front, as WITH parts) — no round trip of their own
   */
  along?(reads: readonly string[], text: string, values: unknown[]): Promise<QueryResultLike>;
  readonly statements?: number;
}

/** runs a write at once, or queues it on a transaction's Exec that defers (see Exec) */
export async function writeLater(x: Exec, table: string, text: string, values: unknown[]): Promise<void> {
  if (x.defer) x.defer(table, text, values);
  else await x(text, values);
}

interface Deferred {
  table: string;
  text: string;
  values: unknown[];
}

/** `$n` parameter references of this code's SQL texts (constants; no client data is matched) */
const PARAM = /\$(\d+)/g;

/**
 * One statement for several writes: `WITH w0 AS (…), w1 AS (…) SELECT 1`, each statement's
 * parameters renumbered after the previous ones. PostgreSQL runs every data-modifying WITH part
 * to completion, all on one snapshot — hence one statement per table at most (updating a row
 * twice in one statement is undefined) and only writes that read no other queued table.
 */
export function deferredText(
  batch: readonly Deferred[],
  main?: { text: string; values: unknown[] },
): { text: string; values: unknown[] } {
  if (batch.length === 1 && !main) return { text: batch[0]!.text, values: batch[0]!.values };
  const parts: string[] = [];
  const values: unknown[] = [];
  const renumber = (text: string, off: number) =>
    text.replace(PARAM, (_, n: string) => `$${Number(n) + off}`);
  for (const [i, d] of batch.entries()) {
    parts.push(`w${i} AS (${renumber(d.text, values.length)})`);
    values.push(...d.values);
  }
  const tail = main ? renumber(main.text, values.length) : "SELECT 1";
  if (main) values.push(...main.values);
  return { text: `WITH ${parts.join(", ")} ${tail}`, values };
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "23505";
}

/** runs fn, turning a unique-key violation into DbConflict */
export async function unique<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw new DbConflict(String((err as Error).message));
    throw err;
  }
}

/** statement names by SQL text: node-postgres prepares a named statement once per connection */
const names = new Map<string, string>();
/** the operations' SQL texts are constants; more distinct texts than this run unnamed */
const MAX_NAMED = 2000;

function nameOf(text: string): string | undefined {
  let n = names.get(text);
  if (n === undefined && names.size < MAX_NAMED) {
    n = `pk${names.size}`;
    names.set(text, n);
  }
  return n;
}

export interface QuotaRow {
  quotaBytes: number;
  quotaMessages: number;
  usedBytes: number;
  usedMessages: number;
}

/** an account's quota row read by a transaction, with the statement count right after the read */
const quotaSeen = new WeakMap<Exec, { accountId: number; at: number; row: QuotaRow }>();

/** notes a quota row read together with something else (ops-mailboxes.ts `core`) */
export function quotaRead(x: Exec, accountId: number, row: QuotaRow): void {
  if (x.statements !== undefined) quotaSeen.set(x, { accountId, at: x.statements, row });
}

/** that row, when nothing ran on x since (so nothing of this transaction can have changed it) */
export function quotaReused(x: Exec, accountId: number): QuotaRow | null {
  const s = quotaSeen.get(x);
  return s && s.accountId === accountId && s.at === x.statements ? s.row : null;
}

/** statements merged into one at most (the parameter count stays far below PostgreSQL's 65535) */
const MAX_MERGED = 16;

export function execOn(client: pg.ClientBase): Exec {
  const run = async (text: string, values?: unknown[]): Promise<QueryResultLike> => {
    const r = await client.query({ name: nameOf(text), text, values, rowMode: "array" });
    return { rows: r.rows as unknown[][], rowCount: r.rowCount ?? 0 };
  };
  let queue: Deferred[] = [];
  let count = 0;
  /** issues the queued writes now (the client runs its queries in the order they were issued) */
  const drain = (): Array<Promise<QueryResultLike>> => {
    const sent: Array<Promise<QueryResultLike>> = [];
    // bounded: each round takes at least one queued statement off
    while (queue.length > 0) {
      const tables = new Set<string>();
      let n = 0;
      while (n < queue.length && n < MAX_MERGED && !tables.has(queue[n]!.table))
        tables.add(queue[n++]!.table);
      const { text, values } = deferredText(queue.slice(0, n));
      queue = queue.slice(n);
      sent.push(run(text, values));
    }
    return sent;
  };
  const exec = async (text: string, values?: unknown[]): Promise<QueryResultLike> => {
    count++;
    const before = drain();
    const r = run(text, values);
    if (before.length === 0) return r;
    // a queued write's failure is the one reported (it came first); every promise is awaited
    await Promise.all([...before, r]);
    return r;
  };
  const flush = async (): Promise<void> => {
    await Promise.all(drain());
  };
  const along = async (
    reads: readonly string[],
    text: string,
    values: unknown[],
  ): Promise<QueryResultLike> => {
    const tables = new Set(queue.map((d) => d.table));
    const fits =
      queue.length > 0 &&
      queue.length < MAX_MERGED &&
      tables.size === queue.length &&
      !reads.some((t) => tables.has(t)) &&
      !/^\s*WITH\b/i.test(text);
    if (!fits) return exec(text, values);
    count++;
    const merged = deferredText(queue, { text, values });
    queue = [];
    return run(merged.text, merged.values);
  };
  const defer = (table: string, text: string, values: unknown[]): void => {
    count++;
    queue.push({ table, text, values });
  };
  return Object.defineProperties(exec, {
    defer: { value: defer },
    flush: { value: flush },
    along: { value: along },
    statements: { get: () => count },
  }) as Exec;
}

/** onError: where an idle pooled connection's failure goes (for the log); default ignored */
export function openPool(url: string, max: number, onError?: (err: unknown) => void): pg.Pool {
  // pipeline: a client sends each query at once, without waiting for the previous one's answer
  // (they still run one after another); db.ts pgTransaction and execOn issue BEGIN, queued writes
  // and COMMIT together with the statements around them
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, pipeline: true });
  // an idle client's error (server restart) must not crash the process; the next query reconnects
  pool.on("error", (err) => onError?.(err));
  // nor a checked-out one's: the pool removes its own listener while a client is lent out, and a
  // connection terminated between two statements (no query in flight to reject) is then an
  // 'error' event nobody listens to, which ends the process. This listener stays for the
  // client's life; the broken client is not reused (the pool drops clients that are not queryable)
  pool.on("connect", (client) => {
    client.on("error", (err) => onError?.(err));
  });
  return pool;
}

export const num = (v: unknown): number => Number(v);
export const big = (v: unknown): bigint => BigInt(v as string | number | bigint);
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * The serialisation of writers (db/port.ts: one modseq per account per transaction, serializable
 * effect): a write transaction takes a transaction-scoped advisory lock on every account it
 * touches, before its first statement on that account (each operation naming an account or a
 * mailbox calls the guard first). Writers of one account run one after another, as under SQLite's
 * write lock; writers of different accounts run in parallel. Statements run in READ COMMITTED,
 * so after the lock every read sees the previous writer's commit. Read transactions get a no-op
 * guard (their snapshot is REPEATABLE READ).
 */
export interface AccountGuard {
  account(accountId: number): Promise<void>;
  mailbox(mailboxId: number): Promise<void>;
}

export const NO_GUARD: AccountGuard = {
  account: async () => {},
  mailbox: async () => {},
};

/** advisory-lock key space of account locks (pg_advisory_xact_lock(int4, int4)): (ACCOUNT_LOCK, id) */
const ACCOUNT_LOCK = 0x706b_6163;
/** ids beyond int4 share lock keys (more serialisation, never less) */
const INT4_SPAN = 2_147_483_647;

export function accountGuard(exec: Exec): AccountGuard {
  const accounts = new Set<number>();
  const mailboxes = new Set<number>();
  const lock = async (accountId: number): Promise<void> => {
    if (accounts.has(accountId)) return;
    const text = "SELECT pg_advisory_xact_lock($1::int4, $2::int4)";
    const values = [ACCOUNT_LOCK, accountId % INT4_SPAN];
    // writes queued before the lock (an append's content) go in the same statement
    await (exec.along ? exec.along([], text, values) : exec(text, values));
    accounts.add(accountId);
  };
  return {
    account: lock,
    mailbox: async (mailboxId) => {
      if (mailboxes.has(mailboxId)) return;
      // one round trip: a mailbox never changes account, so its row needs no lock of its own
      const text = `SELECT account_id, pg_advisory_xact_lock($1::int4, (account_id % ${INT4_SPAN})::int4) FROM mailbox WHERE id = $2`;
      const values = [ACCOUNT_LOCK, mailboxId];
      const r = await (exec.along ? exec.along(["mailbox"], text, values) : exec(text, values));
      if (r.rows[0]) accounts.add(Number(r.rows[0][0]));
      mailboxes.add(mailboxId);
    },
  };
}
