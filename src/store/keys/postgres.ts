/**
 * The PostgreSQL adapter of the keys port (port.ts): table secret_key (migration 7, the same
 * table as the SQLite adapter's), so every node sees the same keys. Each call is one statement.
 */
import type pg from "pg";
import { checkKeyAddress, KEY_LIMITS, type KeyStore, type StoredKey } from "./port.ts";

function toKey(r: unknown[]): StoredKey {
  return {
    kind: String(r[0]),
    name: String(r[1]),
    secret: new Uint8Array(r[2] as Buffer),
    createdAt: new Date(Number(r[3])),
  };
}

export class PgKeys implements KeyStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async #rows(text: string, values: unknown[]): Promise<{ rows: unknown[][]; rowCount: number }> {
    const r = await this.#pool.query({ text, values, rowMode: "array" });
    return { rows: r.rows as unknown[][], rowCount: r.rowCount ?? 0 };
  }

  async get(kind: string, name: string): Promise<StoredKey | null> {
    checkKeyAddress(kind, name);
    const r = await this.#rows(
      "SELECT kind, name, secret, created_at FROM secret_key WHERE kind = $1 AND name = $2",
      [kind, name],
    );
    return r.rows[0] ? toKey(r.rows[0]) : null;
  }

  async put(
    kind: string,
    name: string,
    secret: Uint8Array | string,
    opts: { replace?: boolean } = {},
  ): Promise<boolean> {
    checkKeyAddress(kind, name);
    const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
    if (bytes.byteLength === 0 || bytes.byteLength > KEY_LIMITS.secret)
      throw new Error("invalid key secret size");
    const sql = opts.replace
      ? `INSERT INTO secret_key (kind, name, secret, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, name) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at`
      : `INSERT INTO secret_key (kind, name, secret, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, name) DO NOTHING`;
    return (await this.#rows(sql, [kind, name, bytes, Date.now()])).rowCount > 0;
  }

  async list(kind: string, prefix = ""): Promise<StoredKey[]> {
    checkKeyAddress(kind, "-");
    // left() rather than LIKE: no wildcard escaping of names (name is COLLATE "C": byte order)
    const r = await this.#rows(
      `SELECT kind, name, secret, created_at FROM secret_key
       WHERE kind = $1 AND left(name, $2) = $3 ORDER BY name`,
      [kind, prefix.length, prefix],
    );
    return r.rows.map(toKey);
  }

  async delete(kind: string, name: string): Promise<boolean> {
    checkKeyAddress(kind, name);
    return (
      (await this.#rows("DELETE FROM secret_key WHERE kind = $1 AND name = $2", [kind, name])).rowCount > 0
    );
  }
}
