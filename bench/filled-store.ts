/**
 * A store of one account whose INBOX holds `n` synthetic message rows (one shared blob, two in
 * three `\Seen`), written straight into SQLite in one transaction: the bulk-flags benchmarks need
 * a large mailbox in seconds, not the minutes real appends take. `root` is the source tree whose
 * store is opened, so an exported older checkout can be measured too.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";

export interface FilledStore {
  // biome-ignore lint/suspicious/noExplicitAny: the store of whichever source tree `root` is
  store: any;
  accountId: number;
  inboxId: number;
  dir: string;
}

export async function openFilledStore(root: string, n: number, prefix: string): Promise<FilledStore> {
  const { openStore } = await import(join(root, "src/store/index.ts"));
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let raw: Database.Database | null = null;
  const store = await openStore({
    dataDir: dir,
    feedSocketPath: null,
    sqliteHook: (db: Database.Database) => {
      raw = db;
    },
  } as never);
  await store.addDomain("example.com");
  const acc = await store.createAccount("u@example.com", "{PLAIN}pw");
  const inbox = (await store.getMailbox(acc.id, "INBOX"))!;
  const db = raw as unknown as Database.Database;
  db.exec("BEGIN IMMEDIATE");
  const blob = db
    .prepare(
      "INSERT INTO blob (sha256, size, parsed, parsed_version, created_at) VALUES (?, 100, '{}', 1, 0)",
    )
    .run("ab".repeat(32)).lastInsertRowid;
  const ins = db.prepare(
    `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size, internal_date, save_date, flags, flag_bits, modseq)
     VALUES (?, ?, ?, ?, ?, ?, NULL, 100, 0, 0, ?, ?, ?)`,
  );
  for (let i = 1; i <= n; i++) {
    const seen = i % 3 !== 0;
    ins.run(inbox.id, i, acc.id, `M${i}`, `T${i}`, blob, seen ? "\\Seen" : "", seen ? 1 : 0, 10 + i);
  }
  db.prepare("UPDATE mailbox SET uidnext = ?, highestmodseq = ? WHERE id = ?").run(n + 1, n + 10, inbox.id);
  db.exec("COMMIT");
  return { store, accountId: acc.id, inboxId: inbox.id, dir };
}
