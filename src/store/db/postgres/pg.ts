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

/** runs a statement and returns its rows and row count */
export type Exec = (text: string, values?: unknown[]) => Promise<QueryResultLike>;

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

export function execOn(client: pg.ClientBase): Exec {
  return async (text, values) => {
    const r = await client.query({ name: nameOf(text), text, values, rowMode: "array" });
    return { rows: r.rows as unknown[][], rowCount: r.rowCount ?? 0 };
  };
}

/** onError: where an idle pooled connection's failure goes (for the log); default ignored */
export function openPool(url: string, max: number, onError?: (err: unknown) => void): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  // an idle client's error (server restart) must not crash the process; the next query reconnects
  pool.on("error", (err) => onError?.(err));
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
    await exec("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", [ACCOUNT_LOCK, accountId % INT4_SPAN]);
    accounts.add(accountId);
  };
  return {
    account: lock,
    mailbox: async (mailboxId) => {
      if (mailboxes.has(mailboxId)) return;
      // one round trip: a mailbox never changes account, so its row needs no lock of its own
      const r = await exec(
        `SELECT account_id, pg_advisory_xact_lock($1::int4, (account_id % ${INT4_SPAN})::int4) FROM mailbox WHERE id = $2`,
        [ACCOUNT_LOCK, mailboxId],
      );
      if (r.rows[0]) accounts.add(Number(r.rows[0][0]));
      mailboxes.add(mailboxId);
    },
  };
}
