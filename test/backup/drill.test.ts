/**
 * The restore drill (docs/backup.md) against a running `serve`: deliver, `backup run`, delete and
 * expunge, `restore --mailbox` and `restore` of the account into Restored/<date>/…, compared over
 * IMAP (BODY[] hashes, flags, internal dates) with the state at the snapshot; a second backup
 * copies only the new blob; `verify` finds a corrupted blob; disaster recovery into an empty data
 * directory, then `serve` on it: same UIDVALIDITY, UIDs and content.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ImapFlow } from "imapflow";
import { startServer } from "../../bench/server.ts";
import { accountState, connect, summary } from "../cli/import-helpers.ts";
import { deliver, type E2E, message, PASS_A, startE2E, USER_A } from "../e2e/helpers.ts";

interface Uids {
  [folder: string]: { uidValidity: string; uids: number[] };
}

async function uidState(c: ImapFlow): Promise<Uids> {
  const out: Uids = {};
  for (const f of await c.list()) {
    const lock = await c.getMailboxLock(f.path, { readOnly: true });
    try {
      const uids: number[] = [];
      if ((c.mailbox as { exists: number }).exists > 0)
        for await (const m of c.fetch("1:*", { uid: true })) uids.push(m.uid);
      out[f.path] = { uidValidity: String((c.mailbox as { uidValidity: bigint }).uidValidity), uids };
    } finally {
      lock.release();
    }
  }
  return out;
}

function snapshotIdOf(stdout: Buffer | string): string {
  const m = /^snapshot (\S+):/m.exec(stdout.toString());
  assert.ok(m, `no snapshot id in ${stdout}`);
  return m[1]!;
}

describe("backup and restore drill", () => {
  let e: E2E;
  let atSnapshot: Awaited<ReturnType<typeof accountState>>;
  let uidsAtSnapshot: Uids;
  let id = "";
  const backups = () => path.join(e.server.dir, "data", "backups");

  before(async () => {
    e = await startE2E({ workers: 1 });
    await deliver(e, USER_A, message("first"));
    await deliver(e, USER_A, message("second", "with a body\r\n"));
    await deliver(e, USER_A, message("third"));
    const c = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    try {
      await c.mailboxOpen("INBOX");
      await c.messageFlagsAdd("1", ["\\Seen", "\\Flagged", "$Label1"]);
      await c.messageFlagsAdd("3", ["\\Answered", "Custom"]);
      await c.mailboxCreate("Projects");
      await c.append("Projects", message("nested"), ["\\Seen"], new Date("2024-02-03T04:05:06Z"));
      await c.append("Sent", message("sent one"), ["\\Seen", "$Forwarded"], new Date("2023-01-01T00:00:00Z"));
      atSnapshot = await accountState(c);
      uidsAtSnapshot = await uidState(c);
    } finally {
      await c.logout();
    }
  });

  after(async () => {
    await e?.close();
  });

  it("backup run takes a snapshot online; verify passes", async () => {
    const r = await e.cli(["backup", "run"]);
    assert.equal(r.code, 0, r.stderr);
    id = snapshotIdOf(r.stdout);
    assert.match(r.stdout.toString(), /5 messages, 5 blobs \(5 new/);
    const v = await e.cli(["backup", "verify"]);
    assert.equal(v.code, 0, `${v.stdout}${v.stderr}`);
    assert.ok(v.stdout.toString().split("\n").includes(`${id}: ok (5 blobs)`), v.stdout.toString());
    const l = await e.cli(["backup", "list"]);
    assert.ok(
      l.stdout
        .toString()
        .split("\n")
        .some((line) => line.startsWith(`${id}\t`)),
      l.stdout.toString(),
    );
  });

  it("delete and expunge, then restore the folder and the account into Restored/<date>/", async () => {
    const c = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    try {
      await c.mailboxOpen("INBOX");
      await c.messageDelete("1:*");
      await c.mailboxDelete("Projects");
    } finally {
      await c.logout();
    }
    const day = id.slice(0, 10);
    const one = await e.cli(["restore", USER_A, "--snapshot", day, "--mailbox", "INBOX"]);
    assert.equal(one.code, 0, `${one.stdout}${one.stderr}`);
    assert.match(one.stdout.toString(), /restored from \S+: 3, skipped as duplicate: 0, failed: 0/);
    const all = await e.cli(["restore", USER_A, "--snapshot", id]);
    assert.equal(all.code, 0, `${all.stdout}${all.stderr}`);
    // INBOX again: its three are already restored (the import ledger)
    assert.match(all.stdout.toString(), /restored from \S+: 2, skipped as duplicate: 3, failed: 0/);
    const c2 = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    try {
      const now = await accountState(c2);
      assert.deepEqual(now.get("INBOX"), [], "live INBOX stays as it is");
      const prefix = `Restored/${day}/`;
      const restored = new Map(
        [...now].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]),
      );
      const expected = new Map([...atSnapshot].filter(([, v]) => v.length > 0));
      assert.deepEqual(summary(restored), summary(expected));
    } finally {
      await c2.logout();
    }
  });

  it("a second backup copies only the new blob (incremental)", async () => {
    await deliver(e, USER_A, message("after the first backup"));
    const r = await e.cli(["backup", "run", "--no-prune"]);
    assert.equal(r.code, 0, r.stderr);
    // 5 restored (same blobs) + 1 new
    assert.match(r.stdout.toString(), /\(1 new,/);
  });

  it("verify detects a corrupted blob", async () => {
    const root = path.join(backups(), "blobs");
    const a = fs.readdirSync(root)[0]!;
    const b = fs.readdirSync(path.join(root, a))[0]!;
    const f = path.join(root, a, b, fs.readdirSync(path.join(root, a, b))[0]!);
    const good = fs.readFileSync(f);
    const bad = Buffer.from(good);
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0x20;
    fs.writeFileSync(f, bad);
    try {
      const v = await e.cli(["backup", "verify"]);
      assert.equal(v.code, 1);
      assert.ok(
        v.stdout.toString().includes(`blob ${path.basename(f)}: content does not match`),
        v.stdout.toString(),
      );
    } finally {
      fs.writeFileSync(f, good);
    }
    const v2 = await e.cli(["backup", "verify"]);
    assert.equal(v2.code, 0, v2.stdout.toString());
  });

  it("disaster recovery into an empty data directory: serve keeps UIDVALIDITY and UIDs", async () => {
    const dir = fs.mkdtempSync(path.join(path.dirname(e.server.dir), "pk-dr-"));
    try {
      const target = path.join(dir, "data");
      const r = await e.cli([
        "restore",
        "--all",
        "--snapshot",
        id,
        "--data-dir",
        target,
        "--backup-dir",
        backups(),
      ]);
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
      const again = await e.cli(["restore", "--all", "--snapshot", id, "--data-dir", target]);
      assert.notEqual(again.code, 0, "a data directory with a store is refused");
      const s = await startServer({ dir, workers: 1 });
      try {
        const c = await connect("127.0.0.1", s.imapPort, USER_A, PASS_A);
        try {
          assert.deepEqual(await uidState(c), uidsAtSnapshot);
          assert.deepEqual(summary(await accountState(c)), summary(atSnapshot));
        } finally {
          await c.logout();
        }
      } finally {
        await s.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("restore --replace: the account becomes its snapshot state, after a snapshot of the current one", async () => {
    const before = (await e.cli(["backup", "list"])).stdout.toString().trim().split("\n").length;
    const r = await e.cli(["restore", USER_A, "--snapshot", id, "--replace"]);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout.toString(), /^snapshot of the current state: \S+$/m);
    assert.match(r.stdout.toString(), /restored from \S+: 5, skipped as duplicate: 0, failed: 0/);
    const after = (await e.cli(["backup", "list"])).stdout.toString().trim().split("\n").length;
    assert.equal(after, before + 1);
    const c = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    try {
      assert.deepEqual(summary(await accountState(c)), summary(atSnapshot));
    } finally {
      await c.logout();
    }
  });
});
