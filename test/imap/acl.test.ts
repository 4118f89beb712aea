/**
 * ACL (RFC 4314) and shared mailboxes over a real socket: the ACL commands and their errors,
 * the other users' namespace (NAMESPACE, LIST, SELECT, STATUS, APPEND, COPY, MOVE), the rights
 * each command needs (NO [NOPERM], or NONEXISTENT without "l"), quota charged to the owner, and
 * IDLE both ways between the owner and a grantee on a shared mailbox.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type Client,
  message,
  PASS,
  type Response,
  seed,
  startServer,
  type TestServer,
  USER,
} from "./helpers.ts";

const BOB = "bob@example.com";
const SH = `Shared/${USER}`;

/** the next line that is not a RECENT count (IMAP4rev1 sessions get them with new messages) */
async function nextUpdate(c: Client): Promise<string> {
  for (;;) {
    const l = await c.readLine();
    if (!/^\* \d+ RECENT$/.test(l)) return l;
  }
}

function tagged(r: Response): string {
  return r.tagged.slice(r.tag.length + 1);
}

describe("IMAP ACL (RFC 4314) and shared mailboxes", () => {
  let t: TestServer;
  let alice: Client;
  let bob: Client;
  let bobId: number;
  before(async () => {
    t = await startServer();
    alice = await t.login();
    bob = await t.connect();
    assert.ok((await bob.cmd(`LOGIN ${BOB} ${PASS}`)).ok);
    bobId = (await t.store.getAccount(BOB))!.id;
    await t.store.createMailbox(t.accountId, "Team");
    await t.store.createMailbox(t.accountId, "Private");
    await seed(t, "Team", 3);
  });
  after(async () => {
    await t.close();
  });

  it("advertises ACL and RIGHTS=texk, and the other users' namespace", async () => {
    const r = await alice.cmd("CAPABILITY");
    assert.match(r.lines[0]!, / ACL( |$)/);
    assert.match(r.lines[0]!, / RIGHTS=texk( |$)/);
    const n = await alice.cmd("NAMESPACE");
    assert.deepEqual(n.lines, ['* NAMESPACE (("" "/")) (("Shared/" "/")) NIL']);
  });

  it("names below Shared/ are the other users' namespace; older personal ones stay reachable", async () => {
    let r = await alice.cmd('CREATE "Shared/new"');
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    r = await alice.cmd("CREATE Shared");
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    await t.store.createMailbox(t.accountId, "Shared/old"); // made before sharing existed
    r = await alice.cmd('SELECT "Shared/old"');
    assert.ok(r.ok, r.text);
    assert.ok((await alice.cmd("UNSELECT")).ok);
    r = await bob.cmd('SELECT "Shared/old"');
    assert.equal(tagged(r), "NO [NONEXISTENT] Mailbox does not exist");
  });

  it("the owner has every right; GETACL lists the owner", async () => {
    let r = await alice.cmd("MYRIGHTS Team");
    assert.deepEqual(r.lines, ['* MYRIGHTS "Team" lrswipkxteacd']);
    r = await alice.cmd("GETACL Team");
    assert.deepEqual(r.lines, [`* ACL "Team" "${USER}" lrswipkxteacd`]);
    r = await alice.cmd(`LISTRIGHTS Team ${BOB}`);
    assert.deepEqual(r.lines, [`* LISTRIGHTS "Team" "${BOB}" "" l r s w i p k x t e a c d`]);
    r = await alice.cmd(`LISTRIGHTS Team ${USER}`);
    assert.deepEqual(r.lines, [`* LISTRIGHTS "Team" "${USER}" lrswipkxteacd`]);
  });

  it("an unshared mailbox stays invisible to others", async () => {
    let r = await bob.cmd('LIST "" "*"');
    assert.ok(!r.text.includes("Shared/"), r.text);
    r = await bob.cmd(`SELECT "${SH}/Team"`);
    assert.equal(tagged(r), "NO [NONEXISTENT] Mailbox does not exist");
    r = await bob.cmd(`GETACL "${SH}/Team"`);
    assert.equal(tagged(r), "NO [NONEXISTENT] Mailbox does not exist");
  });

  it("SETACL syntax and semantic errors", async () => {
    let r = await alice.cmd(`SETACL Team ${BOB} lrz`);
    assert.match(tagged(r), /^BAD /);
    r = await alice.cmd(`SETACL Team ${BOB}`);
    assert.match(tagged(r), /^BAD /);
    r = await alice.cmd("GETACL");
    assert.match(tagged(r), /^BAD /);
    r = await alice.cmd("SETACL Team nobody@example.com lr");
    assert.equal(tagged(r), "NO [NONEXISTENT] No such identifier");
    r = await alice.cmd(`SETACL Team ${USER} lr`);
    assert.match(tagged(r), /^NO \[CANNOT\]/);
    r = await alice.cmd(`SETACL Team -${BOB} lr`);
    assert.match(tagged(r), /^NO \[CANNOT\]/);
    r = await alice.cmd(`SETACL Nope ${BOB} lr`);
    assert.match(tagged(r), /^NO \[NONEXISTENT\]/);
  });

  it("read-only sharing: LIST, SELECT, FETCH without \\Seen, no STORE/EXPUNGE/APPEND", async () => {
    assert.ok((await alice.cmd(`SETACL Team ${BOB} lr`)).ok);
    let r = await alice.cmd("GETACL Team");
    assert.deepEqual(r.lines, [`* ACL "Team" "${USER}" lrswipkxteacd "${BOB}" lr`]);
    r = await bob.cmd('LIST "" "*"');
    assert.ok(r.lines.includes(`* LIST (\\HasNoChildren) "/" "${SH}/Team"`), r.text);
    assert.ok(!r.text.includes("Private"), r.text);
    r = await bob.cmd(`MYRIGHTS "${SH}/Team"`);
    assert.deepEqual(r.lines, [`* MYRIGHTS "${SH}/Team" lr`]);
    r = await bob.cmd(`STATUS "${SH}/Team" (MESSAGES UNSEEN)`);
    assert.deepEqual(r.lines, [`* STATUS "${SH}/Team" (MESSAGES 3 UNSEEN 3)`]);
    r = await bob.cmd(`SELECT "${SH}/Team"`);
    assert.ok(r.ok, r.text);
    assert.match(tagged(r), /^OK \[READ-ONLY\]/); // no right to change anything
    r = await bob.cmd("FETCH 1 (BODY[])");
    assert.ok(r.ok, r.text);
    r = await bob.cmd("FETCH 1 (FLAGS)");
    assert.ok(!r.text.includes("\\Seen"), r.text); // RFC 4314 §4: \Seen only with "s"
    r = await bob.cmd(`GETACL "${SH}/Team"`);
    assert.equal(tagged(r), "NO [NOPERM] Permission denied: a");
    r = await bob.append(`${SH}/Team`, message("nope"));
    assert.equal(tagged(r), "NO [NOPERM] Permission denied: i");
    r = await bob.cmd(`CREATE "${SH}/Team/Sub"`);
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    r = await bob.cmd(`DELETE "${SH}/Team"`);
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    assert.ok((await bob.cmd("UNSELECT")).ok);
  });

  it("per-kind STORE rights, EXPUNGE needs e, COPY/MOVE need i and t+e", async () => {
    assert.ok((await alice.cmd(`SETACL Team ${BOB} +s`)).ok);
    let r = await alice.cmd("GETACL Team");
    assert.ok(r.lines[0]!.endsWith(`"${BOB}" lrs`), r.text);
    r = await bob.cmd(`SELECT "${SH}/Team"`);
    assert.match(tagged(r), /^OK \[READ-WRITE\]/);
    assert.ok(r.lines.includes("* OK [PERMANENTFLAGS (\\Seen)] Flags permitted"), r.text);
    r = await bob.cmd("STORE 1 +FLAGS (\\Seen)");
    assert.ok(r.ok, r.text);
    r = await bob.cmd("STORE 1 +FLAGS (\\Flagged)");
    assert.equal(tagged(r), "NO [NOPERM] Permission denied: change these flags");
    r = await bob.cmd("STORE 1 +FLAGS (\\Deleted)");
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    r = await bob.cmd("STORE 1 FLAGS (\\Seen)");
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    r = await bob.cmd("EXPUNGE");
    assert.equal(tagged(r), "NO [NOPERM] Permission denied: expunge");
    // COPY out of a shared mailbox into bob's own INBOX works (the copy is bob's)
    r = await bob.cmd("COPY 1 INBOX");
    assert.ok(r.ok, r.text);
    r = await bob.cmd("MOVE 1 INBOX");
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    // alice's counters are untouched by bob's copy; bob's INBOX has it
    assert.equal((await t.store.mailboxCounts((await t.store.getMailbox(bobId, "INBOX"))!.id)).messages, 1);
    // COPY into the shared mailbox needs "i" there
    r = await bob.cmd("SELECT INBOX");
    r = await bob.cmd(`COPY 1 "${SH}/Team"`);
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    assert.ok((await bob.cmd("UNSELECT")).ok);
  });

  it("SUBSCRIBE/UNSUBSCRIBE a shared mailbox; LSUB and LIST (SUBSCRIBED) show it", async () => {
    let r = await bob.cmd(`SUBSCRIBE "${SH}/Private"`);
    assert.equal(tagged(r), "NO [NONEXISTENT] Mailbox does not exist");
    r = await bob.cmd(`SUBSCRIBE "${SH}/Team"`);
    assert.ok(r.ok, r.text);
    r = await bob.cmd('LSUB "" "Shared/*"');
    assert.deepEqual(r.lines, [`* LSUB () "/" "${SH}/Team"`]);
    r = await bob.cmd('LIST (SUBSCRIBED) "" "*"');
    assert.ok(
      r.lines.includes(`* LIST (\\Subscribed \\HasNoChildren) "/" "${SH}/Team"`) ||
        r.lines.includes(`* LIST (\\HasNoChildren \\Subscribed) "/" "${SH}/Team"`),
      r.text,
    );
    assert.ok((await bob.cmd(`UNSUBSCRIBE "${SH}/Team"`)).ok);
    r = await bob.cmd('LSUB "" "Shared/*"');
    assert.deepEqual(r.lines, []);
  });

  it("a rights change applies to a selected grantee from its next command", async () => {
    assert.ok((await bob.cmd(`SELECT "${SH}/Team"`)).ok);
    assert.ok((await bob.cmd("FETCH 1 (FLAGS)")).ok);
    assert.ok((await alice.cmd(`SETACL Team ${BOB} l`)).ok);
    let r = await bob.cmd("FETCH 1 (FLAGS)");
    assert.equal(tagged(r), "NO [NOPERM] Access to the selected mailbox was withdrawn");
    r = await bob.cmd("UID SEARCH ALL");
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    assert.ok((await alice.cmd(`SETACL Team ${BOB} lrs`)).ok);
    r = await bob.cmd("STORE 1 -FLAGS (\\Seen)");
    assert.ok(r.ok, r.text);
    assert.ok((await alice.cmd(`SETACL Team ${BOB} lr`)).ok);
    r = await bob.cmd("STORE 1 +FLAGS (\\Seen)");
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    assert.ok((await bob.cmd("UNSELECT")).ok);
  });

  it("full rights: APPEND is charged to the owner's quota, MOVE, EXPUNGE, CREATE below, DELETE", async () => {
    assert.ok((await alice.cmd(`SETACL Team ${BOB} lrswipkxte`)).ok);
    const before = (await t.store.getAccountById(t.accountId))!;
    const bobBefore = (await t.store.getAccountById(bobId))!;
    let r = await bob.append(`${SH}/Team`, message("from bob"));
    assert.ok(r.ok, r.text);
    const afterA = (await t.store.getAccountById(t.accountId))!;
    const afterB = (await t.store.getAccountById(bobId))!;
    assert.equal(afterA.usedMessages, before.usedMessages + 1);
    assert.equal(afterB.usedMessages, bobBefore.usedMessages);
    // COPY from bob's own mailbox into the shared one: charged to alice as well
    assert.ok((await bob.cmd("SELECT INBOX")).ok);
    r = await bob.cmd(`COPY 1 "${SH}/Team"`);
    assert.ok(r.ok, r.text);
    assert.equal((await t.store.getAccountById(t.accountId))!.usedMessages, before.usedMessages + 2);
    assert.equal((await t.store.getAccountById(bobId))!.usedMessages, bobBefore.usedMessages);
    r = await bob.cmd(`SELECT "${SH}/Team"`);
    assert.ok(r.ok);
    assert.ok(r.lines.includes("* 5 EXISTS"), r.text);
    r = await bob.cmd("MOVE 5 INBOX");
    assert.ok(r.ok, r.text);
    r = await bob.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert.ok(r.ok, r.text);
    r = await bob.cmd("EXPUNGE");
    assert.ok(r.lines.includes("* 1 EXPUNGE"), r.text);
    r = await bob.cmd(`CREATE "${SH}/Team/Sub"`);
    assert.ok(r.ok, r.text);
    assert.ok(await t.store.getMailbox(t.accountId, "Team/Sub"));
    // a new mailbox starts with its parent's ACL, so bob can use what he created
    r = await bob.cmd(`MYRIGHTS "${SH}/Team/Sub"`);
    assert.deepEqual(r.lines, [`* MYRIGHTS "${SH}/Team/Sub" lrswipkxtecd`]);
    r = await bob.cmd(`CREATE "${SH}/Top"`);
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    r = await bob.cmd(`GETACL "${SH}/Team"`);
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    // GETQUOTAROOT: the owner has no quota limit here, so no root (see ext-interplay.test.ts)
    r = await bob.cmd(`GETQUOTAROOT "${SH}/Team"`);
    assert.deepEqual(r.lines, [`* QUOTAROOT "${SH}/Team"`]);
    // RENAME needs "x" on the old name and "k" on the new parent, within the owner's mailboxes
    assert.ok((await alice.cmd(`SETACL Team/Sub ${BOB} lrx`)).ok);
    r = await bob.cmd(`RENAME "${SH}/Team/Sub" "${SH}/Team/Sub2"`);
    assert.ok(r.ok, r.text);
    assert.ok(await t.store.getMailbox(t.accountId, "Team/Sub2"));
    r = await bob.cmd(`RENAME "${SH}/Team/Sub2" Mine`);
    assert.match(tagged(r), /^NO \[CANNOT\]/);
    r = await bob.cmd(`RENAME "${SH}/Team/Sub2" "${SH}/Top"`);
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    r = await bob.cmd(`RENAME "${SH}/Team/Sub2" "${SH}/Team/Sub"`);
    assert.ok(r.ok, r.text);
    // DELETE needs "x" on the mailbox itself
    assert.ok((await alice.cmd(`SETACL Team/Sub ${BOB} lr`)).ok);
    r = await bob.cmd(`DELETE "${SH}/Team/Sub"`);
    assert.match(tagged(r), /^NO \[NOPERM\]/);
    assert.ok((await alice.cmd(`SETACL Team/Sub ${BOB} +x`)).ok);
    r = await bob.cmd(`DELETE "${SH}/Team/Sub"`);
    assert.ok(r.ok, r.text);
    assert.equal(await t.store.getMailbox(t.accountId, "Team/Sub"), null);
  });

  it('"l" alone: listed, but no SELECT, STATUS or LIST-STATUS counts', async () => {
    assert.ok((await alice.cmd("SETACL Private anyone l")).ok);
    let r = await bob.cmd('LIST "" "Shared/*" RETURN (STATUS (MESSAGES))');
    assert.ok(r.ok, r.text);
    assert.ok(r.lines.includes(`* LIST (\\HasNoChildren) "/" "${SH}/Private"`), r.text);
    assert.ok(!r.lines.some((l) => l.startsWith(`* STATUS "${SH}/Private"`)), r.text);
    assert.ok(
      r.lines.some((l) => l.startsWith(`* STATUS "${SH}/Team" (MESSAGES `)),
      r.text,
    );
    r = await bob.cmd(`SELECT "${SH}/Private"`);
    assert.equal(tagged(r), "NO [NOPERM] Permission denied: r");
    r = await bob.cmd(`STATUS "${SH}/Private" (MESSAGES)`);
    assert.equal(tagged(r), "NO [NOPERM] Permission denied: r");
    assert.ok((await alice.cmd("DELETEACL Private anyone")).ok);
  });

  it("anyone and DELETEACL", async () => {
    assert.ok((await alice.cmd("SETACL Private anyone lr")).ok);
    let r = await bob.cmd('LIST "" "Shared/*"');
    assert.ok(
      r.lines.some((l) => l.endsWith(`"${SH}/Private"`)),
      r.text,
    );
    assert.ok((await alice.cmd("DELETEACL Private anyone")).ok);
    r = await bob.cmd('LIST "" "Shared/*"');
    assert.ok(!r.text.includes("Private"), r.text);
    r = await alice.cmd("DELETEACL Private ANYONE");
    assert.ok(r.ok, r.text); // nothing to remove is fine
    assert.ok((await alice.cmd("SETACL Private -anyone r")).tagged.includes("CANNOT"));
    assert.deepEqual(await t.store.getAcl((await t.store.getMailbox(t.accountId, "Private"))!.id), []);
  });

  it("IDLE: the grantee sees the owner's changes and the owner sees the grantee's", async () => {
    await t.store.createMailbox(t.accountId, "Live");
    await seed(t, "Live", 1);
    assert.ok((await alice.cmd(`SETACL Live ${BOB} lrswite`)).ok);
    const a2 = await t.login();
    const b2 = await t.connect();
    assert.ok((await b2.cmd(`LOGIN ${BOB} ${PASS}`)).ok);
    assert.ok((await b2.cmd(`SELECT "${SH}/Live"`)).ok);
    assert.ok((await a2.cmd("SELECT Live")).ok);
    // bob idles, alice changes
    b2.write("B1 IDLE\r\n");
    assert.match(await b2.readLine(), /^\+ /);
    assert.ok((await alice.append("Live", message("new for bob"))).ok);
    assert.equal(await b2.readLine(), "* 2 EXISTS");
    assert.ok((await a2.cmd("STORE 1 +FLAGS (\\Flagged)")).ok);
    assert.match(await nextUpdate(b2), /^\* 1 FETCH \(FLAGS \(.*\\Flagged.*\)\)$/);
    b2.write("DONE\r\n");
    assert.match(await nextUpdate(b2), /^B1 OK/);
    // alice idles, bob changes
    a2.write("A1 IDLE\r\n");
    assert.match(await a2.readLine(), /^\+ /);
    assert.ok((await b2.cmd("STORE 2 +FLAGS (\\Seen)")).ok);
    assert.match(await nextUpdate(a2), /^\* 2 FETCH \(FLAGS \(.*\\Seen.*\)\)$/);
    assert.ok((await bob.append(`${SH}/Live`, message("new for alice"))).ok);
    assert.equal(await a2.readLine(), "* 3 EXISTS");
    a2.write("DONE\r\n");
    assert.match(await nextUpdate(a2), /^A1 OK/);
  });
});
