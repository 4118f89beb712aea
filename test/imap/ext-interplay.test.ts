/**
 * How the IMAP extensions added side by side work together, over a real socket:
 * - NOTIFY (RFC 5465) does not report the client's own changes (§5: APPEND to another mailbox,
 *   CREATE), while another connection's changes are reported;
 * - NOTIFY with shared mailboxes (RFC 4314): MAILBOXES / SUBTREE on `Shared/<owner>/…` report the
 *   owner's changes as STATUS of the shared name, only while the grantee holds "l" and "r"
 *   (RFC 5465 §5.9: monitoring stops when access goes and resumes when it comes back); PERSONAL
 *   never reports the owner's own mailboxes, even while the grantee has a shared one selected.
 * Every "not reported" check is ordered by a later change that is reported (no timed waits).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, PASS, startServer, type TestServer, USER } from "./helpers.ts";

const BOB = "bob@example.com";
const TEAM = `"Shared/${USER}/Team"`;

describe("IMAP extension interplay: NOTIFY, own changes, shared mailboxes", () => {
  let t: TestServer;
  let alice: Client;
  let other: Client;
  let bob: Client;
  let bobId: number;
  before(async () => {
    t = await startServer();
    alice = await t.login();
    other = await t.login();
    bob = await t.connect();
    assert.ok((await bob.cmd(`LOGIN ${BOB} ${PASS}`)).ok);
    bobId = (await t.store.getAccount(BOB))!.id;
    for (const name of ["Misc", "Team"]) assert.ok((await other.cmd(`CREATE ${name}`)).ok);
  });
  after(async () => {
    await t.close();
  });

  async function appendAs(accountId: number, mailbox: string, subject: string): Promise<void> {
    const mb = (await t.store.getMailbox(accountId, mailbox))!;
    await t.store.append(accountId, mb.id, { raw: Buffer.from(message(subject)), flags: [] });
  }

  it("RFC 5465 §5: the client's own APPEND and CREATE are not reported, another connection's are", async () => {
    let r = await alice.cmd("NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))");
    assert.ok(r.ok, r.text);
    r = await alice.append("Misc", message("mine"));
    assert.ok(r.ok, r.text);
    assert.ok((await alice.cmd("CREATE Mine")).ok);
    // another connection's change: reported, and nothing of ours came before it
    assert.ok((await other.append("Misc", message("theirs"))).ok);
    const lines = await alice.readUntil(/^\* STATUS "?Misc"? /);
    assert.deepEqual(
      lines.filter((l) => l.startsWith("* ")),
      [lines.at(-1)],
      "no notification for our own APPEND or CREATE",
    );
    // the first STATUS for Misc counts both messages: our own APPEND had none of its own
    assert.match(lines.at(-1)!, /MESSAGES 2 /);
    // another connection's CREATE is reported (the list moved on past our own silently)
    assert.ok((await other.cmd("CREATE Theirs")).ok);
    const list = await alice.readUntil(/^\* LIST /);
    assert.deepEqual(list, ['* LIST (\\HasNoChildren) "/" "Theirs"']);
    assert.ok((await alice.cmd("NOTIFY NONE")).ok);
  });

  it("shared mailboxes: MAILBOXES on a Shared/ name reports the owner's changes while l and r hold", async () => {
    const team = (await t.store.getMailbox(t.accountId, "Team"))!;
    await t.store.setAcl(team.id, BOB, "lr");
    const r = await bob.cmd(
      `NOTIFY SET (mailboxes ${TEAM} (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge))`,
    );
    assert.ok(r.ok, r.text);
    await appendAs(t.accountId, "Team", "for the team");
    let lines = await bob.readUntil(/^\* STATUS /);
    assert.deepEqual(lines, [`* STATUS ${TEAM} (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ${team.uidValidity})`]);
    // the owner's other mailboxes are not the grantee's business (PERSONAL = bob's own only)
    await appendAs(t.accountId, "INBOX", "alice only");
    await appendAs(bobId, "INBOX", "marker 1");
    lines = await bob.readUntil(/^\* STATUS /);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\* STATUS "?INBOX"? \(MESSAGES 1 /);
    // RFC 5465 §5.9: without "r" the mailbox is not monitored ...
    await t.store.setAcl(team.id, BOB, "l");
    await appendAs(t.accountId, "Team", "unseen by bob");
    await appendAs(bobId, "INBOX", "marker 2");
    lines = await bob.readUntil(/^\* STATUS /);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\* STATUS "?INBOX"? \(MESSAGES 2 /);
    // ... and is again once access comes back: the current state at once (the ACL change is a
    // change of the mailbox for the grantee), then the next message
    await t.store.setAcl(team.id, BOB, "lr");
    lines = await bob.readUntil(/^\* STATUS /);
    assert.deepEqual(lines, [`* STATUS ${TEAM} (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ${team.uidValidity})`]);
    await appendAs(t.accountId, "Team", "seen again");
    lines = await bob.readUntil(/^\* STATUS /);
    assert.deepEqual(lines, [`* STATUS ${TEAM} (MESSAGES 3 UIDNEXT 4 UIDVALIDITY ${team.uidValidity})`]);
    assert.ok((await bob.cmd("NOTIFY NONE")).ok);
  });

  it("SUBTREE on the owner's shared root; PERSONAL stays personal while a shared mailbox is selected", async () => {
    let r = await bob.cmd(`SELECT ${TEAM}`);
    assert.ok(r.ok, r.text);
    r = await bob.cmd(
      `NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge))`,
    );
    assert.ok(r.ok, r.text);
    // the selected shared mailbox's owner feed carries alice's INBOX too: not reported as bob's
    await appendAs(t.accountId, "INBOX", "alice's own again");
    await appendAs(bobId, "INBOX", "marker 3");
    let lines = await bob.readUntil(/^\* STATUS /);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\* STATUS "?INBOX"? \(MESSAGES 3 /);
    // the selected shared mailbox: EXISTS as for one's own
    await appendAs(t.accountId, "Team", "to the selected one");
    lines = await bob.readUntil(/^\* \d+ EXISTS$/);
    assert.equal(lines.at(-1), "* 4 EXISTS");
    assert.ok((await bob.cmd("UNSELECT")).ok);
    r = await bob.cmd(`NOTIFY SET (subtree "Shared/${USER}" (MessageNew MessageExpunge))`);
    assert.ok(r.ok, r.text);
    await appendAs(t.accountId, "Team", "subtree");
    lines = await bob.readUntil(/^\* STATUS /);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^\\* STATUS "Shared/${USER}/Team" \\(MESSAGES 5 `));
    // SUBTREE on the namespace root: every owner sharing with the user
    r = await bob.cmd(`NOTIFY SET (subtree Shared (MessageNew MessageExpunge))`);
    assert.ok(r.ok, r.text);
    await appendAs(t.accountId, "Team", "namespace root");
    lines = await bob.readUntil(/^\* STATUS /);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^\\* STATUS "Shared/${USER}/Team" \\(MESSAGES 6 `));
    assert.ok((await bob.cmd("NOTIFY NONE")).ok);
  });
  it("CONTEXT=SEARCH with NOTIFY SELECTED: ESEARCH updates go out without a command (RFC 5465 §7, RFC 5267 §4.3)", async () => {
    assert.ok((await alice.cmd("SELECT Misc")).ok);
    const r = await alice.cmd("UID SEARCH RETURN (UPDATE) UNSEEN");
    assert.ok(r.lines.includes(`* ESEARCH (TAG "${r.tag}") UID ALL 1:2`), r.text);
    assert.ok((await alice.cmd("NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))")).ok);
    // another connection's new message: EXISTS, then ADDTO, unasked
    assert.ok((await other.append("Misc", message("new"))).ok);
    let lines = await alice.readUntil(/^\* ESEARCH /);
    assert.ok(lines.indexOf("* 3 EXISTS") >= 0, lines.join("\n"));
    assert.equal(lines.at(-1), `* ESEARCH (TAG "${r.tag}") UID ADDTO (0 3)`);
    // a flag change that takes a message out of the result: REMOVEFROM, unasked
    assert.ok((await other.cmd("SELECT Misc")).ok);
    assert.ok((await other.cmd("UID STORE 1 +FLAGS (\\Seen)")).ok);
    lines = await alice.readUntil(/^\* ESEARCH /);
    assert.equal(lines.at(-1), `* ESEARCH (TAG "${r.tag}") UID REMOVEFROM (0 1)`);
    // our own change: the ordinary responses of the command carry the update
    const own = await alice.cmd("UID STORE 2 +FLAGS.SILENT (\\Seen)");
    assert.ok(own.lines.includes(`* ESEARCH (TAG "${r.tag}") UID REMOVEFROM (0 2)`), own.text);
    assert.ok((await other.cmd("UNSELECT")).ok);
    assert.ok((await alice.cmd("NOTIFY NONE")).ok);
    assert.ok((await alice.cmd("UNSELECT")).ok);
  });
  it("METADATA on a shared mailbox: /shared is the owner's, /private the user's; l + any of rswip (RFC 5464 §3.3)", async () => {
    const team = (await t.store.getMailbox(t.accountId, "Team"))!;
    await t.store.setAcl(team.id, BOB, "lr");
    assert.ok(
      (await alice.cmd('SETMETADATA Team (/shared/comment "team notes" /private/comment "alice")')).ok,
    );
    let r = await bob.cmd(`GETMETADATA ${TEAM} (/shared/comment /private/comment)`);
    assert.ok(r.ok, r.text);
    assert.deepEqual(r.lines, [`* METADATA ${TEAM} (/shared/comment "team notes" /private/comment NIL)`]);
    r = await bob.cmd(`SETMETADATA ${TEAM} (/private/comment "bob" /shared/comment "edited by bob")`);
    assert.ok(r.ok, r.text);
    r = await alice.cmd("GETMETADATA Team (/shared/comment /private/comment)");
    assert.deepEqual(r.lines, [
      '* METADATA "Team" (/shared/comment "edited by bob" /private/comment "alice")',
    ]);
    r = await bob.cmd(`GETMETADATA ${TEAM} /private/comment`);
    assert.deepEqual(r.lines, [`* METADATA ${TEAM} (/private/comment "bob")`]);
    // "l" alone: NOPERM; nothing: as if it did not exist
    await t.store.setAcl(team.id, BOB, "l");
    r = await bob.cmd(`GETMETADATA ${TEAM} /shared/comment`);
    assert.match(r.tagged, /NO \[NOPERM\]/);
    r = await bob.cmd(`SETMETADATA ${TEAM} (/shared/comment "x")`);
    assert.match(r.tagged, /NO \[NOPERM\]/);
    // "i" is one of the rights that give access
    await t.store.setAcl(team.id, BOB, "li");
    r = await bob.cmd(`GETMETADATA ${TEAM} /shared/comment`);
    assert.deepEqual(r.lines, [`* METADATA ${TEAM} (/shared/comment "edited by bob")`]);
    await t.store.setAcl(team.id, BOB, "");
    r = await bob.cmd(`GETMETADATA ${TEAM} /shared/comment`);
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    // the store refuses it too (a grantee whose rights went between check and write)
    await assert.rejects(
      t.store.setMetadata(bobId, team.id, [{ name: "/private/x", value: Buffer.from("y") }], {
        maxSize: 100,
        maxEntries: 10,
      }),
      /no such mailbox/,
    );
    await t.store.setAcl(team.id, BOB, "lr");
  });
  it("GETQUOTAROOT / GETQUOTA on a shared mailbox: the owner's root, shown with r (RFC 9208 with RFC 4314)", async () => {
    const team = (await t.store.getMailbox(t.accountId, "Team"))!;
    await t.store.updateAccount(USER, { quotaBytes: 10 * 1024 * 1024 });
    const used = Math.ceil((await t.store.getAccountById(t.accountId))!.usedBytes / 1024);
    const quota = `* QUOTA "Shared/${USER}" (STORAGE ${used} 10240)`;
    await t.store.setAcl(team.id, BOB, "lr");
    let r = await bob.cmd(`GETQUOTAROOT ${TEAM}`);
    assert.ok(r.ok, r.text);
    assert.deepEqual(r.lines, [`* QUOTAROOT ${TEAM} "Shared/${USER}"`, quota]);
    r = await bob.cmd(`GETQUOTA "Shared/${USER}"`);
    assert.deepEqual(r.lines, [quota]);
    // the owner's own view: root ""
    r = await alice.cmd("GETQUOTAROOT Team");
    assert.deepEqual(r.lines, ['* QUOTAROOT "Team" ""', `* QUOTA "" (STORAGE ${used} 10240)`]);
    // without "r" no root is named and the owner's root is not readable
    await t.store.setAcl(team.id, BOB, "li");
    r = await bob.cmd(`GETQUOTAROOT ${TEAM}`);
    assert.deepEqual(r.lines, [`* QUOTAROOT ${TEAM}`]);
    r = await bob.cmd(`GETQUOTA "Shared/${USER}"`);
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    r = await bob.cmd(`GETQUOTA "Shared/nobody@example.com"`);
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    await t.store.setAcl(team.id, BOB, "lr");
    await t.store.updateAccount(USER, { quotaBytes: 0 });
  });
  it("RFC 5465 §5.9: a monitored shared mailbox losing l is announced by LIST \\NoAccess, regaining it by LIST", async () => {
    const team = (await t.store.getMailbox(t.accountId, "Team"))!;
    /** the STATUS line of Team as the store has it now */
    const statusLine = async () => {
      const mb = (await t.store.getMailbox(t.accountId, "Team"))!;
      const n = (await t.store.mailboxCounts(mb.id)).messages;
      return `* STATUS ${TEAM} (MESSAGES ${n} UIDNEXT ${mb.uidNext} UIDVALIDITY ${mb.uidValidity})`;
    };
    const r = await bob.cmd(`NOTIFY SET (mailboxes ${TEAM} (MessageNew MessageExpunge))`);
    assert.ok(r.ok, r.text);
    await t.store.setAcl(team.id, BOB, "");
    let lines = await bob.readUntil(/^\* LIST /);
    assert.deepEqual(lines, [`* LIST (\\NoAccess) "/" ${TEAM}`]);
    // while without access: nothing about it
    await appendAs(t.accountId, "Team", "unseen again");
    await t.store.setAcl(team.id, BOB, "lr");
    lines = await bob.readUntil(/^\* STATUS /);
    assert.deepEqual(lines, [`* LIST () "/" ${TEAM}`, await statusLine()]);
    // a mailbox the user never saw is not revealed when its rights change
    await t.store.createMailbox(t.accountId, "Hidden");
    const hidden = (await t.store.getMailbox(t.accountId, "Hidden"))!;
    assert.ok((await bob.cmd(`NOTIFY SET (subtree "Shared/${USER}" (MessageNew MessageExpunge))`)).ok);
    await t.store.setAcl(hidden.id, BOB, "r");
    await t.store.setAcl(hidden.id, BOB, "");
    await appendAs(t.accountId, "Team", "marker 4");
    lines = await bob.readUntil(/^\* STATUS /);
    assert.deepEqual(lines, [await statusLine()]);
    assert.ok((await bob.cmd("NOTIFY NONE")).ok);
    assert.ok((await alice.cmd("DELETE Hidden")).ok);
  });
  it("CATENATE from a shared mailbox without URLAUTH: the grantee's own URL, with r (RFC 4469 with RFC 4314)", async () => {
    const team = (await t.store.getMailbox(t.accountId, "Team"))!;
    const [first] = await t.store.getMessages(team.id, [1]);
    const raw = Buffer.from(await t.store.readMessage(team.id, first!.uid)).toString("latin1");
    await t.store.setAcl(team.id, BOB, "lr");
    const url = `/Shared/${encodeURIComponent(USER)}/Team/;UID=1`;
    let r = await bob.cmd(`APPEND INBOX CATENATE (URL "${url}")`);
    assert.ok(r.ok, r.text);
    const inbox = (await t.store.getMailbox(bobId, "INBOX"))!;
    const copied = await t.store.readMessage(inbox.id, inbox.uidNext - 1);
    assert.equal(Buffer.from(copied).toString("latin1"), raw);
    // "l" without "r": the URL names nothing this user may read
    await t.store.setAcl(team.id, BOB, "l");
    r = await bob.cmd(`APPEND INBOX CATENATE (URL "${url}")`);
    assert.match(r.tagged, /NO \[BADURL /);
    await t.store.setAcl(team.id, BOB, "lr");
  });
  it("SUBSCRIBED covers a shared mailbox the grantee subscribed to (RFC 5465 §6.5)", async () => {
    assert.ok((await bob.cmd(`SUBSCRIBE ${TEAM}`)).ok);
    const r = await bob.cmd("NOTIFY SET (subscribed (MessageNew MessageExpunge))");
    assert.ok(r.ok, r.text);
    await appendAs(t.accountId, "Team", "to subscribers");
    const lines = await bob.readUntil(/^\* STATUS /);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^\\* STATUS "Shared/${USER}/Team" \\(MESSAGES \\d+ `));
    assert.ok((await bob.cmd("NOTIFY NONE")).ok);
    assert.ok((await bob.cmd(`UNSUBSCRIBE ${TEAM}`)).ok);
  });
});
