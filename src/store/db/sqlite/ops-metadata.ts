/**
 * The db port's METADATA operations on SQLite (db/port-metadata.ts says what each promises).
 * Table `metadata` (migration 8): server entries have mailbox_id NULL; the unique index keys by
 * (account_id, IFNULL(mailbox_id, 0), name).
 */
import type { MetadataRow, MetadataWrite } from "../port-metadata.ts";
import type { SqliteHandle } from "./sqlite.ts";

/** "/" + 1: names below `p + "/"` sort in [p + "/", p + "0") */
const AFTER_SLASH = "0";

export function sqliteMetadataOps(h: SqliteHandle): { metadata: MetadataWrite } {
  const all = (text: string, ...args: unknown[]): unknown[][] =>
    h
      .stmt(text)
      .raw(true)
      .all(...args) as unknown[][];
  const box = (mailboxId: number | null): number => mailboxId ?? 0;
  const toRow = (r: unknown[]): MetadataRow => ({
    name: String(r[0]),
    value: r[1] instanceof Uint8Array ? r[1] : Buffer.from(String(r[1] ?? "")),
  });
  const exact = (accountId: number, mailboxId: number | null, name: string): MetadataRow[] =>
    all(
      "SELECT name, value FROM metadata WHERE account_id = ? AND IFNULL(mailbox_id, 0) = ? AND name = ?",
      accountId,
      box(mailboxId),
      name,
    ).map(toRow);
  const remove = (accountId: number, mailboxId: number | null, name: string): boolean =>
    h
      .stmt("DELETE FROM metadata WHERE account_id = ? AND IFNULL(mailbox_id, 0) = ? AND name = ?")
      .run(accountId, box(mailboxId), name).changes > 0;
  return {
    metadata: {
      tree(accountId, mailboxId, name, descendants) {
        const rows = exact(accountId, mailboxId, name);
        if (!descendants) return rows;
        // a range scan instead of LIKE: client names may hold "_" (a LIKE wildcard)
        const below = all(
          `SELECT name, value FROM metadata WHERE account_id = ? AND IFNULL(mailbox_id, 0) = ?
            AND name >= ? AND name < ? ORDER BY name`,
          accountId,
          box(mailboxId),
          `${name}/`,
          `${name}${AFTER_SLASH}`,
        ).map(toRow);
        return [...rows, ...below];
      },
      count(accountId, mailboxId) {
        const r = all(
          "SELECT COUNT(*) FROM metadata WHERE account_id = ? AND IFNULL(mailbox_id, 0) = ?",
          accountId,
          box(mailboxId),
        );
        return Number(r[0]?.[0] ?? 0);
      },
      put(accountId, mailboxId, name, value) {
        const existed = remove(accountId, mailboxId, name);
        h.stmt("INSERT INTO metadata (account_id, mailbox_id, name, value) VALUES (?, ?, ?, ?)").run(
          accountId,
          mailboxId,
          name,
          Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        );
        return !existed;
      },
      remove,
    },
  };
}
