// `postkontor migrate --to postgres://…`: a SQLite store filled over IMAP and the store API is
// copied while it stays open; the PostgreSQL store then answers IMAP exactly as the SQLite one did
// (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, UIDs, flags, modseqs, dates, bodies). A migration killed
// mid-copy resumes without duplicates, and verification catches a tampered target.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { FsBlobStore } from "../../src/store/blob/fs.ts";
import { openStore } from "../../src/store/index.ts";
import { migrateToPostgres } from "../../src/store/migrate/index.ts";
import { openPostgresStore } from "../../src/store/postgres.ts";
import type { Store } from "../../src/store/types.ts";
import { listenImap, message } from "../imap/helpers.ts";
import { ImapClient } from "../kit/imap-client.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { envWithoutPostkontor, MAIN, runCli } from "../kit/process.ts";
import { listeningPort, startServe, tempEnv, writeServeConfig } from "../kit/serve.ts";
import { tempDir } from "../kit/temp.ts";

const ALICE = "alice@example.com";
const BOB = "bob@example.com";

async function login(port: number, user: string): Promise<ImapClient> {
  const c = await ImapClient.connect(port);
  const r = await c.cmd(`LOGIN ${user} secret`);
  assert.ok(r.ok, r.text);
  return c;
}

/** fills a store: accounts, aliases, a key, an app password, a queued message; over IMAP folders,
 *  flags, an expunge, a subscription, metadata, an ACL. Returns the app password's secret. */
async function fill(store: Store): Promise<string> {
  await store.addDomain("example.com");
  await store.createAccount(ALICE, "{PLAIN}secret");
  await store.createAccount(BOB, "{PLAIN}secret");
  await store.addAlias("info@example.com", ALICE);
  await store.keys.put("dkim", "example.com/sel1", "-----BEGIN PRIVATE KEY-----\nx\n");
  const app = await store.addAppPassword(ALICE, "phone");
  const alice = await store.getAccount(ALICE);
  await store.enqueueOutbound({
    accountId: alice!.id,
    mailFrom: ALICE,
    recipients: [{ address: "someone@example.net" }],
    message: Buffer.from(message("queued", "to be sent\r\n")),
  });
  const srv = await listenImap(store);
  try {
    for (const user of [ALICE, BOB]) {
      const c = await login(srv.port, user);
      try {
        assert.ok((await c.cmd("CREATE Projects")).ok);
        assert.ok((await c.cmd("SUBSCRIBE Projects")).ok);
        for (let i = 1; i <= 6; i++) {
          const r = await c.append(
            i % 2 ? "INBOX" : "Projects",
            message(`${user} ${i}`, `body ${i} of ${user}\r\n`),
            i === 3 ? "\\Flagged $Label" : "",
            `0${i}-Mar-2025 10:00:00 +0100`,
          );
          assert.ok(r.ok, r.text);
        }
        assert.ok((await c.cmd("SELECT INBOX")).ok);
        assert.ok((await c.cmd("UID STORE 1 +FLAGS (\\Seen)")).ok);
        assert.ok((await c.cmd("UID STORE 3 +FLAGS (\\Deleted)")).ok);
        assert.ok((await c.cmd("EXPUNGE")).ok);
        assert.ok((await c.cmd('SETMETADATA INBOX (/private/comment "kept")')).ok);
        if (user === ALICE) assert.ok((await c.cmd(`SETACL Projects ${BOB} lr`)).ok);
      } finally {
        c.destroy();
      }
    }
  } finally {
    await srv.close();
  }
  return app.secret;
}

/** what an IMAP client caches: per folder the SELECT codes and every message's data */
async function imapView(store: Store, user: string): Promise<Record<string, string[]>> {
  const srv = await listenImap(store);
  const c = await login(srv.port, user);
  try {
    const out: Record<string, string[]> = {};
    for (const box of ["INBOX", "Projects", "Archive"]) {
      const s = await c.cmd(`SELECT ${box} (CONDSTORE)`);
      assert.ok(s.ok, s.text);
      const f = await c.cmd("UID FETCH 1:* (FLAGS MODSEQ INTERNALDATE BODY.PEEK[])");
      assert.ok(f.ok, f.text);
      out[box] = [...s.lines.filter((l) => /UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ|EXISTS/.test(l)), ...f.lines];
    }
    const m = await c.cmd("GETMETADATA INBOX /private/comment");
    out.meta = m.lines;
    out.lsub = (await c.cmd('LSUB "" "*"')).lines;
    out.acl = (await c.cmd("GETACL Projects")).lines;
    return out;
  } finally {
    c.destroy();
    await srv.close();
  }
}

