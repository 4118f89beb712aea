/**
 * A store of one account whose INBOX holds `n` message rows (1,000 real appends, then synthetic
 * rows sharing their blobs in turn; two in three `\Seen`), the synthetic ones written straight
 * into SQLite in one transaction: the bulk-flags benchmarks need a large mailbox in seconds, not
 * the minutes real appends take. `root` is the source tree whose store is opened, so an exported
 * older checkout can be measured too.
 */
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";

const DISTINCT = 1000;
const sample = (k: number) =>
  `From: Alice Example ${k} <alice${k}@example.com>\r\nTo: Bob <bob@example.org>, carol@example.net\r\n` +
  `Cc: Dave <dave${k % 7}@example.net>\r\nSubject: Quarterly report ${k} and the budget meeting\r\n` +
  `Date: Fri, 04 Dec 2026 10:${String(k % 60).padStart(2, "0")}:00 +0000\r\n` +
  `Message-ID: <sample-${k}@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
  `Hello Bob,\r\n\r\nthe numbers for ${k} are attached.\r\n`;

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
  // uids 1..DISTINCT are real appends of distinct messages; the synthetic rows share their blobs
  // (and parses) in turn, so FETCH ENVELOPE/BODYSTRUCTURE of any 1,000 messages reads 1,000
  // different parsed forms
  const distinct = Math.min(n, DISTINCT);
  for (let i = 1; i <= distinct; i += 250) {
    const batch = [];
    for (let k = i; k < i + 250 && k <= distinct; k++)
      batch.push({ raw: Buffer.from(sample(k)), flags: k % 3 !== 0 ? ["\\Seen"] : [] });
    await store.appendMany(acc.id, inbox.id, batch);
  }
  db.exec("BEGIN IMMEDIATE");
  const blobs = (
    db
      .prepare("SELECT blob_id FROM message WHERE mailbox_id = ? ORDER BY uid")
      .raw()
      .all(inbox.id) as number[][]
  ).map((r) => r[0]!);
  const ins = db.prepare(
    `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size, internal_date, save_date, flags, flag_bits, modseq)
     VALUES (?, ?, ?, ?, ?, ?, NULL, 100, 0, 0, ?, ?, ?)`,
  );
  for (let i = distinct + 1; i <= n; i++) {
    const seen = i % 3 !== 0;
    const blob = blobs[i % distinct]!;
    ins.run(inbox.id, i, acc.id, `M${i}`, `T${i}`, blob, seen ? "\\Seen" : "", seen ? 1 : 0, 10 + i);
  }
  db.prepare("UPDATE mailbox SET uidnext = ?, highestmodseq = ? WHERE id = ?").run(n + 1, n + 10, inbox.id);
  // the account's modseq counter stays above every row's (later changes get higher modseqs)
  db.prepare("UPDATE account SET modseq = ? WHERE id = ?").run(n + 10, acc.id);
  db.exec("COMMIT");
  return { store, accountId: acc.id, inboxId: inbox.id, dir };
}

/** an IMAP server (no TLS, plaintext LOGIN) of `root`'s tree on 127.0.0.1 over `store` */
// biome-ignore lint/suspicious/noExplicitAny: the store of whichever source tree `root` is
export async function serveFilled(root: string, store: any): Promise<{ port: number; close(): void }> {
  const { createAuthenticator } = await import(join(root, "src/auth/index.ts"));
  const { createImapServer } = await import(join(root, "src/imap/server/index.ts"));
  const auth = createAuthenticator(store, {
    cacheTtlMs: 60000,
    failureDelayMs: 0,
    maxFailuresPerIp: 0,
    maxFailuresPerUser: 0,
    failureWindowMs: 60_000,
    lockoutMs: 60_000,
  } as never);
  const log = {
    info() {},
    warn() {},
    error(o: object, m?: string) {
      console.error(o, m);
    },
  };
  const imap = createImapServer({
    store,
    auth,
    tls: null,
    logger: log,
    hostname: "x",
    allowPlaintextAuth: true,
    limits: {
      maxLineLength: 65536,
      maxLiteralSize: 1 << 26,
      maxLiteralSizeUnauth: 8192,
      maxBadCommands: 20,
      idleTimeoutMs: 1800000,
      unauthTimeoutMs: 60000,
      maxConnectionsPerUser: 100,
      maxConnectionsPerIp: 100,
    },
  });
  const server = net.createServer((s) => imap.handleConnection(s, { implicitTls: false }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}
