/**
 * End to end: Debian's isync (`mbsync`, 1.4) syncing a Maildir with the real server process over
 * STARTTLS, both ways, and a second run that changes nothing.
 *
 * isync 1.4 only accepts a trusted certificate: the server's generated self-signed certificate
 * (<data_dir>/tls/cert.pem) is named as CertificateFile.
 *
 * mbsync itself transforms messages on the way (documented isync behaviour, not the server's):
 * the Maildir side stores LF line ends (IMAP is CRLF) and every propagated copy gets an
 * `X-TUID:` header that mbsync uses to find the copy's UID. Comparisons undo exactly those two
 * transformations and then require byte equality.
 *
 * "Changes nothing" is checked three ways: mbsync's driver trace (`-Dd`) shows no store/fetch/flag/
 * trash/create calls, the server's HIGHESTMODSEQ, UIDNEXT and (uid, flags) list of every mailbox
 * are unchanged, and the Maildir's message files (names and bytes) are unchanged.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ImapFlow } from "imapflow";
import { cleanEnv, deliver, type E2E, message, PASS_A, run, startE2E, USER_A } from "./helpers.ts";

const MBSYNC = "/usr/bin/mbsync";

/** Maildir copy → the bytes mbsync got from IMAP: drop its X-TUID header line, LF → CRLF */
function fromMaildir(b: Buffer): Buffer {
  const s = b.toString("latin1"); // byte-preserving
  const headerEnd = s.indexOf("\n\n");
  const head = headerEnd < 0 ? s : s.slice(0, headerEnd + 1);
  const rest = headerEnd < 0 ? "" : s.slice(headerEnd + 1);
  const stripped = head.replace(/^X-TUID: [^\n]*\n/m, "") + rest;
  return Buffer.from(stripped.replace(/\r?\n/g, "\r\n"), "latin1");
}

/** IMAP copy → without mbsync's X-TUID header (present on messages mbsync uploaded) */
function withoutTuid(b: Buffer): Buffer {
  const s = b.toString("latin1");
  return Buffer.from(s.replace(/^X-TUID: [^\r\n]*\r\n/m, ""), "latin1");
}

interface MaildirMsg {
  file: string; // path relative to the Maildir folder (new/… or cur/…)
  flags: string; // the ":2," info part
  content: Buffer;
}

function readMaildir(dir: string): MaildirMsg[] {
  const out: MaildirMsg[] = [];
  for (const sub of ["new", "cur"]) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d).sort()) {
      const i = f.indexOf(":2,");
      out.push({
        file: `${sub}/${f}`,
        flags: i < 0 ? "" : f.slice(i + 3),
        content: fs.readFileSync(path.join(d, f)),
      });
    }
  }
  return out;
}

const messageId = (b: Buffer) => /^Message-ID: *(<[^>\r\n]*>)/im.exec(b.toString("latin1"))?.[1];

