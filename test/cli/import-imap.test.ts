/**
 * `postkontor import --imap-host …` while `serve` runs: from another account of our own server
 * (STARTTLS) and from Debian's Dovecot (skipped with a message when it is not installed) — every
 * folder with its hierarchy, octets, flags, keywords and internal dates; common folder names map
 * onto the special-use folders (`Sent Items` → Sent, `Deleted Items` → Trash); an IDLE session of
 * the target account hears of the new mail; a second run stores nothing.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { dovecotAvailable, startDovecot } from "../../bench/dovecot.ts";
import {
  deliver,
  type E2E,
  message,
  PASS_A,
  PASS_B,
  startE2E,
  USER_A,
  USER_B,
  within,
} from "../e2e/helpers.ts";
import { accountState, connect, summary } from "./import-helpers.ts";

const USER_C = "c@example.test";
const PASS_C = "pw-c Secret";
const USER_D = "d@example.test";
const PASS_D = "pw-d Secret";

describe("import from an IMAP server", () => {
  let e: E2E;

  before(async () => {
    e = await startE2E({ workers: 2 });
    const r = await e.cli(["user", "add", USER_C], `${PASS_C}\n${PASS_C}\n`);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await e?.close();
  });

  it("from another account of this server: same state; IDLE hears it; a second run stores nothing", async () => {
    await deliver(e, USER_A, message("one"));
    await deliver(e, USER_A, message("two"));
    const a = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    let source: Awaited<ReturnType<typeof accountState>>;
    try {
      await a.mailboxOpen("INBOX");
      await a.messageFlagsAdd("1", ["\\Seen", "$Important", "project-x"]);
      await a.mailboxCreate(["Lists", "node"]);
      await a.append("Lists/node", message("list mail"), ["\\Seen"], new Date("2021-03-04T05:06:07Z"));
      await a.append("Archive", message("old"), ["\\Seen", "\\Answered"], new Date("2019-01-02T03:04:05Z"));
      source = await accountState(a);
    } finally {
      await a.logout();
    }
    // an IDLE session of the target account, on the server's other worker or this one
    const b = await connect("127.0.0.1", e.server.imapPort, USER_B, PASS_B);
    try {
      await b.mailboxOpen("INBOX");
      const exists = new Promise<number>((resolve) =>
        b.on("exists", (d: { count: number }) => {
          if (d.count >= 2) resolve(d.count);
        }),
      );
      const idle = b.idle();
      const args = ["import", USER_B, "--imap-host", "127.0.0.1", "--imap-port", String(e.server.imapPort)];
      const im = await e.cli(
        [...args, "--imap-user", USER_A, "--imap-starttls", "--imap-insecure"],
        `${PASS_A}\n`,
      );
      assert.equal(im.code, 0, `${im.stdout}${im.stderr}`);
      assert.match(im.stdout.toString(), /imported: 4\nskipped as duplicate: 0\nfailed: 0/);
      assert.equal(await within(exists, 15_000, "EXISTS in IDLE"), 2);
      await b.noop().catch(() => {});
      void idle;
      assert.deepEqual(summary(await accountState(b)), summary(source));
    } finally {
      await b.logout().catch(() => b.close());
    }
    const pwFile = path.join(e.server.dir, "pw");
    fs.writeFileSync(pwFile, `${PASS_A}\n`, { mode: 0o600 });
    const again = await e.cli([
      "import",
      USER_B,
      "--imap-host",
      "127.0.0.1",
      "--imap-port",
      String(e.server.imapPort),
      "--imap-user",
      USER_A,
      "--imap-starttls",
      "--imap-insecure",
      "--password-file",
      pwFile,
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout.toString(), /imported: 0\nskipped as duplicate: 4\nfailed: 0/);
  });

  it("implicit TLS (--imap-tls); a wrong password stops with a clear message and exit 1", async () => {
    const r0 = await e.cli(["user", "add", USER_D], `${PASS_D}\n${PASS_D}\n`);
    assert.equal(r0.code, 0, r0.stderr);
    const base = ["import", USER_D, "--imap-host", "127.0.0.1", "--imap-port", String(e.server.imapsPort)];
    const bad = await e.cli(
      [...base, "--imap-user", USER_A, "--imap-tls", "--imap-insecure"],
      "wrong password\n",
    );
    assert.equal(bad.code, 1, `${bad.stdout}${bad.stderr}`);
    assert.match(
      bad.stderr,
      new RegExp(`import stopped: imap:${USER_A}@127\\.0\\.0\\.1:\\d+: IMAP .* login as ${USER_A} failed`),
    );
    assert.match(bad.stdout.toString(), /imported: 0\n/);
    const ok = await e.cli([...base, "--imap-user", USER_A, "--imap-tls", "--imap-insecure"], `${PASS_A}\n`);
    assert.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
    const a = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    const d = await connect("127.0.0.1", e.server.imapPort, USER_D, PASS_D);
    try {
      assert.deepEqual(summary(await accountState(d)), summary(await accountState(a)));
    } finally {
      await a.logout();
      await d.logout();
    }
  });

  it("from Debian's Dovecot: folders, flags, keywords, dates; common names → special-use folders", {
    skip: !dovecotAvailable() && "Dovecot is not installed (apt-get install dovecot-imapd)",
  }, async () => {
    const dv = await startDovecot([["old@legacy.test", "oldpw"]]);
    try {
      const d = await connect("127.0.0.1", dv.imapPort, "old@legacy.test", "oldpw");
      let source: Awaited<ReturnType<typeof accountState>>;
      try {
        for (const f of ["Sent Items", "Deleted Items"]) await d.mailboxCreate(f);
        // Dovecot's Maildir uses "." as its hierarchy delimiter: imported as Clients/ACME
        await d.mailboxCreate("Clients.ACME");
        await d.append("INBOX", message("dv inbox"), ["\\Seen", "$Label1"], new Date("2020-01-01T10:00:00Z"));
        await d.append("INBOX", message("dv unread"), [], new Date("2020-01-02T10:00:00Z"));
        await d.append("Sent Items", message("dv sent"), ["\\Seen"], new Date("2020-02-01T10:00:00Z"));
        await d.append(
          "Deleted Items",
          message("dv trash"),
          ["\\Seen", "\\Deleted"],
          new Date("2020-03-01T10:00:00Z"),
        );
        await d.append(
          "Clients.ACME",
          message("dv acme"),
          ["\\Flagged", "acme"],
          new Date("2020-04-01T10:00:00Z"),
        );
        source = await accountState(d);
      } finally {
        await d.logout();
      }
      const im = await e.cli(
        [
          "import",
          USER_C,
          "--imap-host",
          "127.0.0.1",
          "--imap-port",
          String(dv.imapPort),
          "--imap-user",
          "old@legacy.test",
        ],
        "oldpw\n",
      );
      assert.equal(im.code, 0, `${im.stdout}${im.stderr}`);
      assert.match(im.stdout.toString(), /imported: 5\n/);
      const c = await connect("127.0.0.1", e.server.imapPort, USER_C, PASS_C);
      try {
        const got = summary(await accountState(c));
        const want = summary(source);
        assert.deepEqual(got.INBOX, want.INBOX);
        assert.deepEqual(got.Sent, want["Sent Items"]);
        assert.deepEqual(got.Trash, want["Deleted Items"]);
        assert.deepEqual(got["Clients/ACME"], want["Clients.ACME"]);
        assert.equal(got["Sent Items"], undefined, "no second Sent folder");
      } finally {
        await c.logout();
      }
    } finally {
      await dv.stop();
    }
  });
});
