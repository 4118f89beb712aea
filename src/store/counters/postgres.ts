/**
 * The PostgreSQL adapter of the counters port (port.ts): table shared_counter (migration 20).
 * Each failure is one INSERT … ON CONFLICT DO UPDATE, so two nodes counting the same key at once
 * serialize on its row and neither count is lost. Times are the database's clock
 * (statement_timestamp: one value per statement), since nodes' clocks may differ. Rows past
 * expires_at are deleted at most once a minute, by whichever call comes first.
 */
import type pg from "pg";
import type { CounterHit, CounterState, FailureCounters } from "./port.ts";

/** the database's clock in ms, constant within one statement */
const N = "(extract(epoch from statement_timestamp()) * 1000)::bigint";
/** the window of row c has ended and no lockout is running: the next failure starts anew */
const STALE = `(${N} - c.window_start > $3 AND c.locked_until <= ${N})`;
const NEXT = `(CASE WHEN ${STALE} THEN 1 ELSE c.count + 1 END)`;

const FAIL_SQL = `INSERT INTO shared_counter AS c (key, count, window_start, locked_until, expires_at)
  VALUES ($1, 1, ${N}, CASE WHEN $4 > 0 AND $2 > 0 AND 1 >= $2 THEN ${N} + $4 ELSE 0 END, ${N} + GREATEST($3, $4))
  ON CONFLICT (key) DO UPDATE SET
    count = ${NEXT},
    window_start = CASE WHEN ${STALE} THEN ${N} ELSE c.window_start END,
    locked_until = CASE WHEN $4 > 0 AND $2 > 0 AND c.locked_until <= ${N} AND ${NEXT} >= $2
      THEN ${N} + $4 ELSE c.locked_until END,
    expires_at = GREATEST(c.locked_until, ${N}) + GREATEST($3, $4)
  RETURNING count, ($4 > 0 AND locked_until = ${N} + $4) AS locked_now`;

const PRUNE_EVERY_MS = 60_000;

export class PgCounters implements FailureCounters {
  readonly #pool: pg.Pool;
  #lastPrune = 0;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async fail(hits: readonly CounterHit[]): Promise<Array<{ count: number; lockedNow: boolean }>> {
    const out: Array<{ count: number; lockedNow: boolean }> = [];
    for (const h of hits) {
      const r = await this.#pool.query(FAIL_SQL, [
        h.key,
        Math.max(0, Math.floor(h.limit)),
        Math.max(0, Math.floor(h.windowMs)),
        Math.max(0, Math.floor(h.lockoutMs)),
      ]);
      const row = r.rows[0] as { count: number; locked_now: boolean };
      out.push({ count: Number(row.count), lockedNow: row.locked_now === true });
    }
    await this.#prune();
    return out;
  }

  async read(keys: readonly string[], windowMs: number): Promise<CounterState[]> {
    const r = await this.#pool.query(
      `SELECT key, CASE WHEN ${N} - window_start > $2 AND locked_until <= ${N} THEN 0 ELSE count END AS count,
              locked_until > ${N} AS locked
       FROM shared_counter WHERE key = ANY($1)`,
      [keys, Math.max(0, Math.floor(windowMs))],
    );
    const by = new Map<string, CounterState>();
    for (const row of r.rows as Array<{ key: string; count: number; locked: boolean }>)
      by.set(row.key, { count: Number(row.count), locked: row.locked === true });
    return keys.map((k) => by.get(k) ?? { count: 0, locked: false });
  }

  async clear(key: string): Promise<void> {
    await this.#pool.query("DELETE FROM shared_counter WHERE key = $1", [key]);
  }

  async #prune(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    await this.#pool.query(`DELETE FROM shared_counter WHERE expires_at < ${N}`);
  }
}