async function openPg(url: string, dir: string): Promise<{ store: Store; close(): Promise<void> }> {
  // the PostgreSQL store keeps content, search text and the feed in the database itself
  const store = await openPostgresStore({ url, dataDir: dir, poolSize: 4, pruneDelayMs: null });
  return {
    store,
    async close() {
      await store.close();
    },
  };
}

describe("migrate SQLite → PostgreSQL", {
  skip: !postgresAvailable() && "PostgreSQL binaries missing",
}, () => {
  let cluster: PgCluster;
  const t = tempDir("pk-pg-migrate-");
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
    t.cleanup();
  });

  it("keeps what IMAP clients cache, ids and sequences; verify catches tampering", async () => {
    const env = tempEnv("", { init: false });
    const sqlite = await openStore({ dataDir: env.dataDir, feedSocketPath: null, orphanScanDelayMs: null });
    const url = await cluster.createDatabase();
    let before: Record<string, Record<string, string[]>>;
    let secret: string;
    let queued: Uint8Array | null;
    try {
      secret = await fill(sqlite);
      queued = await sqlite.getQueuedMessage((await sqlite.listQueue())[0]!.id);
      // a first look claims \Recent (session state, RFC 3501 §2.3.2); the second is what stays
      for (const user of [ALICE, BOB]) await imapView(sqlite, user);
      before = { [ALICE]: await imapView(sqlite, ALICE), [BOB]: await imapView(sqlite, BOB) };
      // the SQLite store stays open (as under a running serve) while it is copied
      const r = await migrateToPostgres({ dataDir: env.dataDir, url, batchRows: 3 });
      assert.deepEqual(r.verify.problems, []);
      assert.ok(r.verify.tables.find((x) => x.table === "message")!.target >= 10);
      assert.equal(r.verify.accounts, 2);
    } finally {
      await sqlite.close();
    }

    let p = await openPg(url, t.dir);
    try {
      for (const user of [ALICE, BOB]) assert.deepEqual(await imapView(p.store, user), before[user]);
      const acct = await p.store.getAccount(ALICE);
      assert.ok(await p.store.verifyAppPassword(acct!.id, secret, "imap"), "app password works");
      assert.equal(
        Buffer.from((await p.store.keys.get("dkim", "example.com/sel1"))!.secret).toString(),
        "-----BEGIN PRIVATE KEY-----\nx\n",
      );
      const q = await p.store.listQueue();
      assert.equal(q.length, 1);
      assert.deepEqual(Buffer.from((await p.store.getQueuedMessage(q[0]!.id))!), Buffer.from(queued!));
      assert.deepEqual(
        await p.store.resolveRecipient("info@example.com"),
        await p.store.resolveRecipient(ALICE),
      );
    } finally {
      await p.close();
    }

    // a changed flag in the target is a mismatch for that account
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await db.query(
        "UPDATE message SET flags = 'x' WHERE account_id = (SELECT id FROM account WHERE address = $1)",
        [BOB],
      );
    } finally {
      await db.end();
    }
    const v = await runCli(["migrate", "--to", url, "--verify-only", "--config", env.config]);
    assert.equal(v.code, 1, v.stdout + v.stderr);
    assert.match(v.stdout, /MISMATCH account bob@example\.com/);
    assert.doesNotMatch(v.stdout, /MISMATCH account alice/);
    // a second full run refuses: the database holds a migrated store
    const again = await runCli(["migrate", "--to", url, "--config", env.config]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds/);

    p = await openPg(url, t.dir);
    try {
      // identity sequences continue after the copied ids
      const acct = await p.store.getAccount(ALICE);
      const carol = await p.store.createAccount("carol@example.com", "{PLAIN}x");
      assert.ok(carol.id > acct!.id + 1, `new id ${carol.id}`);
      const srv = await listenImap(p.store);
      const c = await login(srv.port, ALICE);
      try {
        assert.ok((await c.cmd("CREATE Fresh")).ok);
        const a = await c.append("INBOX", message("after", "after the move\r\n"));
        assert.ok(a.ok, a.text);
        assert.ok((await c.cmd("SELECT INBOX")).ok);
        const s = await c.cmd('SEARCH BODY "body 1 of"');
        assert.ok(s.ok, s.text);
        assert.match(s.lines.find((l) => l.startsWith("* SEARCH"))!, /^\* SEARCH \d/);
      } finally {
        c.destroy();
        await srv.close();
      }
    } finally {
      await p.close();
    }
  });

  it("refuses a database holding another store", async () => {
    const env = tempEnv("", { init: false });
    const sqlite = await openStore({ dataDir: env.dataDir, feedSocketPath: null, orphanScanDelayMs: null });
    await sqlite.addDomain("example.com");
    await sqlite.close();
    const url = await cluster.createDatabase();
    const other = await openPg(url, t.dir);
    await other.store.addDomain("other.example");
    await other.close();
    const r = await runCli(["migrate", "--to", url, "--config", env.config]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /different store/);
    // a migrate already running into a database (its advisory lock held) refuses a second one
    const url2 = await cluster.createDatabase();
    const holder = new pg.Client({ connectionString: url2 });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1)", [0x706b_6d69_6763_7079n.toString()]);
      const busy = await runCli(["migrate", "--to", url2, "--config", env.config]);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /another `postkontor migrate`/);
    } finally {
      await holder.end();
    }
    const ok = await runCli(["migrate", "--to", url2, "--config", env.config]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });

  it("reports content the live store lost during the copy", async () => {
    const env = tempEnv("", { init: false });
    const sqlite = await openStore({ dataDir: env.dataDir, feedSocketPath: null, orphanScanDelayMs: null });
    try {
      await fill(sqlite);
    } finally {
      await sqlite.close();
    }
    // as if the sweeper had collected a blob whose message was expunged after the snapshot
    const db = new Database(join(env.dataDir, "store.sqlite"), { readonly: true });
    const sha = (
      db
        .prepare(
          "SELECT b.sha256 FROM blob b JOIN message m ON m.blob_id = b.id JOIN account a ON a.id = m.account_id WHERE a.address = ? LIMIT 1",
        )
        .get(BOB) as { sha256: string }
    ).sha256;
    db.close();
    // a file or a small-blob row, whichever holds it
    const files = new FsBlobStore(join(env.dataDir, "blobs"), { writerThreads: 0 });
    files.deleteSync(sha);
    await files.close();
    const url = await cluster.createDatabase();
    const r = await migrateToPostgres({ dataDir: env.dataDir, url });
    assert.ok(
      r.verify.problems.some((p) => p.startsWith(`blob ${sha}: deleted from the live store`)),
      r.verify.problems.join("\n"),
    );
    assert.ok(r.verify.problems.some((p) => p.startsWith(`account ${BOB}: content hash differs`)));
    assert.ok(!r.verify.problems.some((p) => p.startsWith(`account ${ALICE}`)));
  });

  it("resumes a migration killed mid-copy without duplicates, while serve runs", async () => {
    const dir = join(t.dir, "served");
    mkdirSync(dir, { recursive: true });
    const config = writeServeConfig(dir, { pop3: false, http: false });
    const server = startServe(["--config", config]);
    const messages = 40;
    try {
      const port = await listeningPort(server, "imap");
      assert.equal((await runCli(["domain", "add", "example.com", "--config", config])).code, 0);
      const add = await runCli(["user", "add", ALICE, "--config", config], { input: "secret\n" });
      assert.equal(add.code, 0, add.stderr);
      const c = await login(port, ALICE);
      try {
        for (let i = 0; i < messages; i++)
          assert.ok((await c.append("INBOX", message(`bulk ${i}`), i % 3 ? "" : "\\Seen")).ok);
      } finally {
        c.destroy();
      }
      await resumeCheck(config, await cluster.createDatabase(), messages);
    } finally {
      await server.stop();
    }
  });
});