describe("e2e: mbsync (isync)", { skip: !fs.existsSync(MBSYNC) && "mbsync is not installed" }, () => {
  let e: E2E;
  let home: string;
  let maildir: string;
  let rc: string;
  const inbox = [message("first", "one\r\n"), message("second", "two\r\n"), message("third", "three\r\n")];
  const archived = message("archived one", "kept in Archive\r\n");
  const nested = message("nested folder", "in Projects/2025\r\n");

  const imap = async () => {
    const c = new ImapFlow({
      host: "127.0.0.1",
      port: e.server.imapPort,
      secure: false,
      doSTARTTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: USER_A, pass: PASS_A },
      logger: false,
      disableAutoIdle: true,
    });
    c.on("error", () => {});
    await c.connect();
    return c;
  };

  /** every message of a mailbox, read-only (EXAMINE: no implicit \Seen) */
  const serverMessages = async (c: ImapFlow, box: string) => {
    const lock = await c.getMailboxLock(box, { readOnly: true });
    try {
      const out: Array<{ uid: number; flags: string[]; source: Buffer }> = [];
      const mb = c.mailbox as { exists: number };
      if (mb.exists === 0) return out;
      for await (const m of c.fetch("1:*", { uid: true, flags: true, source: true })) {
        out.push({ uid: m.uid, flags: [...(m.flags ?? [])].sort(), source: m.source! });
      }
      return out.sort((x, y) => x.uid - y.uid);
    } finally {
      lock.release();
    }
  };

  const mbsync = async (extra: string[] = []) => {
    const r = await run(MBSYNC, [...extra, "-c", rc, "-a"], {
      env: { ...cleanEnv(), HOME: home },
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, `mbsync exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return `${r.stdout.toString()}\n${r.stderr}`;
  };

  before(async () => {
    e = await startE2E({ workers: 1 });
    home = path.join(e.server.dir, "home");
    maildir = path.join(home, "Mail");
    fs.mkdirSync(maildir, { recursive: true });
    rc = path.join(home, "mbsyncrc");
    fs.writeFileSync(
      rc,
      `IMAPAccount postkontor
Host 127.0.0.1
Port ${e.server.imapPort}
User ${USER_A}
Pass "${PASS_A}"
SSLType STARTTLS
CertificateFile ${e.certPath}

IMAPStore remote
Account postkontor

MaildirStore local
Path ${maildir}/
Inbox ${maildir}/INBOX
SubFolders Verbatim

Channel mail
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`,
    );
    for (const m of inbox) await deliver(e, USER_A, m);
    const c = await imap();
    try {
      await c.mailboxCreate(["Projects", "2025"]);
      await c.append("Projects/2025", nested);
      await c.append("Archive", archived, ["\\Flagged", "\\Seen"]);
    } finally {
      await c.logout();
    }
  });

  after(async () => {
    await e?.close();
  });

  it("server → Maildir: every folder and message arrives, content identical, flags mapped", async () => {
    await mbsync();
    for (const box of ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive", "Projects/2025"]) {
      assert.ok(fs.existsSync(path.join(maildir, box, "cur")), `Maildir folder ${box} created`);
    }
    const local = readMaildir(path.join(maildir, "INBOX"));
    assert.equal(local.length, 3);
    const got = local.map((m) => fromMaildir(m.content)).sort(Buffer.compare);
    assert.deepEqual(got, [...inbox].sort(Buffer.compare));
    for (const m of local) assert.equal(m.flags, "", "no flags on new mail");

    const arch = readMaildir(path.join(maildir, "Archive"));
    assert.equal(arch.length, 1);
    assert.deepEqual(fromMaildir(arch[0]!.content), archived);
    assert.equal(arch[0]!.flags, "FS", "\\Flagged \\Seen → F S");

    const proj = readMaildir(path.join(maildir, "Projects/2025"));
    assert.equal(proj.length, 1);
    assert.deepEqual(fromMaildir(proj[0]!.content), nested);
  });

  it("Maildir → server: new local messages (also in a nested folder) are uploaded", async () => {
    const fresh = message("written locally", "created in the Maildir\r\n");
    const lf = Buffer.from(fresh.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
    fs.writeFileSync(path.join(maildir, "INBOX", "new", `1700000000.e2e${process.pid}_1.localhost`), lf);
    const fresh2 = message("local seen", "also local, already read\r\n");
    fs.writeFileSync(
      path.join(maildir, "Projects/2025", "cur", `1700000001.e2e${process.pid}_2.localhost:2,S`),
      Buffer.from(fresh2.toString("latin1").replace(/\r\n/g, "\n"), "latin1"),
    );
    // a folder made locally is created on the server (Create Both)
    const newBox = path.join(maildir, "Local Only");
    for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(newBox, sub), { recursive: true });
    const fresh3 = message("in a local folder", "x\r\n");
    fs.writeFileSync(
      path.join(newBox, "new", `1700000002.e2e${process.pid}_3.localhost`),
      Buffer.from(fresh3.toString("latin1").replace(/\r\n/g, "\n"), "latin1"),
    );

    await mbsync();
    const c = await imap();
    try {
      const inboxMsgs = await serverMessages(c, "INBOX");
      assert.equal(inboxMsgs.length, 4);
      const up = inboxMsgs.find((m) => messageId(m.source) === messageId(fresh));
      assert.ok(up, "uploaded message is on the server");
      assert.deepEqual(withoutTuid(up.source), fresh);

      const proj = await serverMessages(c, "Projects/2025");
      const up2 = proj.find((m) => messageId(m.source) === messageId(fresh2));
      assert.ok(up2);
      assert.deepEqual(withoutTuid(up2.source), fresh2);
      assert.deepEqual(up2.flags, ["\\Seen"]);

      const list = (await c.list()).map((m) => m.path);
      assert.ok(list.includes("Local Only"), `server LIST: ${list.join(", ")}`);
      const lo = await serverMessages(c, "Local Only");
      assert.equal(lo.length, 1);
      assert.deepEqual(withoutTuid(lo[0]!.source), fresh3);
    } finally {
      await c.logout();
    }
  });

  it("flag changes travel both ways", async () => {
    // locally: first → seen (new/ → cur/ with :2,S), second → flagged
    const dir = path.join(maildir, "INBOX");
    const local = readMaildir(dir);
    const byId = (b: Buffer) => local.find((m) => messageId(fromMaildir(m.content)) === messageId(b))!;
    const first = byId(inbox[0]!);
    const second = byId(inbox[1]!);
    const base = (f: string) => path.basename(f).replace(/:2,.*$/, "");
    fs.renameSync(path.join(dir, first.file), path.join(dir, "cur", `${base(first.file)}:2,S`));
    fs.renameSync(path.join(dir, second.file), path.join(dir, "cur", `${base(second.file)}:2,F`));
    // on the server: third → answered
    const c = await imap();
    try {
      const lock = await c.getMailboxLock("INBOX");
      try {
        const uids = await c.search({ header: { "message-id": messageId(inbox[2]!)! } }, { uid: true });
        assert.ok(Array.isArray(uids) && uids.length === 1);
        await c.messageFlagsAdd(uids, ["\\Answered"], { uid: true });
      } finally {
        lock.release();
      }

      await mbsync();

      const srv = await serverMessages(c, "INBOX");
      const flagsOf = (b: Buffer) => srv.find((m) => messageId(m.source) === messageId(b))?.flags;
      assert.deepEqual(flagsOf(inbox[0]!), ["\\Seen"]);
      assert.deepEqual(flagsOf(inbox[1]!), ["\\Flagged"]);
      assert.deepEqual(flagsOf(inbox[2]!), ["\\Answered"]);
      const after1 = readMaildir(dir);
      const third = after1.find((m) => messageId(fromMaildir(m.content)) === messageId(inbox[2]!));
      assert.equal(third?.flags, "R", "\\Answered → R in the Maildir file name");
    } finally {
      await c.logout();
    }
  });

  it("deletions travel both ways (local delete → server expunge, server expunge → file removed)", async () => {
    const dir = path.join(maildir, "INBOX");
    const second = readMaildir(dir).find((m) => messageId(fromMaildir(m.content)) === messageId(inbox[1]!));
    assert.ok(second);
    fs.unlinkSync(path.join(dir, second.file));
    const c = await imap();
    try {
      const lock = await c.getMailboxLock("Archive");
      try {
        assert.equal(await c.messageDelete("1:*"), true);
      } finally {
        lock.release();
      }

      await mbsync();

      const srv = await serverMessages(c, "INBOX");
      assert.equal(srv.length, 3);
      assert.equal(
        srv.find((m) => messageId(m.source) === messageId(inbox[1]!)),
        undefined,
        "deleted locally → expunged on the server",
      );
      assert.equal(
        readMaildir(path.join(maildir, "Archive")).length,
        0,
        "expunged on the server → removed locally",
      );
    } finally {
      await c.logout();
    }
  });

  it("a second run changes nothing", async () => {
    const snapshot = async () => {
      const c = await imap();
      try {
        const boxes = (await c.list()).map((m) => m.path).sort();
        const server: Record<string, unknown> = {};
        for (const b of boxes) {
          const st = await c.status(b, {
            messages: true,
            uidNext: true,
            uidValidity: true,
            highestModseq: true,
          });
          const msgs = (await serverMessages(c, b)).map((m) => ({
            uid: m.uid,
            flags: m.flags,
            size: m.source.length,
          }));
          server[b] = { ...st, path: b, msgs };
        }
        const local: Record<string, unknown> = {};
        for (const b of boxes) {
          local[b] = readMaildir(path.join(maildir, b)).map((m) => ({
            file: m.file,
            content: m.content.toString("base64"),
          }));
        }
        return { server, local };
      } finally {
        await c.logout();
      }
    };
    const before1 = await snapshot();
    // the snapshot is meaningful: INBOX with its 3 messages and a modseq (CONDSTORE STATUS)
    const inboxSnap = before1.server.INBOX as { highestModseq?: bigint; msgs: unknown[] };
    assert.equal(inboxSnap.msgs.length, 3);
    assert.ok(
      typeof inboxSnap.highestModseq === "bigint" && inboxSnap.highestModseq > 0n,
      "HIGHESTMODSEQ known",
    );
    assert.equal((before1.local.INBOX as unknown[]).length, 3);
    const trace = await mbsync(["-Dd"]);
    const changes = trace
      .split("\n")
      .filter((l) => /\bEnter (store_msg|set_msg_flags|trash_msg|create_box|delete_box|fetch_msg)\b/.test(l));
    assert.deepEqual(changes, [], "mbsync made no store/flag/trash/create/fetch calls");
    const after1 = await snapshot();
    assert.deepEqual(after1, before1);
  });

  it("over implicit TLS (SSLType IMAPS) a fresh Maildir gets the same messages", async () => {
    const dir2 = path.join(home, "Mail2");
    fs.mkdirSync(dir2);
    const rc2 = path.join(home, "mbsyncrc-imaps");
    fs.writeFileSync(
      rc2,
      fs
        .readFileSync(rc, "utf8")
        .replace(`Port ${e.server.imapPort}`, `Port ${e.server.imapsPort}`)
        .replace("SSLType STARTTLS", "SSLType IMAPS")
        .replaceAll(`${maildir}/`, `${dir2}/`),
    );
    const r = await run(MBSYNC, ["-c", rc2, "-a"], {
      env: { ...cleanEnv(), HOME: home },
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, `mbsync exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    for (const box of ["INBOX", "Projects/2025", "Local Only"]) {
      const a = readMaildir(path.join(maildir, box)).map((m) => fromMaildir(m.content).toString("base64"));
      const b = readMaildir(path.join(dir2, box)).map((m) => fromMaildir(m.content).toString("base64"));
      assert.ok(a.length > 0);
      assert.deepEqual(b.sort(), a.sort(), `same messages in ${box}`);
    }
  });
});
