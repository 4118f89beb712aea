/**
 * `postkontor export` then `postkontor import` into another account, while `serve` runs: the same
 * folders, octets, flags, keywords and internal dates over IMAP, for mbox and for Maildir; a second
 * import stores nothing (the ledger), and an IMAP session in IDLE hears of the imported mail.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { deliver, type E2E, message, PASS_A, PASS_B, startE2E, USER_A, USER_B } from "../e2e/helpers.ts";
import { accountState, connect, summary } from "./import-helpers.ts";

const USER_C = "c@example.test";
const PASS_C = "pw-c Secret";

describe("import/export round trip", () => {
  let e: E2E;
  let source: Awaited<ReturnType<typeof accountState>>;

  before(async () => {
    e = await startE2E({ workers: 1 });
    const r = await e.cli(["user", "add", USER_C], `${PASS_C}\n${PASS_C}\n`);
    assert.equal(r.code, 0, r.stderr);
    await deliver(e, USER_A, message("plain"));
    // body lines an mbox must quote: "From " and ">From " (mboxrd keeps both apart)
    await deliver(e, USER_A, message("quoted", "From the start\r\n>From quoted\r\n>>From twice\r\nend\r\n"));
    await deliver(e, USER_A, message("last one", "no final newline"));
    const c = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    try {
      await c.mailboxOpen("INBOX");
      await c.messageFlagsAdd("1", ["\\Seen", "\\Flagged", "$Label1"]);
      await c.messageFlagsAdd("2", ["\\Answered", "\\Seen", "Custom"]);
      await c.mailboxCreate(["Projects", "2025"]);
      await c.append("Projects/2025", message("nested"), ["\\Seen"], new Date("2024-02-03T04:05:06Z"));
      await c.append("Sent", message("sent one"), ["\\Seen", "$Forwarded"], new Date("2023-01-01T00:00:00Z"));
      await c.append("Drafts", message("draft"), ["\\Draft"], new Date("2022-06-07T08:09:10Z"));
      source = await accountState(c);
    } finally {
      await c.logout();
    }
  });

  after(async () => {
    await e?.close();
  });

  for (const [format, user, pass] of [
    ["mbox", USER_B, PASS_B],
    ["maildir", USER_C, PASS_C],
  ] as const) {
    it(`${format}: export, import into another account: same folders, octets, flags, dates; twice = once`, async () => {
      const dir = path.join(e.server.dir, `export-${format}`);
      const ex = await e.cli(["export", USER_A, "--format", format, dir]);
      assert.equal(ex.code, 0, ex.stderr);
      assert.match(ex.stdout.toString(), /exported: 6 messages/);
      if (format === "maildir") {
        assert.ok(fs.existsSync(path.join(dir, ".Projects.2025", "cur")), "Maildir++ folder");
        assert.match(fs.readFileSync(path.join(dir, "dovecot-keywords"), "utf8"), /^0 \$Label1\n1 Custom\n$/);
      } else {
        assert.ok(fs.existsSync(path.join(dir, "Projects", "2025.mbox")));
        const inbox = fs.readFileSync(path.join(dir, "INBOX.mbox"), "latin1");
        assert.match(inbox, /^>From the start\r$/m);
        assert.match(inbox, /^>>From quoted\r$/m);
        assert.match(inbox, /^>>>From twice\r$/m);
      }
      const im = await e.cli(["import", user, dir]);
      assert.equal(im.code, 0, `${im.stdout}${im.stderr}`);
      assert.match(im.stdout.toString(), /imported: 6\nskipped as duplicate: 0\nfailed: 0/);
      const c = await connect("127.0.0.1", e.server.imapPort, user, pass);
      try {
        const got = await accountState(c);
        assert.deepEqual(summary(got), summary(source));
      } finally {
        await c.logout();
      }
      const again = await e.cli(["import", user, dir]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout.toString(), /imported: 0\nskipped as duplicate: 6\nfailed: 0/);
    });
  }
});
