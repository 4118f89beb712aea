// Backups, restores and the undelete window on a PostgreSQL store (docs/backup.md): `backup run`
// against `serve` nodes on one database while mail arrives (verify passes; every delivery
// acknowledged before the run is in the snapshot); restore of a folder and of the account into
// the live PostgreSQL store (Restored/<date>/…, flags and internal dates kept, live UIDs
// untouched); the snapshot's instant (content the sweeper deletes after it is still read);
// `undelete` on PostgreSQL (the sweeper keeps the content inside the window and purges
// it after); two nodes' daily schedules take one snapshot (the day's lease) — in this process and
// as two `serve` nodes whose backup time is the same minute; `restore --replace`; disaster recovery
// into an empty PostgreSQL database (`restore --all --to`) keeps UIDVALIDITY and UIDs.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { ImapFlow } from "imapflow";
import pg from "pg";
import { listSnapshots, readManifest } from "../../src/backup/manifest.ts";
import { startBackupSchedule } from "../../src/backup/schedule.ts";
import { pgSnapshotSource } from "../../src/backup/snapshot-pg.ts";
import type { ResolvedConfig } from "../../src/config/index.ts";
import type { Logger } from "../../src/server/index.ts";
import { openPostgresStore } from "../../src/store/postgres.ts";
import type { SqlStore } from "../../src/store/store.ts";
import { accountState, connect, summary } from "../cli/import-helpers.ts";
import { message } from "../e2e/helpers.ts";
import { captureLogger } from "../kit/logs.ts";
import { type PgNode, pgNodeCli, startPgNode } from "../kit/pg-nodes.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { runCli } from "../kit/process.ts";
import { tempDir } from "../kit/temp.ts";

const skip = !postgresAvailable() && "PostgreSQL binaries missing";
const USER = "pat@example.com";
/** receives the mail that arrives during the backup */
const BUSY = "busy@example.com";
const PASS = "backup on pg pw";

function snapshotIdOf(stdout: string): string {
  const m = /^snapshot (\S+):/m.exec(stdout);
  assert.ok(m, `no snapshot id in ${stdout}`);
  return m[1]!;
}

async function uidsOf(c: ImapFlow, folder: string): Promise<{ uidValidity: string; uids: number[] }> {
  const lock = await c.getMailboxLock(folder, { readOnly: true });
  try {
    const uids: number[] = [];
    if ((c.mailbox as { exists: number }).exists > 0)
      for await (const m of c.fetch("1:*", { uid: true })) uids.push(m.uid);
    return { uidValidity: String((c.mailbox as { uidValidity: bigint }).uidValidity), uids };
  } finally {
    lock.release();
  }
}

