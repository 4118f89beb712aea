/**
 * Import of mail written by real producers, while `serve` runs: a Maildir++ tree written by
 * Debian's isync (`mbsync`, syncing account a@ of our own server) and an mbox written by Python's
 * `mailbox` module (mboxo quoting, Status/X-Status flags, From_ line dates). Each skips with a
 * clear message when its tool is not installed.
 *
 * mbsync stores Maildir copies with LF line ends and adds an `X-TUID:` header (see
 * test/e2e/mbsync.test.ts); the import turns LF into CRLF, so comparisons drop only X-TUID.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  cleanEnv,
  deliver,
  type E2E,
  message,
  PASS_A,
  PASS_B,
  run,
  startE2E,
  USER_A,
  USER_B,
} from "../e2e/helpers.ts";
import { accountState, connect, summary } from "./import-helpers.ts";

const MBSYNC = "/usr/bin/mbsync";
const hasPython = spawnSync("python3", ["-c", "import mailbox"]).status === 0;

const withoutTuid = (b: Buffer) =>
  Buffer.from(b.toString("latin1").replace(/^X-TUID: [^\r\n]*\r\n/m, ""), "latin1");

describe("import from real producers", () => {
  let e: E2E;

  before(async () => {
    e = await startE2E({ workers: 1 });
  });
  after(async () => {
    await e?.close();
  });

  it("a Maildir++ tree written by mbsync: folders, octets and flags as on the source account", {
    skip: !fs.existsSync(MBSYNC) && "mbsync (Debian isync) is not installed",
  }, async () => {
    for (const s of ["one", "two", "three"])
      await deliver(e, USER_A, message(s, `${s}\r\nFrom the middle\r\n`));
    const c = await connect("127.0.0.1", e.server.imapPort, USER_A, PASS_A);
    let source: Awaited<ReturnType<typeof accountState>>;
    try {
      await c.mailboxOpen("INBOX");
      await c.messageFlagsAdd("1", ["\\Seen", "\\Flagged"]);
      await c.messageFlagsAdd("2", ["\\Answered", "\\Seen"]);
      await c.mailboxCreate(["Work", "2025"]);
      await c.append("Work/2025", message("nested"), ["\\Seen"]);
      await c.append("Sent", message("sent"), ["\\Seen"]);
      source = await accountState(c);
    } finally {
      await c.logout();
    }
    const home = path.join(e.server.dir, "home");
    const maildir = path.join(home, "Mail");
    fs.mkdirSync(maildir, { recursive: true });
    const rc = path.join(home, "mbsyncrc");
    fs.writeFileSync(
      rc,
      `IMAPAccount pk\nHost 127.0.0.1\nPort ${e.server.imapPort}\nUser ${USER_A}\nPass "${PASS_A}"\n` +
        `SSLType STARTTLS\nCertificateFile ${e.certPath}\n\nIMAPStore remote\nAccount pk\n\n` +
        `MaildirStore local\nInbox ${maildir}\nSubFolders Maildir++\n\n` +
        "Channel mail\nFar :remote:\nNear :local:\nPatterns *\nCreate Near\nSyncState *\nSync Pull\n",
    );
    const r = await run(MBSYNC, ["-c", rc, "-a"], { env: { ...cleanEnv(), HOME: home }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `mbsync: ${r.stdout}${r.stderr}`);
    assert.ok(fs.existsSync(path.join(maildir, ".Work.2025", "cur")), "mbsync wrote Maildir++ folders");

    const im = await e.cli(["import", USER_B, maildir]);
    assert.equal(im.code, 0, `${im.stdout}${im.stderr}`);
    assert.match(im.stdout.toString(), /imported: 5\nskipped as duplicate: 0\nfailed: 0/);
    const b = await connect("127.0.0.1", e.server.imapPort, USER_B, PASS_B);
    try {
      const got = await accountState(b, { body: withoutTuid });
      // dates: mbsync does not keep INTERNALDATE as the file's mtime; octets, flags and folders must match
      const strip = (s: typeof got) =>
        Object.fromEntries(Object.entries(summary(s)).map(([k, v]) => [k, v.map(({ date: _d, ...x }) => x)]));
      assert.deepEqual(strip(got), strip(source));
    } finally {
      await b.logout();
    }
  });

  it("an mbox written by Python's mailbox module: messages, flags, From_ dates, quoted From lines", {
    skip: !hasPython && "python3 (mailbox module) is not installed",
  }, async () => {
    const file = path.join(e.server.dir, "py.mbox");
    const py = `
import mailbox, email.message, time, sys
box = mailbox.mbox(sys.argv[1], create=True)
def add(subject, body, flags, when):
    m = mailbox.mboxMessage()
    m['From'] = 'Py <py@remote.test>'
    m['Subject'] = subject
    m['Message-ID'] = '<%s@py.test>' % subject
    m.set_payload(body)
    m.set_from('py@remote.test', time.gmtime(when))
    m.set_flags(flags)
    box.add(m)
add('read-flagged', 'hello\\n', 'ROF', 1500000000)
add('answered', 'From the middle of a line start\\nend\\n', 'RA', 1500000100)
add('new', 'nothing\\n', '', 1500000200)
box.flush(); box.close()
`;
    const p = spawnSync("python3", ["-c", py, file]);
    assert.equal(p.status, 0, p.stderr.toString());
    const im = await e.cli(["import", "--mbox-variant", "mboxo", USER_B, file]);
    assert.equal(im.code, 0, `${im.stdout}${im.stderr}`);
    assert.match(im.stdout.toString(), /imported: 3\n/);
    const b = await connect("127.0.0.1", e.server.imapPort, USER_B, PASS_B);
    try {
      // a single file named py.mbox is the folder "py"
      const lock = await b.getMailboxLock("py", { readOnly: true });
      try {
        const got = new Map<string, { flags: string[]; date: number; source: string }>();
        for await (const m of b.fetch("1:*", {
          flags: true,
          internalDate: true,
          source: true,
          envelope: true,
        })) {
          got.set(m.envelope!.subject!, {
            flags: [...(m.flags ?? [])].sort(),
            date: new Date(m.internalDate as Date).getTime() / 1000,
            source: m.source!.toString("latin1"),
          });
        }
        assert.deepEqual(got.get("read-flagged")?.flags, ["\\Flagged", "\\Seen"]);
        assert.deepEqual(got.get("answered")?.flags, ["\\Answered", "\\Seen"]);
        assert.deepEqual(got.get("new")?.flags, []);
        assert.equal(got.get("read-flagged")?.date, 1500000000);
        assert.equal(got.get("new")?.date, 1500000200);
        const ans = got.get("answered")!.source;
        assert.match(ans, /\r\n\r\nFrom the middle of a line start\r\nend\r\n$/);
        assert.doesNotMatch(ans, /^(Status|X-Status):/m, "mbox bookkeeping fields are not stored");
      } finally {
        lock.release();
      }
    } finally {
      await b.logout();
    }
  });
});
