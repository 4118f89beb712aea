/**
 * The SQLite adapter of the keys port (port.ts): table secret_key (migration 7), in the store's
 * database, so every worker process and the CLI see the same keys. Reads take the connection
 * mutex; writes are their own short write transactions.
 */
import type { SqliteHandle } from "../db/sqlite/sqlite.ts";
import { checkKeyAddress, KEY_LIMITS, type KeyStore, type StoredKey } from "./port.ts";

type Row = [string, string, Uint8Array, number];

function toKey(r: Row): StoredKey {
  return { kind: r[0], name: r[1], secret: new Uint8Array(r[2]), createdAt: new Date(Number(r[3])) };
}

export class SqliteKeys implements KeyStore {
  readonly #h: SqliteHandle;

  constructor(h: SqliteHandle) {
    this.#h = h;
  }

  async get(kind: string, name: string): Promise<StoredKey | null> {
    checkKeyAddress(kind, name);
    return this.#h.withConnection(() => {
      const r = this.#h
        .stmt("SELECT kind, name, secret, created_at FROM secret_key WHERE kind = ? AND name = ?")
        .raw(true)
        .get(kind, name) as Row | undefined;
      return r ? toKey(r) : null;
    });
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
    return this.#h.transaction(() => {
      const sql = opts.replace
        ? `INSERT INTO secret_key (kind, name, secret, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (kind, name) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at`
        : `INSERT INTO secret_key (kind, name, secret, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (kind, name) DO NOTHING`;
      return this.#h.stmt(sql).run(kind, name, bytes, Date.now()).changes > 0;
    });
  }

  async list(kind: string, prefix = ""): Promise<StoredKey[]> {
    checkKeyAddress(kind, "-");
    return this.#h.withConnection(() => {
      // substr rather than LIKE: no wildcard escaping of names
      const rows = this.#h
        .stmt(
          `SELECT kind, name, secret, created_at FROM secret_key
           WHERE kind = ? AND substr(name, 1, ?) = ? ORDER BY name`,
        )
        .raw(true)
        .all(kind, prefix.length, prefix) as Row[];
      return rows.map(toKey);
    });
  }

  async delete(kind: string, name: string): Promise<boolean> {
    checkKeyAddress(kind, name);
    return this.#h.transaction(
      () => this.#h.stmt("DELETE FROM secret_key WHERE kind = ? AND name = ?").run(kind, name).changes > 0,
    );
  }
}
