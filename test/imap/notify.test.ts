/**
 * IMAP NOTIFY (RFC 5465) and unsolicited METADATA (RFC 5464 §4.4.2) over a real socket, one
 * server process: the syntax and semantic errors (BAD, NO [BADEVENT]), NOTIFY SET STATUS,
 * STATUS for other mailboxes on changes made by another connection (between commands, no IDLE),
 * the selected mailbox with SELECTED (EXISTS + MessageNew fetch attributes, EXPUNGE at once) and
 * SELECTED-DELAYED (expunge held back until a command allows it), CONDSTORE/QRESYNC forms,
 * MailboxName / SubscriptionChange LIST responses, METADATA changes, NOTIFY NONE, and
 * NOTIFICATIONOVERFLOW. Every wait is for an expected line with a bounded timeout.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, startServer, type TestServer } from "./helpers.ts";

/** notifications waiting at the client: the untagged lines before a CAPABILITY's own */
async function nothingPending(c: Client): Promise<string[]> {
  // a command's responses come after any notification already queued: the lines before the
  // tagged answer that are not the CAPABILITY line are notifications
  const r = await c.cmd("CAPABILITY");
  return r.lines.filter((l) => !l.startsWith("* CAPABILITY"));
}

describe("IMAP NOTIFY (RFC 5465)", () => {
  let t: TestServer;
  let c: Client;
  let other: Client;
  before(async () => {
    t = await startServer();
    c = await t.login();
    other = await t.login();
    for (const name of ["Lists", "Lists/a", "Misc"]) assert.ok((await other.cmd(`CREATE ${name}`)).ok);
  });
  after(async () => {
    await t.close();
  });

  it("advertises NOTIFY after login", async () => {
    const r = await c.cmd("CAPABILITY");
    assert.match(r.lines[0]!, / NOTIFY( |$)/);
  });

  it("rejects bad syntax and invalid event combinations with BAD", async () => {
    for (const bad of [
      "NOTIFY",
      "NOTIFY SET",
      "NOTIFY SET (selected)",
      "NOTIFY SET (nowhere (MessageNew MessageExpunge))",
      "NOTIFY SET (selected (MessageNew MessageExpunge)",
      "NOTIFY SET (subtree (MessageNew MessageExpunge))",
      "NOTIFY SET STATUSX (personal (MessageNew MessageExpunge))",
      "NOTIFY SET (personal ())",
      // RFC 5465 §5: MessageNew and MessageExpunge together; FlagChange needs both
      "NOTIFY SET (personal (MessageNew))",
      "NOTIFY SET (personal (MessageExpunge))",
      "NOTIFY SET (personal (FlagChange))",
      // fetch attributes only for the selected mailbox
      "NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
      "NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))",
      // RFC 5465 §6.1: message events only for the selected mailbox
      "NOTIFY SET (selected (MessageNew MessageExpunge MailboxName))",
    ]) {
      // a connection each: the server closes one after too many BADs
      const b = await t.login();
      const r = await b.cmd(bad);
      assert.match(r.tagged, / BAD /, `${bad}: ${r.text}`);
      b.destroy();
    }
  });

  it("answers an unsupported event with NO [BADEVENT (the supported events)]", async () => {
    for (const cmd of [
      "NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))",
      "NOTIFY SET (inboxes (FooBar))",
    ]) {
      const r = await c.cmd(cmd);
      assert.match(r.tagged, / NO \[BADEVENT \(MessageNew MessageExpunge FlagChange MailboxName /, r.text);
      assert.match(r.tagged, /ServerMetadataChange\)\]/);
    }
  });

  it("NOTIFY SET STATUS sends STATUS for the mailboxes with message events", async () => {
    const r = await c.cmd('NOTIFY SET STATUS (subtree "Lists" (MessageNew MessageExpunge))');
    assert.ok(r.ok, r.text);
    const lines = [...r.lines].sort();
    assert.equal(lines.length, 2, r.text);
    assert.match(lines[0]!, /^\* STATUS "Lists" \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+\)$/);
    assert.match(lines[1]!, /^\* STATUS "Lists\/a" \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+\)$/);
  });

  it("STATUS for a change made by another connection, between commands (no IDLE)", async () => {
    assert.ok((await other.append("Lists/a", message("hi", "one\r\n"))).ok);
    const lines = await c.readUntil(/^\* STATUS "Lists\/a"/);
    assert.match(lines.at(-1)!, /^\* STATUS "Lists\/a" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)$/);
    // a mailbox outside the filter: nothing
    assert.ok((await other.append("Misc", message("x", "x\r\n"))).ok);
    assert.ok((await other.cmd("NOOP")).ok);
    assert.deepEqual(await nothingPending(c), []);
    // a flag change without FlagChange: MESSAGES / UIDNEXT unchanged, so no STATUS
    assert.ok((await other.cmd("SELECT Lists/a")).ok);
    assert.ok((await other.cmd("STORE 1 +FLAGS (\\Seen)")).ok);
    assert.deepEqual(await nothingPending(c), []);
    // an expunge
    assert.ok((await other.cmd("STORE 1 +FLAGS (\\Deleted)")).ok);
    assert.ok((await other.cmd("EXPUNGE")).ok);
    const l2 = await c.readUntil(/^\* STATUS "Lists\/a"/);
    assert.match(l2.at(-1)!, /\(MESSAGES 0 UIDNEXT 2 /);
    assert.ok((await other.cmd("UNSELECT")).ok);
  });

  it("FlagChange adds UNSEEN (and HIGHESTMODSEQ under CONDSTORE)", async () => {
    assert.ok((await c.cmd("ENABLE CONDSTORE")).ok);
    assert.ok((await c.cmd("NOTIFY SET (mailboxes Misc (MessageNew MessageExpunge FlagChange))")).ok);
    assert.ok((await other.cmd("SELECT Misc")).ok);
    assert.ok((await other.cmd("STORE 1 +FLAGS (\\Seen)")).ok);
    const l = await c.readUntil(/^\* STATUS "Misc"/);
    assert.match(
      l.at(-1)!,
      /^\* STATUS "Misc" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 0 HIGHESTMODSEQ \d+\)$/,
    );
    assert.ok((await other.cmd("UNSELECT")).ok);
  });

  it("SELECTED: EXISTS with the MessageNew fetch attributes, EXPUNGE at once", async () => {
    assert.ok((await c.cmd("SELECT INBOX")).ok);
    let r = await c.cmd(
      "NOTIFY SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge FlagChange))",
    );
    assert.ok(r.ok, r.text);
    assert.ok((await other.append("INBOX", message("Hello there", "body\r\n"))).ok);
    const lines = await c.readUntil(/FETCH/);
    assert.deepEqual(lines.slice(0, 1), ["* 1 EXISTS"]);
    assert.match(lines.at(-1)!, /^\* 1 FETCH \(UID 1 .*Subject: Hello there.* MODSEQ \(\d+\)\)$/s);
    // a flag change by another connection: FETCH FLAGS with MODSEQ (CONDSTORE is on)
    assert.ok((await other.cmd("SELECT INBOX")).ok);
    assert.ok((await other.cmd("STORE 1 +FLAGS (\\Flagged)")).ok);
    const f = await c.readUntil(/FETCH/);
    assert.match(f.at(-1)!, /^\* 1 FETCH \(UID 1 FLAGS \(\\Flagged( \\Recent)?\) MODSEQ \(\d+\)\)$/);
    // expunge: sent without waiting for a command (RFC 5465 §6.1)
    assert.ok((await other.cmd("STORE 1 +FLAGS (\\Deleted)")).ok);
    assert.ok((await other.cmd("EXPUNGE")).ok);
    const e = await c.readUntil(/EXPUNGE/);
    assert.equal(e.at(-1), "* 1 EXPUNGE");
    r = await c.cmd("NOOP");
    assert.deepEqual(
      r.lines.filter((l) => !/FETCH/.test(l)),
      [],
    );
  });

  it("SELECTED-DELAYED: new mail at once, the expunge waits for a command that allows it", async () => {
    assert.ok((await c.cmd("NOTIFY SET (selected-delayed (MessageNew MessageExpunge))")).ok);
    assert.ok((await other.append("INBOX", message("second", "b\r\n"))).ok);
    const l = await c.readUntil(/EXISTS/);
    assert.equal(l.at(-1), "* 1 EXISTS");
    assert.ok((await other.cmd("STORE 1:* +FLAGS (\\Deleted)")).ok);
    assert.ok((await other.cmd("EXPUNGE")).ok);
    // FETCH (sequence numbers) must not carry it (RFC 9051 §7.5.1); NOOP does
    const f = await c.cmd("FETCH 1 (UID)");
    assert.ok(!f.lines.some((x) => /EXPUNGE/.test(x)), f.text);
    const n = await c.cmd("NOOP");
    assert.ok(n.lines.includes("* 1 EXPUNGE"), n.text);
  });

  it("QRESYNC: expunges as VANISHED", async () => {
    assert.ok((await c.cmd("ENABLE QRESYNC")).ok);
    assert.ok((await c.cmd("NOTIFY SET (selected (MessageNew MessageExpunge))")).ok);
    const a = await other.append("INBOX", message("third", "c\r\n"));
    assert.ok(a.ok);
    const uid = /APPENDUID \d+ (\d+)/.exec(a.tagged)![1];
    await c.readUntil(/EXISTS/);
    assert.ok((await other.cmd(`UID STORE ${uid} +FLAGS (\\Deleted)`)).ok);
    assert.ok((await other.cmd(`UID EXPUNGE ${uid}`)).ok);
    const v = await c.readUntil(/VANISHED/);
    assert.equal(v.at(-1), `* VANISHED ${uid}`);
  });

  it("MailboxName and SubscriptionChange: LIST responses (OLDNAME on rename, \\NonExistent on delete)", async () => {
    assert.ok((await c.cmd("NOTIFY SET (personal (MailboxName SubscriptionChange))")).ok);
    assert.ok((await other.cmd("CREATE Projects")).ok);
    let l = await c.readUntil(/^\* LIST/);
    assert.equal(l.at(-1), '* LIST (\\HasNoChildren) "/" "Projects"');
    assert.ok((await other.cmd("SUBSCRIBE Projects")).ok);
    l = await c.readUntil(/^\* LIST/);
    assert.equal(l.at(-1), '* LIST (\\HasNoChildren \\Subscribed) "/" "Projects"');
    assert.ok((await other.cmd("RENAME Projects Work")).ok);
    l = await c.readUntil(/^\* LIST/);
    assert.equal(l.at(-1), '* LIST (\\HasNoChildren \\Subscribed) "/" "Work" ("OLDNAME" ("Projects"))');
    assert.ok((await other.cmd("UNSUBSCRIBE Work")).ok);
    l = await c.readUntil(/^\* LIST/);
    assert.equal(l.at(-1), '* LIST (\\HasNoChildren) "/" "Work"');
    assert.ok((await other.cmd("DELETE Work")).ok);
    l = await c.readUntil(/^\* LIST/);
    assert.equal(l.at(-1), '* LIST (\\NonExistent) "/" "Work"');
  });

  it("MailboxMetadataChange and ServerMetadataChange: unsolicited METADATA (RFC 5464 §4.4.2)", async () => {
    assert.ok(
      (await c.cmd("NOTIFY SET (mailboxes Misc (MailboxMetadataChange)) (personal (ServerMetadataChange))"))
        .ok,
    );
    assert.ok((await other.cmd('SETMETADATA Misc (/private/comment "x" /shared/a "y")')).ok);
    let l = await c.readUntil(/^\* METADATA/);
    assert.equal(l.at(-1), '* METADATA "Misc" /private/comment /shared/a');
    assert.ok((await other.cmd('SETMETADATA "" (/shared/admin NIL)')).ok);
    l = await c.readUntil(/^\* METADATA/);
    assert.equal(l.at(-1), '* METADATA "" /shared/admin');
    // another mailbox's entries: not asked for
    assert.ok((await other.cmd('SETMETADATA INBOX (/private/comment "z")')).ok);
    assert.deepEqual(await nothingPending(c), []);
  });

  it("NOTIFY NONE stops notifications", async () => {
    assert.ok((await c.cmd("NOTIFY SET (mailboxes Misc (MessageNew MessageExpunge))")).ok);
    assert.ok((await c.cmd("NOTIFY NONE")).ok);
    assert.ok((await other.append("Misc", message("y", "y\r\n"))).ok);
    assert.ok((await other.cmd("NOOP")).ok);
    assert.deepEqual(await nothingPending(c), []);
  });

  it("IDLE carries notifications for other mailboxes too", async () => {
    assert.ok((await c.cmd("NOTIFY SET (mailboxes Misc (MessageNew MessageExpunge))")).ok);
    c.write("I1 IDLE\r\n");
    assert.match(await c.readLine(), /^\+ /);
    assert.ok((await other.append("Misc", message("z", "z\r\n"))).ok);
    const l = await c.readUntil(/^\* STATUS "Misc"/);
    assert.match(l.at(-1)!, /MESSAGES 3 /);
    c.write("DONE\r\n");
    await c.readUntil(/^I1 OK/);
    assert.ok((await c.cmd("NOTIFY NONE")).ok);
  });
  it("INBOXES and SUBSCRIBED filters; the selected mailbox gets no STATUS without SELECTED", async () => {
    assert.ok((await c.cmd("SELECT Misc")).ok);
    assert.ok((await other.cmd("SUBSCRIBE Lists")).ok);
    assert.ok(
      (
        await c.cmd(
          "NOTIFY SET (inboxes (MessageNew MessageExpunge)) (subscribed (MessageNew MessageExpunge))",
        )
      ).ok,
    );
    assert.ok((await other.append("INBOX", message("in", "in\r\n"))).ok);
    let l = await c.readUntil(/^\* STATUS/);
    assert.match(
      l.at(-1)!,
      /^\* STATUS "INBOX" \(MESSAGES \d+ UIDNEXT \d+ UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)$/,
    );
    assert.ok((await other.append("Lists", message("sub", "s\r\n"))).ok);
    l = await c.readUntil(/^\* STATUS/);
    assert.match(l.at(-1)!, /^\* STATUS "Lists" \(MESSAGES 1 /);
    // Misc is selected, and neither an inbox nor subscribed: nothing for it
    assert.ok((await other.append("Misc", message("m", "m\r\n"))).ok);
    assert.ok((await other.append("Lists/a", message("m", "m\r\n"))).ok);
    assert.ok((await other.cmd("NOOP")).ok);
    // (the selected Misc's new message comes with the command, as without NOTIFY)
    assert.deepEqual(
      (await nothingPending(c)).filter((l) => l.startsWith("* STATUS")),
      [],
    );
    assert.ok((await c.cmd("NOTIFY NONE")).ok);
    assert.ok((await c.cmd("UNSELECT")).ok);
  });
});

describe("IMAP NOTIFY overflow (RFC 5465 §5.8)", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ limits: { maxNotifyQueue: 2 } });
  });
  after(async () => {
    await t.close();
  });

  it("too many waiting changes: * OK [NOTIFICATIONOVERFLOW], then NOTIFY is off", async () => {
    const c = await t.login();
    const other = await t.login();
    for (const n of ["A", "A/1", "A/2", "A/3", "A/4"]) assert.ok((await other.cmd(`CREATE ${n}`)).ok);
    assert.ok((await c.cmd("NOTIFY SET (personal (MessageNew MessageExpunge))")).ok);
    // one RENAME changes five mailboxes in one transaction: their beacons arrive together, more
    // than the queue of 2 holds while the first is being reported
    assert.ok((await other.cmd("RENAME A Z")).ok);
    const l = await c.readUntil(/NOTIFICATIONOVERFLOW/);
    assert.match(l.at(-1)!, /^\* OK \[NOTIFICATIONOVERFLOW\]/);
    // off now
    assert.ok((await other.append("Z", message("p", "p\r\n"))).ok);
    assert.deepEqual(await nothingPending(c), []);
  });
});
