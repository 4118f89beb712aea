/**
 * The PostgreSQL adapter of the locks port (port.ts): leases in a table shared by every node —
 * the POP3 maildrop lock holds across nodes (RFC 1939 §8, RFC 2449 §8.1.2 [IN-USE]).
 *
 * A lease row (name, owner, token, expires_at) is taken by one INSERT … ON CONFLICT DO UPDATE
 * that overwrites only an expired row, so two nodes racing for a name get it once. Expiry is
 * measured on the database's clock (nodes' clocks may differ); a node that dies simply stops
 * renewing and its leases expire after their ttl. Only the holder (its random token) renews or
 * releases. The table is created by this adapter (idempotent) since it has no SQLite counterpart.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { checkLeaseName, type Lease, type LockService } from "./port.ts";

/** the database's clock in ms */
const NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

class PgLease implements Lease {
  readonly name: string;
  readonly owner: string;
  readonly #token: string;
  readonly #pool: pg.Pool;
  #expiresAt: number;

  constructor(pool: pg.Pool, name: string, owner: string, token: string, expiresAt: number) {
    this.#pool = pool;
    this.name = name;
    this.owner = owner;
    this.#token = token;
    this.#expiresAt = expiresAt;
  }

  get expiresAt(): number {
    return this.#expiresAt;
  }

  async renew(ttlMs: number): Promise<boolean> {
    const r = await this.#pool.query({
      text: `UPDATE lease SET expires_at = ${NOW_MS} + $3 WHERE name = $1 AND token = $2 RETURNING expires_at`,
      values: [this.name, this.#token, Math.max(1, Math.floor(ttlMs))],
      rowMode: "array",
    });
    const row = (r.rows as unknown[][])[0];
    if (!row) return false;
    this.#expiresAt = Number(row[0]);
    return true;
  }

  async release(): Promise<void> {
    await this.#pool.query("DELETE FROM lease WHERE name = $1 AND token = $2", [this.name, this.#token]);
  }
}

export class PgLocks implements LockService {
  readonly #pool: pg.Pool;
  #ready: Promise<void> | null = null;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  #ensureTable(): Promise<void> {
    this.#ready ??= this.#pool
      .query(
        `CREATE TABLE IF NOT EXISTS lease (
           name TEXT COLLATE "C" PRIMARY KEY,
           owner TEXT NOT NULL,
           token TEXT NOT NULL,
           expires_at BIGINT NOT NULL
         )`,
      )
      .then(
        () => {},
        (err: unknown) => {
          // two nodes creating it at once: one of them sees a unique violation on the catalog
          // (23505), the row type or the table already there (42710, 42P07) — it exists either way
          const code = (err as { code?: unknown }).code;
          if (code !== "23505" && code !== "42710" && code !== "42P07") {
            this.#ready = null;
            throw err;
          }
        },
      );
    return this.#ready;
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease | null> {
    checkLeaseName(name);
    await this.#ensureTable();
    const token = randomBytes(16).toString("hex");
    const r = await this.#pool.query({
      text: `INSERT INTO lease (name, owner, token, expires_at) VALUES ($1, $2, $3, ${NOW_MS} + $4)
             ON CONFLICT (name) DO UPDATE
               SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at
               WHERE lease.expires_at <= ${NOW_MS}
             RETURNING expires_at`,
      values: [name, owner, token, Math.max(1, Math.floor(ttlMs))],
      rowMode: "array",
    });
    const row = (r.rows as unknown[][])[0];
    return row ? new PgLease(this.#pool, name, owner, token, Number(row[0])) : null;
  }
}
