/**
 * `postkontor user import FILE`: plain passwords and Dovecot-style {SCHEME} hashes, quota and
 * protocols per line, per-line errors with line numbers (unsupported schemes, unhosted domains,
 * weak passwords), a summary, several batches, and an idempotent re-run (skip, or --update).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { hashPassword, verifyHash } from "../../src/auth/index.ts";
import { shaCrypt } from "../../src/auth/sha-crypt.ts";
import { openStore } from "../../src/store/index.ts";
import { run, tempEnv } from "./helpers.ts";

async function withStore<T>(dataDir: string, fn: (s: Awaited<ReturnType<typeof openStore>>) => Promise<T>) {
  const store = await openStore({ dataDir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe("postkontor user import", () => {
  it("creates accounts from passwords and hashes, reports bad lines, re-runs idempotently", async () => {
    const env = tempEnv();
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    const sha = `{SHA512-CRYPT}${shaCrypt("sha pass", "$6$abcdefgh")}`;
    const argon = await hashPassword("argon pass");
    const file = join(env.dir, "users.txt");
    writeFileSync(
      file,
      [
        "# a comment, then a blank line",
        "",
        "plain@example.com:plain pass",
        "braced@example.com:{PLAIN}{starts with a brace}",
        `sha@example.com:${sha}:2G:imap`,
        `argon@example.com:${argon}::pop3`,
        "md5@example.com:{MD5-CRYPT}$1$abc$def",
        "stranger@elsewhere.org:some pass",
        "proto@example.com:pw:1G:smtp",
        "none@example.com:pw::none",
      ].join("\n"),
    );
    const r = await run(["user", "import", file, "--batch", "2", ...c]);
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stdout, /^created 5, updated 0, skipped 0 \(existing\), failed 3$/m);
    assert.match(r.stderr, /^line 7: md5@example\.com: password scheme \{MD5-CRYPT\} is not supported/m);
    assert.match(r.stderr, /^line 8: stranger@elsewhere\.org: domain elsewhere\.org is not hosted here$/m);
    assert.match(r.stderr, /^line 9: proto@example\.com: unknown protocol "smtp"/m);

    await withStore(env.dataDir, async (s) => {
      const plain = await s.getAccount("plain@example.com");
      assert.ok(plain && (await verifyHash(plain.passwordHash, "plain pass")));
      assert.match(
        plain.passwordHash,
        /^\{ARGON2ID\}\$argon2id\$v=19\$m=19456,t=2,p=1\$/,
        "user add's parameters",
      );
      const braced = await s.getAccount("braced@example.com");
      assert.ok(braced && (await verifyHash(braced.passwordHash, "{starts with a brace}")));
      const shaAcc = await s.getAccount("sha@example.com");
      assert.ok(shaAcc && (await verifyHash(shaAcc.passwordHash, "sha pass")));
      assert.equal(shaAcc.passwordHash, sha, "an imported hash is stored as given");
      assert.equal(shaAcc.quotaBytes, 2 * 1024 ** 3);
      assert.deepEqual([shaAcc.settings.imapEnabled, shaAcc.settings.pop3Enabled], [true, false]);
      const argonAcc = await s.getAccount("argon@example.com");
      assert.ok(argonAcc && (await verifyHash(argonAcc.passwordHash, "argon pass")));
      assert.deepEqual([argonAcc.settings.imapEnabled, argonAcc.settings.pop3Enabled], [false, true]);
      const none = await s.getAccount("none@example.com");
      assert.deepEqual([none?.settings.imapEnabled, none?.settings.pop3Enabled], [false, false]);
      assert.equal(await s.getAccount("md5@example.com"), null);
      const folders = (await s.listMailboxes(plain.id)).map((m) => m.name).sort();
      assert.ok(folders.includes("INBOX") && folders.includes("Sent"), "default folders");
    });

    // the same file again: nothing changes, existing accounts are skipped
    const again = await run(["user", "import", file, ...c]);
    assert.match(again.stdout, /^created 0, updated 0, skipped 5 \(existing\), failed 3$/m);

    // --update: new password and quota for an existing account, one new account
    const upd = join(env.dir, "update.txt");
    writeFileSync(upd, "plain@example.com:new pass:500M\nfresh@example.com:fresh pass\n");
    const u = await run(["user", "import", upd, "--update", ...c]);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /^created 1, updated 1, skipped 0 \(existing\), failed 0$/m);
    await withStore(env.dataDir, async (s) => {
      const plain = await s.getAccount("plain@example.com");
      assert.ok(plain && (await verifyHash(plain.passwordHash, "new pass")));
      assert.equal(plain.quotaBytes, 500 * 1024 ** 2);
      assert.ok(await s.getAccount("fresh@example.com"));
    });
  });

  it("plain passwords meet [auth] min_password_length; imported hashes are exempt", async () => {
    const env = tempEnv("", { passwordPolicy: true });
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    const file = join(env.dir, "users.txt");
    const sha = `{SHA256-CRYPT}${shaCrypt("x", "$5$saltsalt")}`;
    writeFileSync(file, `weak@example.com:abc\nhashed@example.com:${sha}\n`);
    const r = await run(["user", "import", file, ...c]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /^line 1: weak@example\.com: the password is too short/m);
    assert.match(r.stdout, /^created 1, updated 0, skipped 0 \(existing\), failed 1$/m);
  });
});
