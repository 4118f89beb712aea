/**
 * IMAP compliance transcripts: the behaviours compliance suites (Dovecot's imaptest scripted
 * tests) and real clients check, each against the RFC section that requires it. Tests for bugs
 * found in review name the fix; the rest pin down behaviour verified correct.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, seed, startServer, type TestServer } from "./helpers.ts";

let box = 0;
/** a fresh mailbox with n messages; returns its name */
async function freshBox(t: TestServer, n: number, flags: string[] = []): Promise<string> {
  const name = `C${++box}`;
  await t.store.createMailbox(t.accountId, name);
  await seed(t, name, n, flags);
  return name;
}

function indexOfLine(lines: string[], re: RegExp): number {
  return lines.findIndex((l) => re.test(l));
}

describe("IMAP compliance", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ limits: { maxConnectionsPerIp: 1000, maxConnectionsPerUser: 1000 } });
  });
  after(async () => {
    await t.close();
  });

  describe("keywords and FLAGS (RFC 9051 §7.3.5, RFC 3501 §7.2.6)", () => {
    it("a new keyword is announced by FLAGS before the FETCH that shows it", async () => {
      const name = await freshBox(t, 2);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      const r = await a.cmd("STORE 1 +FLAGS ($Forwarded)");
      assert.ok(r.ok, r.tagged);
      const fl = indexOfLine(r.lines, /^\* FLAGS \(.*\$Forwarded.*\)$/);
      const perm = indexOfLine(r.lines, /^\* OK \[PERMANENTFLAGS \(.*\$Forwarded.*\\\*\)\]/);
      // the first read-write session sees the new messages as \Recent (RFC 3501 §2.3.2)
      const fetch = indexOfLine(r.lines, /^\* 1 FETCH \(FLAGS \(\$Forwarded \\Recent\)\)$/);
      assert.ok(fl >= 0 && perm > fl && fetch > perm, r.text);
      // known keywords (any case) are not announced again
      const again = await a.cmd("STORE 2 +FLAGS ($forwarded)");
      assert.equal(indexOfLine(again.lines, /^\* FLAGS/), -1, again.text);
    });

    it("another session gets FLAGS before the unsolicited FETCH with a new keyword", async () => {
      const name = await freshBox(t, 1);
      const a = await t.login();
      const b = await t.login();
      await a.cmd(`SELECT ${name}`);
      await b.cmd(`SELECT ${name}`);
      assert.ok((await b.cmd("STORE 1 +FLAGS (NewKw)")).ok);
      const r = await a.cmd("NOOP");
      const fl = indexOfLine(r.lines, /^\* FLAGS \(.*NewKw.*\)$/);
      const fetch = indexOfLine(r.lines, /^\* 1 FETCH \(FLAGS \(NewKw \\Recent\)\)$/);
      assert.ok(fl >= 0 && fetch > fl, r.text);
    });

    it("FETCH FLAGS of a new message with an unannounced keyword is preceded by FLAGS", async () => {
      const name = await freshBox(t, 1);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      const b = await t.login();
      assert.ok((await b.append(name, message("kw"), "Appended")).ok);
      const n = await a.cmd("NOOP");
      assert.match(n.text, /\* 2 EXISTS/);
      const r = await a.cmd("FETCH 2 (FLAGS)");
      const fl = indexOfLine(r.lines, /^\* FLAGS \(.*Appended.*\)$/);
      const fetch = indexOfLine(r.lines, /^\* 2 FETCH \(FLAGS \(Appended \\Recent\)\)$/);
      assert.ok(fl >= 0 && fetch > fl, r.text);
    });

    it("SELECT lists every keyword in use in FLAGS and PERMANENTFLAGS with \\*", async () => {
      const name = await freshBox(t, 1, ["$Junk", "\\Seen"]);
      const a = await t.login();
      const r = await a.cmd(`SELECT ${name}`);
      assert.match(r.text, /^\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft \$Junk\)$/m);
      assert.match(
        r.text,
        /^\* OK \[PERMANENTFLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft \$Junk \\\*\)\]/m,
      );
      assert.match(r.tagged, /OK \[READ-WRITE\]/);
      const e = await a.cmd(`EXAMINE ${name}`);
      assert.match(e.text, /^\* OK \[PERMANENTFLAGS \(\)\]/m);
      assert.match(e.tagged, /OK \[READ-ONLY\]/);
    });

    it("system flags are case-insensitive; unknown system flags are refused; \\Recent is ignored", async () => {
      const name = await freshBox(t, 1);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      const r = await a.cmd("STORE 1 +FLAGS (\\SEEN \\flagged \\Recent)");
      // \Recent is not stored, but the message is recent in this (first) session
      assert.match(r.text, /^\* 1 FETCH \(FLAGS \(\\Seen \\Flagged \\Recent\)\)$/m);
      // RFC 9051 §9 flag-extension: reserved; a server must not generate (so not store) one
      const bogus = await a.cmd("STORE 1 +FLAGS (\\Bogus)");
      assert.match(bogus.tagged, /BAD/);
      const ap = await a.append(name, message("bogus"), "\\Bogus");
      assert.match(ap.tagged, /BAD/);
      const f = await a.cmd("FETCH 1:* (FLAGS)");
      assert.doesNotMatch(f.text, /Bogus/);
      const kw = await a.cmd("SEARCH KEYWORD $NOTSET");
      assert.match(kw.text, /^\* SEARCH$/m);
    });
  });

  describe("SELECT responses", () => {
    it("IMAP4rev1: EXISTS, RECENT, FLAGS, UNSEEN, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ", async () => {
      const name = await freshBox(t, 3);
      const a = await t.login();
      assert.ok((await a.cmd(`STORE 1 +FLAGS (\\Seen)`)).tagged.includes("BAD")); // not selected
      const r = await a.cmd(`SELECT ${name}`);
      assert.match(r.text, /^\* 3 EXISTS$/m);
      assert.match(r.text, /^\* \d+ RECENT$/m);
      assert.match(r.text, /^\* OK \[UNSEEN 1\]/m); // RFC 3501 §6.3.1: first unseen seq
      assert.match(r.text, /^\* OK \[UIDVALIDITY \d+\]/m);
      assert.match(r.text, /^\* OK \[UIDNEXT 4\]/m);
      assert.match(r.text, /^\* OK \[HIGHESTMODSEQ \d+\]/m); // RFC 7162 §3.1.2.1
    });

    it("IMAP4rev2: no RECENT and no UNSEEN; a LIST response for the mailbox", async () => {
      const name = await freshBox(t, 2);
      const a = await t.login();
      await a.cmd("ENABLE IMAP4rev2");
      const r = await a.cmd(`SELECT ${name}`);
      assert.doesNotMatch(r.text, /RECENT|UNSEEN/);
      assert.match(r.text, new RegExp(`^\\* LIST \\([^)]*\\) "/" "${name}"$`, "m"));
    });

    it("SELECT of another mailbox sends [CLOSED]; a failed SELECT leaves selected state", async () => {
      const name = await freshBox(t, 1);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      const r = await a.cmd("SELECT INBOX");
      assert.match(r.lines[0]!, /^\* OK \[CLOSED\]/);
      const bad = await a.cmd("SELECT nonexistent-box");
      assert.match(bad.tagged, /NO \[NONEXISTENT\]/);
      // RFC 9051 §6.3.2: failed SELECT → authenticated state
      assert.match((await a.cmd("FETCH 1 FLAGS")).tagged, /BAD/);
    });

    it("empty mailbox: '*' ranges resolve to nothing", async () => {
      const name = await freshBox(t, 0);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      for (const c of [
        "FETCH 1:* FLAGS",
        "UID FETCH 1:* FLAGS",
        "SEARCH 1:*",
        "UID SEARCH UID *",
        "UID STORE 1:* +FLAGS (x)",
        "UID EXPUNGE 1:*",
      ]) {
        const r = await a.cmd(c);
        assert.ok(r.ok, `${c}: ${r.tagged}`);
        assert.doesNotMatch(r.text, /FETCH \(/);
      }
    });
  });

  describe("untagged EXPUNGE/EXISTS rules (RFC 9051 §7.5.1, §7.4.1)", () => {
    it("no EXPUNGE during FETCH/STORE/SEARCH; sent at NOOP; UID FETCH may send it", async () => {
      const name = await freshBox(t, 4);
      const a = await t.login();
      const b = await t.login();
      await a.cmd(`SELECT ${name}`);
      await b.cmd(`SELECT ${name}`);
      await b.cmd("STORE 2 +FLAGS (\\Deleted)");
      await b.cmd("EXPUNGE");
      for (const c of ["FETCH 1:4 (FLAGS)", "STORE 4 +FLAGS (\\Seen)", "SEARCH ALL"]) {
        const r = await a.cmd(c);
        assert.ok(r.ok, r.tagged);
        assert.doesNotMatch(r.text, /^\* \d+ EXPUNGE$/m, c);
      }
      // the expunged message keeps its sequence number until announced: seq 4 is still valid
      const s = await a.cmd("SEARCH ALL");
      assert.match(s.text, /^\* SEARCH 1 3 4$/m);
      const u = await a.cmd("UID FETCH 1:* (FLAGS)");
      assert.match(u.text, /^\* 2 EXPUNGE$/m);
      // from then on the numbering is the new one
      assert.match((await a.cmd("FETCH 3 (UID)")).text, /^\* 3 FETCH \(UID 4\)$/m);
    });

    it("EXISTS after APPEND to the selected mailbox, before the tagged OK", async () => {
      const name = await freshBox(t, 1);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      const r = await a.append(name, message("appended"));
      assert.ok(r.ok, r.tagged);
      assert.match(r.text, /^\* 2 EXISTS$/m);
      assert.match(r.tagged, /\[APPENDUID \d+ 2\]/);
    });

    it("QRESYNC: VANISHED instead of EXPUNGE for EXPUNGE, UID EXPUNGE and MOVE", async () => {
      const name = await freshBox(t, 5, ["\\Deleted"]);
      const a = await t.login();
      await a.cmd("ENABLE QRESYNC");
      await a.cmd(`SELECT ${name}`);
      const u = await a.cmd("UID EXPUNGE 1:2");
      assert.match(u.text, /^\* VANISHED 1:2$/m);
      assert.doesNotMatch(u.text, /EXPUNGE\r?$/m);
      assert.match(u.tagged, /OK \[HIGHESTMODSEQ \d+\]/);
      const m = await a.cmd("UID MOVE 3 Archive");
      assert.match(m.text, /^\* OK \[COPYUID \d+ 3 \d+\]/m);
      assert.match(m.text, /^\* VANISHED 3$/m);
      const e = await a.cmd("EXPUNGE");
      assert.match(e.text, /^\* VANISHED 4:5$/m);
      assert.doesNotMatch(e.text, /\* \d+ EXPUNGE/);
    });

    it("MOVE without QRESYNC: COPYUID in an untagged OK, then EXPUNGE highest first", async () => {
      const name = await freshBox(t, 3);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      const r = await a.cmd("MOVE 1:2 Archive");
      assert.ok(r.ok, r.tagged);
      assert.match(r.lines[0]!, /^\* OK \[COPYUID \d+ 1:2 \d+(:\d+)?\]/);
      assert.deepEqual(r.lines.slice(1), ["* 2 EXPUNGE", "* 1 EXPUNGE"]);
    });
  });

  describe("TRYCREATE and mailbox management (RFC 9051 §6.3)", () => {
    it("COPY/MOVE/APPEND to a nonexistent mailbox: NO [TRYCREATE]", async () => {
      const name = await freshBox(t, 1);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      assert.match((await a.cmd("COPY 1 NoSuchBox")).tagged, /NO \[TRYCREATE\]/);
      assert.match((await a.cmd("MOVE 1 NoSuchBox")).tagged, /NO \[TRYCREATE\]/);
      assert.match((await a.cmd("UID COPY 1 NoSuchBox")).tagged, /NO \[TRYCREATE\]/);
      const ap = await a.append("NoSuchBox", message("x"));
      assert.match(ap.tagged, /NO \[TRYCREATE\]/);
    });

    it("CREATE with a trailing delimiter creates the name without it; superiors are listed", async () => {
      const a = await t.login();
      assert.ok((await a.cmd("CREATE trail/")).ok);
      const l = await a.cmd('LIST "" trail*');
      assert.match(l.text, /^\* LIST \([^)]*\) "\/" "trail"$/m);
      assert.ok((await a.cmd("CREATE deep/er/box")).ok);
      const d = await a.cmd('LIST "" deep/%');
      assert.match(d.text, /"deep\/er"$/m);
      assert.match((await a.cmd("CREATE INBOX")).tagged, /NO/);
    });

    it("DELETE of a mailbox with inferiors keeps the name as \\Noselect (RFC 3501 §6.3.4)", async () => {
      const a = await t.login();
      await a.cmd("CREATE par/child");
      assert.ok((await a.cmd("DELETE par")).ok);
      const l = await a.cmd('LIST "" par*');
      assert.match(l.text, /^\* LIST \(\\Noselect \\HasChildren\) "\/" "par"$/m);
      assert.match(l.text, /"par\/child"$/m);
      // the \Noselect name cannot be deleted while it has inferiors
      assert.match((await a.cmd("DELETE par")).tagged, /NO/);
      assert.match((await a.cmd("SELECT par")).tagged, /NO/);
    });

    it("LSUB lists a non-subscribed parent of a matching child as \\Noselect with %", async () => {
      const a = await t.login();
      await a.cmd("CREATE sub1/leaf");
      await a.cmd("SUBSCRIBE sub1/leaf");
      const r = await a.cmd('LSUB "" sub1%');
      assert.match(r.text, /^\* LSUB \(\\Noselect\) "\/" "sub1"$/m);
      const all = await a.cmd('LSUB "" sub1*');
      assert.match(all.text, /^\* LSUB \(\) "\/" "sub1\/leaf"$/m);
    });

    it("RENAME INBOX moves its messages and leaves INBOX empty (RFC 3501 §6.3.5)", async () => {
      const t2 = await startServer();
      try {
        await seed(t2, "INBOX", 2);
        const a = await t2.login();
        assert.ok((await a.cmd("RENAME INBOX OldInbox")).ok);
        const s = await a.cmd("STATUS INBOX (MESSAGES)");
        assert.match(s.text, /\(MESSAGES 0\)/);
        const o = await a.cmd("STATUS OldInbox (MESSAGES)");
        assert.match(o.text, /\(MESSAGES 2\)/);
      } finally {
        await t2.close();
      }
    });

    it("STATUS on the selected mailbox is allowed and current", async () => {
      const name = await freshBox(t, 2);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      const r = await a.cmd(`STATUS ${name} (MESSAGES UIDNEXT UNSEEN)`);
      assert.ok(r.ok);
      assert.match(r.text, new RegExp(`^\\* STATUS "${name}" \\(MESSAGES 2 UIDNEXT 3 UNSEEN 2\\)$`, "m"));
    });

    it('LIST "" "" returns the delimiter; NAMESPACE; modified UTF-7 names in IMAP4rev1', async () => {
      const a = await t.login();
      assert.match((await a.cmd('LIST "" ""')).text, /^\* LIST \(\\Noselect\) "\/" ""$/m);
      assert.match(
        (await a.cmd("NAMESPACE")).text,
        /^\* NAMESPACE \(\("" "\/"\)\) \(\("Shared\/" "\/"\)\) NIL$/m,
      );
      assert.ok((await a.cmd('CREATE "Entw&APw-rfe"')).ok);
      assert.match((await a.cmd('LIST "" "Entw*"')).text, /"Entw&APw-rfe"$/m);
      const u = await t.login();
      await u.cmd("ENABLE UTF8=ACCEPT");
      const l = await u.cmd('LIST "" "Entw*"');
      assert.ok(Buffer.from(l.text, "latin1").toString("utf8").includes('"Entwürfe"'), l.text);
    });
  });

  describe("SEARCH semantics (RFC 9051 §6.4.4)", () => {
    it("SENTON/SENTSINCE/SENTBEFORE use the Date: header's own calendar day", async () => {
      const name = `C${++box}`;
      await t.store.createMailbox(t.accountId, name);
      const mb = (await t.store.getMailbox(t.accountId, name))!;
      // 23:30 at -0500 is 04:30 UTC on 2 Jan: the header's date is still 1 Jan
      const raw = message("tz").replace(/^Date: .*$/m, "Date: Mon, 1 Jan 2024 23:30:00 -0500");
      await t.store.append(t.accountId, mb.id, { raw: Buffer.from(raw) });
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      assert.match((await a.cmd("SEARCH SENTON 1-Jan-2024")).text, /^\* SEARCH 1$/m);
      assert.match((await a.cmd("SEARCH SENTON 2-Jan-2024")).text, /^\* SEARCH$/m);
      assert.match((await a.cmd("SEARCH SENTBEFORE 2-Jan-2024")).text, /^\* SEARCH 1$/m);
      assert.match((await a.cmd("SEARCH SENTSINCE 2-Jan-2024")).text, /^\* SEARCH$/m);
    });

    it("sequence sets, NOT/OR nesting, LARGER/SMALLER, KEYWORD case, NEW/OLD/RECENT", async () => {
      const name = await freshBox(t, 4);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      await a.cmd("STORE 2 +FLAGS ($Work \\Seen)");
      const q = async (c: string) => /^\* SEARCH(.*)$/m.exec((await a.cmd(`SEARCH ${c}`)).text)?.[1]?.trim();
      assert.equal(await q("2:*"), "2 3 4");
      assert.equal(await q("NOT 2:3"), "1 4");
      assert.equal(await q("OR 1 OR 3 4"), "1 3 4");
      assert.equal(await q("NOT (OR 1 2)"), "3 4");
      assert.equal(await q("KEYWORD $work"), "2");
      assert.equal(await q("UNKEYWORD $WORK"), "1 3 4");
      assert.equal(await q("SEEN UNSEEN"), "");
      assert.equal(await q("LARGER 1 SMALLER 100000"), "1 2 3 4");
      assert.equal(await q("LARGER 100000"), "");
      // RFC 3501 §6.4.4: this first read-write session claimed all four as \Recent
      assert.equal(await q("OLD"), "");
      assert.equal(await q("RECENT"), "1 2 3 4");
      assert.equal(await q("NEW"), "1 3 4");
      assert.equal(await q("UID 2,4"), "2 4");
      assert.match((await a.cmd("SEARCH 9")).tagged, /BAD/); // beyond the mailbox
      const uid = await a.cmd("UID SEARCH UID 3:*");
      assert.match(uid.text, /^\* SEARCH 3 4$/m);
    });

    it("UID ranges with * on an empty or larger range include the highest UID (RFC 9051 §6.4.8)", async () => {
      const name = await freshBox(t, 3);
      const a = await t.login();
      await a.cmd(`SELECT ${name}`);
      assert.match((await a.cmd("UID SEARCH UID 100:*")).text, /^\* SEARCH 3$/m);
      assert.match((await a.cmd("UID FETCH 100:* (UID)")).text, /^\* 3 FETCH \(UID 3\)$/m);
    });
  });

  describe("session-level rules", () => {
    it("IDLE: updates while idling; DONE with pipelined commands after it", async () => {
      const name = await freshBox(t, 1);
      const a: Client = await t.login();
      await a.cmd(`SELECT ${name}`);
      a.write("I1 IDLE\r\n");
      assert.match(await a.readLine(), /^\+ /);
      await seed(t, name, 1);
      assert.equal(await a.readLine(), "* 2 EXISTS");
      a.write("DONE\r\nP1 NOOP\r\nP2 FETCH 2 (UID)\r\n");
      const lines = await a.readUntil(/^P2 /);
      assert.ok(lines.includes("I1 OK IDLE terminated"), lines.join("\n"));
      assert.ok(lines.includes("P1 OK NOOP completed"), lines.join("\n"));
      assert.ok(
        lines.some((l) => /^\* 2 FETCH \(UID 2\)$/.test(l)),
        lines.join("\n"),
      );
    });

    it("LOGOUT: untagged BYE before the tagged OK, then the connection closes", async () => {
      const a = await t.login();
      a.write("L1 LOGOUT\r\n");
      const lines = await a.readUntil(/^L1 /);
      assert.match(lines[0]!, /^\* BYE /);
      assert.match(lines[1]!, /^L1 OK/);
      assert.ok(await a.waitClosed());
    });

    it("BAD for commands in the wrong state; CAPABILITY changes after login", async () => {
      const a = await t.connect();
      assert.match((await a.cmd("SELECT INBOX")).tagged, /BAD/);
      assert.match((await a.cmd("FETCH 1 FLAGS")).tagged, /BAD/);
      const pre = await a.cmd("CAPABILITY");
      assert.doesNotMatch(pre.text, /\bIDLE\b/);
      await a.cmd("LOGIN alice@example.com secret");
      const post = await a.cmd("CAPABILITY");
      assert.match(post.text, /\bIDLE\b/);
      assert.match(post.text, /\bIMAP4rev2\b/);
      assert.match((await a.cmd("LOGIN alice@example.com secret")).tagged, /BAD/);
      assert.match((await a.cmd("EXPUNGE")).tagged, /BAD/);
    });

    it("ENABLE lists only what it newly enabled; ID NIL answers the server ID", async () => {
      const a = await t.login();
      assert.match((await a.cmd("ENABLE CONDSTORE X-UNKNOWN")).text, /^\* ENABLED CONDSTORE$/m);
      assert.match((await a.cmd("ENABLE CONDSTORE")).text, /^\* ENABLED$/m);
      assert.match((await a.cmd("ID NIL")).text, /^\* ID \(.*"name".*\)$/m);
    });
  });
});