describe("backups on PostgreSQL", { skip }, () => {
  let cluster: PgCluster;
  let url: string;
  let a: PgNode;
  let b: PgNode;
  const tmp = tempDir("pk-pg-backup-");
  const backups = join(tmp.dir, "backups");
  let id = "";
  let atSnapshot: ReturnType<typeof summary>;
  let inboxAtSnapshot: { uidValidity: string; uids: number[] };

  const cli = async (n: PgNode, args: string[], input = "") => {
    const r = await runCli([...args, "--config", n.config], { input });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const imap = (n: PgNode) => connect("127.0.0.1", n.imap, USER, PASS);

  before(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    const extraToml = `[backup]\nenabled = false\ndir = ${JSON.stringify(backups)}\n`;
    a = await startPgNode(url, "a", { extraToml });
    b = await startPgNode(url, "b", { extraToml });
    await pgNodeCli(a, ["domain", "add", "example.com"]);
    await pgNodeCli(a, ["user", "add", USER], `${PASS}\n`);
    await pgNodeCli(a, ["user", "add", BUSY], `${PASS}\n`);
    for (const s of ["first", "second", "third"]) await cli(a, ["deliver", USER], message(s).toString());
    const c = await imap(b);
    try {
      await c.mailboxOpen("INBOX");
      await c.messageFlagsAdd("1", ["\\Seen", "\\Flagged", "$Label1"]);
      await c.messageFlagsAdd("3", ["\\Answered", "Custom"]);
      await c.mailboxCreate("Projects");
      await c.append("Projects", message("nested"), ["\\Seen"], new Date("2024-02-03T04:05:06Z"));
    } finally {
      await c.logout();
    }
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
    tmp.cleanup();
  });

  test("backup run while mail arrives: verify passes, every delivery acknowledged before it is in it", async () => {
    const c = await imap(a);
    try {
      atSnapshot = summary(await accountState(c));
      inboxAtSnapshot = await uidsOf(c, "INBOX");
    } finally {
      await c.logout();
    }
    // deliveries on node B go on while node A's CLI takes the snapshot
    let stop = false;
    let arrived = 0;
    let ended = false;
    const traffic = (async () => {
      while (!stop) {
        await cli(b, ["deliver", BUSY], message(`during ${arrived}`).toString());
        arrived++;
      }
    })().finally(() => {
      ended = true;
    });
    let out: string;
    let acknowledged = 0;
    try {
      // let some arrive first: those acknowledged before the run starts must be in the snapshot
      while (arrived < 2 && !ended) await new Promise((r) => setTimeout(r, 20));
      acknowledged = arrived;
      out = await cli(a, ["backup", "run", "--backup-dir", backups]);
    } finally {
      stop = true;
      await traffic;
    }
    id = snapshotIdOf(out);
    const m = readManifest(backups, id);
    assert.equal(m.backend, "postgres");
    // pat's 4 messages and busy's acknowledged before the run, plus any delivered meanwhile
    assert.ok(
      m.messages >= 4 + acknowledged && m.messages <= 4 + arrived,
      `${m.messages} messages, ${acknowledged} acknowledged before, ${arrived} in all`,
    );
    assert.equal(m.copied, m.blobs.length);
    const v = await cli(a, ["backup", "verify", "--backup-dir", backups]);
    assert.ok(
      v.split("\n").some((l) => l.startsWith(`${id}: ok`)),
      v,
    );
    // incremental: a second run copies only what arrived after the first (--no-prune: the
    // retention keeps one snapshot a day, and the later tests restore the first)
    const again = readManifest(
      backups,
      snapshotIdOf(await cli(a, ["backup", "run", "--no-prune", "--backup-dir", backups])),
    );
    assert.equal(again.copied, again.messages - m.messages);
    assert.ok(again.copied <= arrived);
  });

  test("restore a folder and the account into the live PostgreSQL store; live UIDs untouched", async () => {
    const c = await imap(b);
    let liveBefore: { uidValidity: string; uids: number[] };
    try {
      await c.mailboxOpen("INBOX");
      await c.messageDelete("1:2"); // expunged; the rest keep their UIDs
      await c.mailboxDelete("Projects");
      liveBefore = await uidsOf(c, "INBOX");
    } finally {
      await c.logout();
    }
    const day = id.slice(0, 10);
    await cli(a, ["restore", USER, "--snapshot", id, "--mailbox", "INBOX", "--backup-dir", backups]);
    const c2 = await imap(a);
    try {
      const now = summary(await accountState(c2));
      assert.deepEqual(now[`Restored/${day}/INBOX`], atSnapshot.INBOX);
      assert.deepEqual(await uidsOf(c2, "INBOX"), liveBefore);
    } finally {
      await c2.logout();
    }
    // the whole account: Projects comes back, INBOX's messages are there already (skipped)
    const out = await cli(b, ["restore", USER, "--snapshot", id, "--backup-dir", backups]);
    assert.match(out, /skipped as duplicate: 3\b/);
    const c3 = await imap(b);
    try {
      const now = summary(await accountState(c3));
      assert.deepEqual(now[`Restored/${day}/Projects`], atSnapshot.Projects);
      assert.deepEqual(now[`Restored/${day}/INBOX`], atSnapshot.INBOX);
      assert.deepEqual(await uidsOf(c3, "INBOX"), liveBefore);
    } finally {
      await c3.logout();
    }
  });

  test("undelete on PostgreSQL: kept with their content inside the window, purged after", async () => {
    const db = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const c = await imap(a);
      let before: ReturnType<typeof summary>;
      try {
        await c.mailboxCreate("Undo");
        await c.append("Undo", message("undo me"), ["\\Seen", "$Work"], new Date("2021-05-06T07:08:09Z"));
        await c.append("Undo", message("and me", "other body\r\n"), [], new Date("2022-01-02T03:04:05Z"));
        before = summary(await accountState(c));
        await c.mailboxOpen("Undo");
        await c.messageDelete("1:*");
      } finally {
        await c.logout();
      }
      const kept = await db.query(
        `SELECT b.sha256, (SELECT count(*) FROM blob_data d WHERE d.id = b.sha256)::int AS content
           FROM deleted_message m JOIN blob b ON b.id = m.blob_id WHERE m.mailbox_name = 'Undo'`,
      );
      assert.equal(kept.rows.length, 2);
      // a sweep now (the window is 7 days) keeps the content
      const s = (await openPostgresStore({
        url,
        dataDir: tmp.dir,
        listen: false,
        pruneDelayMs: null,
        undeleteWindowMs: 7 * 86_400_000,
      })) as SqlStore;
      try {
        await s.collectGarbage({});
      } finally {
        await s.close();
      }
      const still = await db.query("SELECT count(*)::int AS n FROM blob_data WHERE id = ANY($1::text[])", [
        kept.rows.map((r) => r.sha256),
      ]);
      assert.equal(still.rows[0].n, 2);
      assert.match(await cli(b, ["undelete", USER, "--mailbox", "Undo"]), /^undeleted: 2 into Undo$/m);
      const c2 = await imap(b);
      try {
        const now = summary(await accountState(c2));
        assert.deepEqual(now.Undo, before.Undo);
        // expunged again, then purged by a store whose window is over: rows and content go
        await c2.mailboxOpen("Undo");
        await c2.messageDelete("1:*");
      } finally {
        await c2.logout();
      }
      const s2 = (await openPostgresStore({
        url,
        dataDir: tmp.dir,
        listen: false,
        pruneDelayMs: null,
        undeleteWindowMs: 0,
      })) as SqlStore;
      try {
        await s2.collectGarbage({});
      } finally {
        await s2.close();
      }
      const rows = await db.query(
        "SELECT count(*)::int AS n FROM deleted_message WHERE mailbox_name = 'Undo'",
      );
      assert.equal(rows.rows[0].n, 0);
      const gone = await db.query("SELECT count(*)::int AS n FROM blob_data WHERE id = ANY($1::text[])", [
        kept.rows.map((r) => r.sha256),
      ]);
      assert.equal(gone.rows[0].n, 0);
    } finally {
      await db.end();
    }
  });

  test("the snapshot's instant holds: content collected after the metadata copy is still read", async () => {
    const s = (await openPostgresStore({
      url,
      dataDir: tmp.dir,
      listen: false,
      pruneDelayMs: null,
      undeleteWindowMs: 0,
    })) as SqlStore;
    let src: Awaited<ReturnType<typeof pgSnapshotSource>> | null = null;
    const metaDir = join(tmp.dir, "instant");
    try {
      const acc = (await s.getAccount(USER))!;
      const box = (await s.createMailbox(acc.id, "Instant")).id;
      const raw = message("collected after the snapshot");
      const a = await s.append(acc.id, box, { raw });
      const sha = (await s.getMessages(box, [a.uid]))[0]!.blobId;
      // the snapshot's instant is the source's opening: the message is in it
      src = await pgSnapshotSource(url);
      mkdirSync(metaDir);
      await src.metadata(join(metaDir, "store.sqlite"));
      const meta = new Database(join(metaDir, "store.sqlite"), { readonly: true });
      try {
        const row = meta
          .prepare("SELECT count(*) AS n FROM message m JOIN blob b ON b.id = m.blob_id WHERE b.sha256 = ?")
          .get(sha) as { n: number };
        assert.equal(row.n, 1, "the message is in the metadata copy");
      } finally {
        meta.close();
      }
      // expunged, and its content deleted by the sweeper (window 0) after that instant
      await s.expunge(box, [a.uid]);
      await s.collectGarbage({});
      const db = new pg.Pool({ connectionString: url, max: 1 });
      try {
        const left = await db.query("SELECT count(*)::int AS n FROM blob_data WHERE id = $1", [sha]);
        assert.equal(left.rows[0].n, 0, "collected in the live store");
      } finally {
        await db.end();
      }
      assert.deepEqual(await src.read(sha), raw);
      await s.deleteMailbox(acc.id, "Instant");
    } finally {
      await src?.close();
      await s.close();
    }
  });

  test("two nodes' daily schedules: one snapshot, the other node skips (the day's lease)", async () => {
    const { logs, logger } = captureLogger();
    const log = { ...logger, child: () => log } as unknown as Logger;
    const dirs = [join(tmp.dir, "daily-a"), join(tmp.dir, "daily-b")];
    const config = (n: number) =>
      ({
        data_dir: join(tmp.dir, `node-${n}`),
        store: { backend: "postgres", url },
        backup: {
          enabled: false,
          dir: dirs[n],
          time: "03:30",
          keep_daily: 7,
          keep_weekly: 0,
          compress: false,
          retry: 60_000,
        },
      }) as unknown as ResolvedConfig;
    for (const n of [0, 1]) mkdirSync(join(tmp.dir, `node-${n}`), { recursive: true });
    const s = [startBackupSchedule(config(0), log), startBackupSchedule(config(1), log)];
    try {
      const ok = await Promise.all(s.map((x) => x.runNow()));
      assert.deepEqual(ok, [true, true]);
      // later the same day the other node still finds the lease held
      assert.equal(await s[0]!.runNow(), true);
      assert.equal(await s[1]!.runNow(), true);
      const taken = dirs.map((d) => listSnapshots(d).length);
      assert.equal(taken[0]! + taken[1]!, 1, `snapshots per node: ${taken}`);
      assert.equal(logs.filter((l) => l.msg === "backup snapshot taken").length, 1);
      assert.equal(logs.filter((l) => l.msg === "backup skipped").length, 3);
      assert.equal(logs.filter((l) => l.msg === "backup failed").length, 0);
    } finally {
      for (const x of s) await x.stop();
    }
  });

  test("two serve nodes with the daily backup at the same minute: one snapshot, one node skips", async () => {
    // the next minute at least 30 s away (both nodes are up by then), server local time
    const at = new Date(Date.now() + 30_000);
    at.setSeconds(0, 0);
    at.setMinutes(at.getMinutes() + 1);
    const hhmm = `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
    const shared = join(tmp.dir, "daily-serve");
    // the test above took today's lease (held 36 h after its snapshot): as if on a new day
    const db = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const r = await db.query("DELETE FROM lease WHERE name LIKE 'backup/daily/%'");
      assert.equal(r.rowCount, 1);
    } finally {
      await db.end();
    }
    const extraToml = `[backup]\nenabled = true\ntime = "${hhmm}"\ndir = ${JSON.stringify(shared)}\n`;
    const nodes = [await startPgNode(url, "c", { extraToml }), await startPgNode(url, "d", { extraToml })];
    try {
      const wait = Math.max(0, at.getTime() - Date.now()) + 60_000;
      const ended = await Promise.all(
        nodes.map((n) =>
          n.server.waitForLog((l) => l.msg === "backup snapshot taken" || l.msg === "backup skipped", wait),
        ),
      );
      assert.deepEqual(ended.map((l) => l.msg).sort(), ["backup skipped", "backup snapshot taken"]);
      assert.equal(listSnapshots(shared).length, 1);
      assert.ok(nodes.every((n) => !n.server.logs.some((l) => l.msg === "backup failed")));
    } finally {
      for (const n of nodes) await n.close();
    }
  });

  test("disaster recovery into an empty PostgreSQL database: same UIDVALIDITY and UIDs", async () => {
    const target = await cluster.createDatabase();
    const out = await cli(a, ["restore", "--all", "--snapshot", id, "--backup-dir", backups, "--to", target]);
    assert.match(out, /verified/);
    // the scratch data directory is gone
    assert.deepEqual(
      readdirSync(backups).filter((f) => f.startsWith("restore-")),
      [],
    );
    const n = await startPgNode(target, "restored", { extraToml: "[backup]\nenabled = false\n" });
    try {
      const c = await imap(n);
      try {
        assert.deepEqual(summary(await accountState(c)), atSnapshot);
        assert.deepEqual(await uidsOf(c, "INBOX"), inboxAtSnapshot);
      } finally {
        await c.logout();
      }
    } finally {
      await n.close();
    }
  });

  test("restore --replace on PostgreSQL: the account becomes its snapshot state, after a snapshot of the current one", async () => {
    const before = listSnapshots(backups).length;
    const out = await cli(b, ["restore", USER, "--snapshot", id, "--replace", "--backup-dir", backups]);
    assert.match(out, /^snapshot of the current state: \S+$/m);
    assert.match(out, /restored from \S+: 4, skipped as duplicate: 0, failed: 0/);
    assert.equal(listSnapshots(backups).length, before + 1);
    const c = await imap(a);
    try {
      assert.deepEqual(summary(await accountState(c)), atSnapshot);
    } finally {
      await c.logout();
    }
  });
});
