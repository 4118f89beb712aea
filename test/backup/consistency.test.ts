/**
 * A backup taken while 20 SMTP sessions deliver is consistent: `verify` passes and every message
 * acknowledged (250 after DATA) before `backup run` started is in the snapshot. And the retention:
 * prune keeps the newest snapshot of each of the last keep_daily days and the blobs they use.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { listSnapshots, readBackupBlob, readManifest, snapshotsDir } from "../../src/backup/manifest.ts";
import { pruneSnapshots, takeSnapshot, verifySnapshot } from "../../src/backup/snapshot.ts";
import { accountState, connect } from "../cli/import-helpers.ts";
import { deliver, type E2E, message, PASS_A, startE2E, USER_A } from "../e2e/helpers.ts";
import { SmtpClient } from "../kit/smtp-client.ts";

const SESSIONS = 20;

/** subjects of the account's messages in a snapshot (read from its metadata copy and blobs) */
function subjectsIn(dir: string, id: string, address: string): Set<string> {
  const m = readManifest(dir, id);
  const db = new Database(path.join(snapshotsDir(dir), id, m.metadata.file), { readonly: true });
  try {
    const shas = db
      .prepare(
        "SELECT b.sha256 FROM message m JOIN blob b ON b.id = m.blob_id JOIN account a ON a.id = m.account_id WHERE a.address = ?",
      )
      .pluck()
      .all(address) as string[];
    const out = new Set<string>();
    for (const sha of shas) {
      const s = /^Subject: (.*)\r$/m.exec(readBackupBlob(dir, sha).toString("latin1"));
      if (s) out.add(s[1]!);
    }
    return out;
  } finally {
    db.close();
  }
}

describe("backup consistency and retention", () => {
  let e: E2E;
  before(async () => {
    // no undelete window: an expunged message's blob then leaves the later snapshots (prune test)
    e = await startE2E({ workers: 2, extraToml: "[store]\nundelete_window = 0\n" });
  });
  after(async () => {
    await e?.close();
  });

  it(`a backup taken while ${SESSIONS} SMTP sessions deliver holds every message acknowledged before it`, async () => {
    const acked: Array<{ subject: string; at: number }> = [];
    let stop = false;
    let failures = 0;
    const session = async (i: number) => {
      const c = await SmtpClient.connect(e.server.smtpPort);
      try {
        assert.match(await c.cmd("EHLO client.test"), /^250/);
        for (let j = 0; !stop; j++) {
          const subject = `c-${i}-${j}`;
          if (!(await c.cmd("MAIL FROM:<s@remote.test>")).startsWith("250")) failures++;
          if (!(await c.cmd(`RCPT TO:<${USER_A}>`)).startsWith("250")) failures++;
          if (!(await c.cmd("DATA")).startsWith("354")) failures++;
          c.write(message(subject));
          const r = await c.cmd(".");
          if (r.startsWith("250")) acked.push({ subject, at: Date.now() });
          else failures++;
        }
        await c.cmd("QUIT");
      } finally {
        c.close();
      }
    };
    const running = Array.from({ length: SESSIONS }, (_, i) => session(i));
    // let deliveries get going
    while (acked.length < 40) await new Promise((r) => setTimeout(r, 20));
    // every acknowledgement pushed so far came before the backup command started
    const ackedBefore = acked.length;
    const r = await e.cli(["backup", "run", "--no-prune"]);
    stop = true;
    await Promise.all(running);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(failures, 0);
    const id = /^snapshot (\S+):/m.exec(r.stdout.toString())![1]!;
    const dir = path.join(e.server.dir, "data", "backups");
    const v = verifySnapshot(dir, id);
    assert.deepEqual(v.problems, []);
    const inSnapshot = subjectsIn(dir, id, USER_A);
    const before = acked.slice(0, ackedBefore);
    assert.ok(before.length >= 40);
    const missing = before.filter((a) => !inSnapshot.has(a.subject)).map((a) => a.subject);
    assert.deepEqual(missing, []);
    // and nothing in it that was never acknowledged
    const all = new Set(acked.map((a) => a.subject));
    for (const s of inSnapshot) assert.ok(all.has(s), `unexpected ${s}`);
  });

  it("prune keeps the newest snapshot of each of the last keep_daily days and only their blobs", async () => {
    const dir = path.join(e.server.dir, "prune-test");
    const dataDir = path.join(e.server.dir, "data");
    const day = (n: number, h = 3) => new Date(Date.UTC(2026, 0, 10 + n, h, 30, 0));
    await deliver(e, USER_A, message("ephemeral"));
    const old = await takeSnapshot({ dataDir, dir, compress: true, now: day(0) });
    // the message only the oldest snapshot has
    const c = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    try {
      const lock = await c.getMailboxLock("INBOX");
      try {
        const hits = (await c.search({ subject: "ephemeral" })) || [];
        assert.equal(hits.length, 1);
        await c.messageDelete(hits);
      } finally {
        lock.release();
      }
      await accountState(c); // the expunge is committed before the next snapshots
    } finally {
      await c.logout();
    }
    const ids = [old.id];
    for (const [n, h] of [
      [1, 3],
      [2, 3],
      [2, 9],
      [3, 3],
      [4, 3],
    ] as const)
      ids.push((await takeSnapshot({ dataDir, dir, compress: true, now: day(n, h) })).id);
    assert.equal(old.copied, old.blobs.length, "the first snapshot copies every blob");
    const p = pruneSnapshots(dir, 3, 0);
    assert.deepEqual(p.kept, [ids[3], ids[4], ids[5]]);
    assert.deepEqual(listSnapshots(dir), p.kept);
    assert.equal(p.blobsRemoved, 1, "the expunged message's blob went with the last snapshot using it");
    for (const id of p.kept) assert.deepEqual(verifySnapshot(dir, id).problems, []);
    assert.ok(!fs.existsSync(path.join(snapshotsDir(dir), ids[0]!)));
  });
});