/** a migrate killed by pid after its 5th message batch, then run again: no row twice */
async function resumeCheck(config: string, url: string, messages: number): Promise<void> {
  const args = [MAIN, "migrate", "--to", url, "--config", config, "--batch-rows", "1", "--progress"];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: envWithoutPostkontor(),
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      // killed in the middle of the message table
      if (/copied message 5\n/.test(out)) {
        process.kill(child.pid!, "SIGKILL");
        resolve();
      }
    });
    child.on("exit", () => reject(new Error(`migrate exited before it was killed: ${out}`)));
  }).catch((e) => {
    if (child.exitCode !== null) throw e;
  });
  await new Promise((r) => child.once("close", r));
  assert.match(out, /copied message 5\n/);

  const r = await runCli(["migrate", "--to", url, "--config", config, "--batch-rows", "7"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\(resumed\)/);
  assert.match(r.stdout, /verified/);
  const line = r.stdout.split("\n").find((l) => l.startsWith("message\t"));
  // the kill lands some batches after "copied message 5" was printed: the resumed run copies the
  // rest, never from the start (at most messages - 5 rows) and never a row twice (counts below)
  const f = line?.split("\t") ?? [];
  assert.deepEqual(f.slice(0, 3), ["message", `${messages}`, `${messages}`]);
  const resumed = Number(f[3]?.slice(1));
  assert.ok(f[3]?.startsWith("+") && resumed >= 0 && resumed <= messages - 5, line);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const d = await db.query(
      "SELECT COUNT(*)::int AS n, COUNT(DISTINCT (mailbox_id, uid))::int AS u FROM message",
    );
    assert.deepEqual(d.rows[0], { n: messages, u: messages });
  } finally {
    await db.end();
  }
}
