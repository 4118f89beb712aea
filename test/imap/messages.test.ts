import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, seed, startServer, type TestServer } from "./helpers.ts";

const MULTIPART =
  "From: Carol <carol@example.org>\r\nTo: bob@example.com\r\nSubject: parts\r\n" +
  "Date: Tue, 2 Jan 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
  'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n' +
  "--XX\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nfirst part text\r\n" +
  "--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n" +
  "--XX--\r\n";

describe("IMAP message commands", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer();
    await seed(t, "INBOX", 5);
    c = await t.login();
    await c.append("INBOX", MULTIPART, "\\Answered", "02-Jan-2024 10:00:00 +0000");
    assert.ok((await c.cmd("SELECT INBOX")).ok);
  });
  after(async () => {
    await t.close();
  });

  it("FETCH sections, partials, BINARY, BODYSTRUCTURE, object ids", async () => {
    const r = await c.cmd(
      "FETCH 6 (BODY.PEEK[1] BODY.PEEK[2]<0.4> BINARY.PEEK[2] BINARY.SIZE[2] BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
    );
    assert.ok(r.ok, r.text);
    const l = r.lines[0]!;
    assert.match(l, /BODY\[1\] \{15\}\r\nfirst part text BODY/);
    assert.match(l, /BODY\[2\]<0> \{4\}\r\nAAEC/);
    assert.match(l, /BINARY\[2\] ~\{5\}\r\n\x00\x01\x02\x03\x04/);
    assert.match(l, /BINARY.SIZE\[2\] 5/);
    assert.match(l, /BODY\[HEADER.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: parts\r\n\r\n/);
    assert.doesNotMatch(l, /\\Seen/);
    const bs = await c.cmd("FETCH 6 (BODYSTRUCTURE BODY INTERNALDATE EMAILID THREADID SAVEDATE)");
    assert.match(bs.lines[0]!, /BODYSTRUCTURE \(\("TEXT" "PLAIN"/i);
    assert.match(bs.lines[0]!, /INTERNALDATE "02-Jan-2024 10:00:00 \+0000"/);
    assert.match(bs.lines[0]!, /EMAILID \([\w-]+\) THREADID \([\w-]+\) SAVEDATE "/);
    const r822 = await c.cmd("FETCH 1 (RFC822.HEADER RFC822.TEXT)");
    assert.match(r822.lines[0]!, /RFC822.HEADER \{\d+\}\r\nFrom: Alice/);
    assert.match(r822.lines[0]!, /RFC822.TEXT \{\d+\}\r\nbody number 1/);
    assert.match(r822.lines[0]!, /FLAGS \(\\Seen \\Recent\)/); // RFC822.TEXT sets \Seen
    const missing = await c.cmd("FETCH 6 BODY.PEEK[7]");
    assert.match(missing.lines[0]!, /BODY\[7\] NIL/);
  });

  it("delivery headers kept beside the blob are part of BODY[], BODY[HEADER] and BODY[HEADER.FIELDS]", async () => {
    await t.store.createMailbox(t.accountId, "Delivered");
    const mb = (await t.store.getMailbox(t.accountId, "Delivered"))!;
    const prefix = "Delivered-To: bob@example.com\r\nReceived: from mx.example.org by us\r\n";
    const body = "From: x@example.org\r\nSubject: prefixed\r\n\r\nhello\r\n";
    await t.store.append(t.accountId, mb.id, {
      raw: Buffer.from(body),
      deliveryHeaders: Buffer.from(prefix),
    });
    const d = await t.login();
    assert.ok((await d.cmd("EXAMINE Delivered")).ok);
    const r = await d.cmd(
      "FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (RECEIVED SUBJECT)] BODY.PEEK[HEADER.FIELDS.NOT (RECEIVED)])",
    );
    assert.ok(r.ok, r.text);
    const l = r.lines[0]!;
    const whole = prefix + body;
    assert.ok(l.includes(`RFC822.SIZE ${whole.length} `), l);
    assert.ok(l.includes(`BODY[] {${whole.length}}\r\n${whole}`), l);
    const header = prefix + "From: x@example.org\r\nSubject: prefixed\r\n\r\n";
    assert.ok(l.includes(`BODY[HEADER] {${header.length}}\r\n${header}`), l);
    const fields = "Received: from mx.example.org by us\r\nSubject: prefixed\r\n\r\n";
    assert.ok(l.includes(`BODY[HEADER.FIELDS (RECEIVED SUBJECT)] {${fields.length}}\r\n${fields}`), l);
    const not = "Delivered-To: bob@example.com\r\nFrom: x@example.org\r\nSubject: prefixed\r\n\r\n";
    assert.ok(l.includes(`BODY[HEADER.FIELDS.NOT (RECEIVED)] {${not.length}}\r\n${not}`), l);
    await d.cmd("LOGOUT");
  });

  it("rejects invalid sequence numbers and empty UID sets are fine", async () => {
    const r = await c.cmd("FETCH 99 FLAGS");
    assert.match(r.tagged, /BAD/);
    const u = await c.cmd("UID FETCH 9999 FLAGS");
    assert.ok(u.ok);
    assert.equal(u.lines.length, 0);
  });

  it("STORE, +FLAGS.SILENT, -FLAGS, UID STORE", async () => {
    const r = await c.cmd("STORE 1:2 +FLAGS (\\Flagged $Work)");
    assert.ok(r.ok);
    // the new keyword $Work is announced first (RFC 9051 §7.3.5: * FLAGS + PERMANENTFLAGS)
    assert.match(r.lines[0]!, /^\* FLAGS \(.*\$Work\)$/);
    const fetches = r.lines.filter((l) => / FETCH /.test(l));
    assert.equal(fetches.length, 2);
    assert.match(fetches[0]!, /^\* 1 FETCH \(FLAGS \(.*\\Flagged.*\$Work.*\)\)$/);
    const s = await c.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)");
    assert.equal(s.lines.length, 0);
    const u = await c.cmd("UID STORE 1 -FLAGS (\\Flagged)");
    assert.match(u.lines[0]!, /^\* 1 FETCH \(UID 1 FLAGS \(/);
    assert.doesNotMatch(u.lines[0]!, /Flagged/);
    const rep = await c.cmd("STORE 2 FLAGS (\\Draft)");
    assert.match(rep.lines[0]!, /^\* 2 FETCH \(FLAGS \(\\Draft \\Recent\)\)$/);
  });

  it("SEARCH keys and ESEARCH/SEARCHRES", async () => {
    let r = await c.cmd("SEARCH FLAGGED");
    assert.deepEqual(r.lines, ["* SEARCH"]);
    r = await c.cmd("SEARCH DELETED");
    assert.deepEqual(r.lines, ["* SEARCH 3"]);
    r = await c.cmd("SEARCH SUBJECT parts");
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd('SEARCH BODY "number 4"');
    assert.deepEqual(r.lines, ["* SEARCH 4"]);
    r = await c.cmd("SEARCH TEXT carol");
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd("SEARCH OR 1 6 NOT DELETED");
    assert.deepEqual(r.lines, ["* SEARCH 1 6"]);
    r = await c.cmd("SEARCH KEYWORD $Work UNDELETED");
    assert.deepEqual(r.lines, ["* SEARCH 1"]);
    r = await c.cmd("SEARCH UNKEYWORD $Work NOT DRAFT");
    assert.deepEqual(r.lines, ["* SEARCH 3 4 5 6"]);
    r = await c.cmd("SEARCH ON 02-Jan-2024");
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd("SEARCH SENTSINCE 02-Jan-2024");
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd("SEARCH LARGER 300");
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd("SEARCH YOUNGER 3600 ANSWERED");
    assert.deepEqual(r.lines, ["* SEARCH"]);
    r = await c.cmd("SEARCH OLDER 3600 ANSWERED");
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd("SEARCH HEADER Message-ID example.org 1:3");
    assert.deepEqual(r.lines, ["* SEARCH 1 2 3"]);
    r = await c.cmd("UID SEARCH UID 2:4");
    assert.deepEqual(r.lines, ["* SEARCH 2 3 4"]);
    r = await c.cmd("SEARCH CHARSET ISO-8859-1 ALL");
    assert.match(r.tagged, /NO \[BADCHARSET \(UTF-8\)\]/);
    r = await c.cmd("SEARCH CHARSET UTF-8 SUBJECT parts");
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd("SEARCH RETURN (MIN MAX COUNT ALL) 2:5");
    assert.match(r.lines[0]!, /^\* ESEARCH \(TAG "T\d+"\) MIN 2 MAX 5 COUNT 4 ALL 2:5$/);
    r = await c.cmd("UID SEARCH RETURN () ALL");
    assert.match(r.lines[0]!, /^\* ESEARCH \(TAG "T\d+"\) UID ALL 1:6$/);
    r = await c.cmd("SEARCH RETURN (SAVE) OR DRAFT KEYWORD $Work");
    assert.deepEqual(r.lines, []);
    r = await c.cmd("FETCH $ (UID)");
    assert.deepEqual(r.lines, ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)"]);
    r = await c.cmd("UID SEARCH UID $ NOT 1");
    assert.deepEqual(r.lines, ["* SEARCH 2"]);
    // RFC 3501 §6.4.4: this session selected first, so every message is \Recent here; NEW = RECENT UNSEEN
    r = await c.cmd("SEARCH NEW");
    assert.deepEqual(r.lines, ["* SEARCH 2 3 4 5 6"]);
    r = await c.cmd("SEARCH OLD");
    assert.deepEqual(r.lines, ["* SEARCH"]);
    r = await c.cmd("SEARCH RECENT SMALLER 300 SENTBEFORE 02-Jan-2024");
    assert.deepEqual(r.lines, ["* SEARCH 1 2 3 4 5"]);
    r = await c.cmd("SEARCH SAVEDATESUPPORTED SAVEDSINCE 01-Jan-2020 NOT SAVEDBEFORE 01-Jan-2020 6");
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    const ids = await c.cmd("FETCH 6 (EMAILID THREADID)");
    const [, eid, tid] = /EMAILID \(([\w-]+)\) THREADID \(([\w-]+)\)/.exec(ids.lines[0]!)!;
    r = await c.cmd(`SEARCH EMAILID ${eid}`);
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd(`SEARCH THREADID ${tid}`);
    assert.deepEqual(r.lines, ["* SEARCH 6"]);
    r = await c.cmd("SEARCH RETURN (COUNT) DELETED");
    assert.match(r.lines[0]!, /COUNT 1$/);
  });

  it("COPY, MOVE, EXPUNGE, UID EXPUNGE", async () => {
    let r = await c.cmd("COPY 1:2 Archive");
    assert.match(r.tagged, /OK \[COPYUID \d+ 1:2 1:2\]/);
    r = await c.cmd("COPY 1 Nope");
    assert.match(r.tagged, /NO \[TRYCREATE\]/);
    r = await c.cmd("UID MOVE 5 Trash");
    assert.match(r.lines[0]!, /^\* OK \[COPYUID \d+ 5 1\]/);
    assert.equal(r.lines[1], "* 5 EXPUNGE");
    assert.ok(r.ok);
    // now 1,2,3(deleted),4,6 → seq 1..5; UID EXPUNGE of a non-deleted uid does nothing
    r = await c.cmd("UID EXPUNGE 1:2");
    assert.deepEqual(r.lines, []);
    await c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    r = await c.cmd("EXPUNGE");
    assert.deepEqual(r.lines, ["* 3 EXPUNGE", "* 1 EXPUNGE"]);
    r = await c.cmd("FETCH 1:* (UID)");
    assert.deepEqual(
      r.lines.map((l) => l.replace(/FETCH \(UID (\d+)\)/, "$1")),
      ["* 1 2", "* 2 4", "* 3 6"],
    );
    const st = await c.cmd("STATUS Trash (MESSAGES UIDNEXT)");
    assert.match(st.lines[0]!, /^\* STATUS "Trash" \(MESSAGES 1 UIDNEXT 2\)$/);
  });

  it("EXAMINE is read-only; CLOSE expunges silently; UNSELECT does not", async () => {
    const w = await t.login();
    await w.cmd("SELECT Archive");
    await w.cmd("STORE 1 +FLAGS (\\Deleted)");
    let r = await w.cmd("UNSELECT");
    assert.ok(r.ok);
    r = await w.cmd("EXAMINE Archive");
    assert.match(r.tagged, /\[READ-ONLY\]/);
    assert.match((await w.cmd("STORE 1 +FLAGS (\\Seen)")).tagged, /NO/);
    r = await w.cmd("FETCH 2 BODY[TEXT]");
    assert.doesNotMatch(r.lines[0]!, /\\Seen/);
    r = await w.cmd("CLOSE"); // read-only: nothing expunged
    assert.deepEqual(r.lines, []);
    await w.cmd("SELECT Archive");
    assert.ok((await w.cmd("CHECK")).ok);
    r = await w.cmd("CLOSE");
    assert.deepEqual(r.lines, []);
    r = await w.cmd("STATUS Archive (MESSAGES)");
    assert.match(r.lines[0]!, /MESSAGES 1\)/);
    r = await w.cmd("FETCH 1 FLAGS");
    assert.match(r.tagged, /BAD/);
  });

  it("APPEND variants: MULTIAPPEND, LITERAL+, TRYCREATE, flags and date", async () => {
    const w = await t.login();
    const m1 = message("multi one");
    const m2 = message("multi two");
    w.write(`M1 APPEND Drafts (\\Draft) {${m1.length}+}\r\n${m1} (\\Seen) {${m2.length}+}\r\n${m2}\r\n`);
    const r = await w.collect("M1");
    assert.match(r.tagged, /OK \[APPENDUID \d+ 1:2\]/);
    const n = await w.append("NoSuchBox", message("x"));
    assert.match(n.tagged, /NO \[TRYCREATE\]/);
    // RFC 3501 §6.3.2: EXAMINE shows \Recent but claims nothing, so a later SELECT gets them too
    const ex = await w.cmd("EXAMINE Drafts");
    assert.ok(ex.lines.includes("* 2 RECENT"), ex.text);
    const f = await w.cmd("FETCH 1:2 (FLAGS)");
    assert.deepEqual(f.lines, [
      "* 1 FETCH (FLAGS (\\Draft \\Recent))",
      "* 2 FETCH (FLAGS (\\Seen \\Recent))",
    ]);
    const sel = await w.cmd("SELECT Drafts");
    assert.ok(sel.lines.includes("* 2 RECENT"), sel.text);
  });

  it("UID COPY, plain MOVE, binary APPEND literal8, DELETE of the selected mailbox", async () => {
    const w = await t.login();
    assert.ok((await w.cmd("CREATE Scratch")).ok);
    const bin = Buffer.concat([
      Buffer.from("Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\n"),
      Buffer.from([1, 0, 2]),
      Buffer.from("\r\n"),
    ]);
    w.write(
      Buffer.concat([Buffer.from(`B1 APPEND Scratch ~{${bin.length}+}\r\n`), bin, Buffer.from("\r\n")]),
    );
    let r = await w.collect("B1");
    assert.match(r.tagged, /OK \[APPENDUID \d+ 1\]/);
    await w.append("Scratch", message("second"));
    await w.cmd("SELECT Scratch");
    r = await w.cmd("UID COPY 2 Trash");
    assert.match(r.tagged, /OK \[COPYUID \d+ 2 \d+\]/);
    r = await w.cmd("MOVE 1 Junk");
    assert.match(r.lines[0]!, /^\* OK \[COPYUID \d+ 1 1\]/);
    assert.equal(r.lines[1], "* 1 EXPUNGE");
    r = await w.cmd("FETCH 1 (UID)");
    assert.deepEqual(r.lines, ["* 1 FETCH (UID 2)"]);
    r = await w.cmd("DELETE Scratch");
    assert.ok(r.ok);
    assert.ok(r.lines.some((l) => /\[CLOSED\]/.test(l)));
    assert.match((await w.cmd("FETCH 1 (UID)")).tagged, /BAD/);
    await w.cmd("SELECT Junk");
    r = await w.cmd("FETCH 1 (BINARY.PEEK[] RFC822.SIZE)");
    assert.ok(r.lines[0]!.includes("\x01\x00\x02"));
  });

  it("SORT and UID SORT by subject, date, size, from, arrival (reverse)", async () => {
    const w = await t.login();
    await w.cmd("CREATE Sorting");
    const mk = (from: string, subject: string, date: string, body: string) =>
      `From: ${from}\r\nSubject: ${subject}\r\nDate: ${date}\r\n\r\n${body}\r\n`;
    await w.append("Sorting", mk("Zed <z@example.org>", "Re: banana", "Wed, 3 Jan 2024 10:00:00 +0000", "x"));
    await w.append(
      "Sorting",
      mk("Amy <a@example.org>", "apple", "Fri, 5 Jan 2024 10:00:00 +0000", "x".repeat(80)),
    );
    await w.append(
      "Sorting",
      mk("Bob <b@example.org>", "cherry", "Mon, 1 Jan 2024 10:00:00 +0000", "x".repeat(40)),
    );
    await w.cmd("SELECT Sorting");
    let r = await w.cmd("SORT (SUBJECT) UTF-8 ALL");
    assert.deepEqual(r.lines, ["* SORT 2 1 3"]);
    r = await w.cmd("SORT (DATE) UTF-8 ALL");
    assert.deepEqual(r.lines, ["* SORT 3 1 2"]);
    r = await w.cmd("SORT (REVERSE SIZE) UTF-8 ALL");
    assert.deepEqual(r.lines, ["* SORT 2 3 1"]);
    r = await w.cmd("UID SORT (FROM) UTF-8 NOT SUBJECT cherry");
    assert.deepEqual(r.lines, ["* SORT 2 1"]);
    r = await w.cmd("SORT (REVERSE ARRIVAL) UTF-8 ALL");
    assert.deepEqual(r.lines, ["* SORT 3 2 1"]);
    r = await w.cmd("SORT (DISPLAYFROM) UTF-8 ALL");
    assert.deepEqual(r.lines, ["* SORT 2 3 1"]);
  });
});
