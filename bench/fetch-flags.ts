/**
 * Bulk-flags benchmark: SELECT and `UID FETCH 1:* (UID FLAGS)` on a 100k-message INBOX over a
 * real socket (the sync query of every client). Prints per-run times and medians.
 *
 *   node bench/fetch-flags.ts [runs=9] [messages=100000] [srcRoot=<this repo>]
 *
 * srcRoot lets the same script measure another checkout (e.g. an exported older tree).
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type Database from "better-sqlite3";
import { RawImap } from "./imap-client.ts";

const RUNS = Number(process.argv[2] ?? 9);
const N = Number(process.argv[3] ?? 100_000);
const root = resolve(process.argv[4] ?? new URL("..", import.meta.url).pathname);
const { openStore } = await import(join(root, "src/store/index.ts"));
const { createAuthenticator } = await import(join(root, "src/auth/index.ts"));
const { createImapServer } = await import(join(root, "src/imap/server/index.ts"));

const dir = mkdtempSync(join(tmpdir(), "pk-bench-flags-"));
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
  .prepare("INSERT INTO blob (sha256, size, parsed, parsed_version, created_at) VALUES (?, 100, '{}', 1, 0)")
  .run("ab".repeat(32)).lastInsertRowid;
const ins = db.prepare(
  `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size, internal_date, save_date, flags, flag_bits, modseq)
   VALUES (?, ?, ?, ?, ?, ?, NULL, 100, 0, 0, ?, ?, ?)`,
);
for (let i = 1; i <= N; i++) {
  const seen = i % 3 !== 0;
  ins.run(inbox.id, i, acc.id, `M${i}`, `T${i}`, blob, seen ? "\\Seen" : "", seen ? 1 : 0, 10 + i);
}
db.prepare("UPDATE mailbox SET uidnext = ?, highestmodseq = ? WHERE id = ?").run(N + 1, N + 10, inbox.id);
db.exec("COMMIT");
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
const port = (server.address() as net.AddressInfo).port;
const c = await RawImap.connect(port);
await c.command("LOGIN u@example.com pw");
const sel: number[] = [];
const fetch: number[] = [];
for (let r = 0; r < RUNS + 1; r++) {
  let t0 = performance.now();
  await c.command("SELECT INBOX");
  const s = performance.now() - t0;
  t0 = performance.now();
  const res = await c.commandCount("UID FETCH 1:* (UID FLAGS)");
  const f = performance.now() - t0;
  if (res.lines !== N) throw new Error(`expected ${N} FETCH lines, got ${res.lines}`);
  await c.command("UNSELECT");
  if (r === 0) continue; // warm-up
  sel.push(s);
  fetch.push(f);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(
  JSON.stringify({
    root,
    messages: N,
    runs: RUNS,
    selectMs: +median(sel).toFixed(1),
    fetchMs: +median(fetch).toFixed(1),
    select: sel.map((x) => +x.toFixed(1)),
    fetch: fetch.map((x) => +x.toFixed(1)),
  }),
);
c.close();
server.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
