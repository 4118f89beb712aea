import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, seed, startServer, type TestServer } from "./helpers.ts";

describe("IMAP mailbox commands", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer();
    c = await t.login();
  });
  after(async () => {
    await t.close();
  });

  it("LIST basics: delimiter, *, %, special-use and children attributes", async () => {
    let r = await c.cmd('LIST "" ""');
    assert.deepEqual(r.lines, ['* LIST (\\Noselect) "/" ""']);
    assert.ok((await c.cmd("CREATE Work/Projects/Alpha")).ok);
    r = await c.cmd('LIST "" "*"');
    const names = r.lines.map((l) => /"\/" (.*)$/.exec(l)![1]);
    assert.deepEqual(names, [
      '"INBOX"',
      '"Archive"',
      '"Drafts"',
      '"Junk"',
      '"Sent"',
      '"Trash"',
      '"Work"',
      '"Work/Projects"',
      '"Work/Projects/Alpha"',
    ]);
    assert.ok(r.lines.includes('* LIST (\\HasNoChildren \\Sent) "/" "Sent"'), r.text);
    assert.ok(r.lines.includes('* LIST (\\HasChildren) "/" "Work"'), r.text);
    r = await c.cmd('LIST "" "%"');
    assert.ok(!r.lines.some((l) => l.includes("Projects")));
    r = await c.cmd('LIST "Work/" "%"');
    assert.deepEqual(r.lines, ['* LIST (\\HasChildren) "/" "Work/Projects"']);
    r = await c.cmd('LIST "" "inbox"');
    assert.deepEqual(r.lines, ['* LIST (\\HasNoChildren) "/" "INBOX"']);
  });

  it("LIST-EXTENDED: SUBSCRIBED, RECURSIVEMATCH, SPECIAL-USE, RETURN STATUS", async () => {
    await c.cmd("SUBSCRIBE Work/Projects/Alpha");
    await c.cmd("SUBSCRIBE INBOX");
    let r = await c.cmd('LIST (SUBSCRIBED) "" ("INBOX" "Work*")');
    assert.deepEqual(r.lines, [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Work/Projects/Alpha"',
    ]);
    r = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"');
    assert.ok(r.lines.includes('* LIST (\\HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))'), r.text);
    r = await c.cmd('LIST (SPECIAL-USE) "" "*"');
    assert.equal(r.lines.length, 5);
    r = await c.cmd('LIST "" "*" RETURN (SUBSCRIBED CHILDREN)');
    assert.ok(r.lines.includes('* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"'));
    await seed(t, "INBOX", 2);
    r = await c.cmd('LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN SIZE))');
    assert.equal(r.lines[0], '* LIST (\\HasNoChildren) "/" "INBOX"');
    assert.match(r.lines[1]!, /^\* STATUS "INBOX" \(MESSAGES 2 UNSEEN 2 SIZE \d+\)$/);
    r = await c.cmd('LIST "" ("Sent" "Trash")');
    assert.equal(r.lines.length, 2);
  });

  it("LSUB, UNSUBSCRIBE, RENAME, DELETE, CREATE-SPECIAL-USE", async () => {
    let r = await c.cmd('LSUB "" "*"');
    assert.deepEqual(r.lines, [
      '* LSUB () "/" "INBOX"',
      '* LSUB () "/" "Archive"',
      '* LSUB () "/" "Drafts"',
      '* LSUB () "/" "Junk"',
      '* LSUB () "/" "Sent"',
      '* LSUB () "/" "Trash"',
      '* LSUB () "/" "Work/Projects/Alpha"',
    ]);
    r = await c.cmd('LSUB "" "Work/%"');
    assert.deepEqual(r.lines, ['* LSUB (\\Noselect) "/" "Work/Projects"']);
    assert.ok((await c.cmd("RENAME Work Play")).ok);
    r = await c.cmd('LIST "" "Play/*"');
    assert.equal(r.lines.length, 2);
    assert.match((await c.cmd("RENAME Nope Other")).tagged, /NO \[NONEXISTENT\]/);
    assert.match((await c.cmd("CREATE Play")).tagged, /NO \[ALREADYEXISTS\]/);
    assert.match((await c.cmd("CREATE INBOX")).tagged, /NO/);
    assert.match((await c.cmd("DELETE INBOX")).tagged, /NO/);
    assert.ok((await c.cmd("DELETE Play/Projects/Alpha")).ok);
    assert.ok((await c.cmd("UNSUBSCRIBE INBOX")).ok);
    r = await c.cmd('LIST "" "Play/*"');
    assert.deepEqual(r.lines, ['* LIST (\\HasNoChildren) "/" "Play/Projects"']);
    r = await c.cmd("CREATE MyArchive (USE (\\Archive))");
    assert.ok(r.ok, r.text);
    r = await c.cmd('LIST "" "MyArchive"');
    assert.deepEqual(r.lines, ['* LIST (\\HasNoChildren \\Archive) "/" "MyArchive"']);
    r = await c.cmd("CREATE Bad (USE (\\Bogus))");
    assert.match(r.tagged, /NO \[USEATTR\]/);
  });

  it("non-ASCII names: modified UTF-7 for IMAP4rev1, UTF-8 after ENABLE UTF8=ACCEPT", async () => {
    assert.ok((await c.cmd("CREATE &AMQ-pfel")).ok); // Äpfel
    let r = await c.cmd('LIST "" "&AMQ-*"');
    assert.deepEqual(r.lines, ['* LIST (\\HasNoChildren) "/" "&AMQ-pfel"']);
    const u = await t.login();
    await u.cmd("ENABLE UTF8=ACCEPT");
    r = await u.cmd(Buffer.from('LIST "" "Ä*"\r\n', "utf8"));
    assert.deepEqual(r.lines, [
      Buffer.from('* LIST (\\HasNoChildren) "/" "Äpfel"', "utf8").toString("latin1"),
    ]);
  });

  it("STATUS items, APPENDLIMIT, nonexistent mailbox", async () => {
    // RECENT: no read-write session has selected INBOX yet (RFC 3501 §6.3.10)
    const r = await c.cmd(
      "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)",
    );
    assert.match(
      r.lines[0]!,
      /^\* STATUS "INBOX" \(MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY \d+ UNSEEN 2 DELETED 0 SIZE \d+ HIGHESTMODSEQ \d+ APPENDLIMIT 1048576\)$/,
    );
    assert.match((await c.cmd("STATUS Nope (MESSAGES)")).tagged, /NO \[NONEXISTENT\]/);
    assert.match((await c.cmd("SELECT Nope")).tagged, /NO \[NONEXISTENT\]/);
  });

  it("QUOTA: GETQUOTAROOT/GETQUOTA and OVERQUOTA on APPEND and COPY", async () => {
    let r = await c.cmd("GETQUOTAROOT INBOX");
    // no limits: no quota root (RFC 9208 quota-list is never empty; see hardening-mailbox.test.ts)
    assert.deepEqual(r.lines, ['* QUOTAROOT "INBOX"']);
    await t.store.updateAccount("alice@example.com", { quotaBytes: 10 * 1024, quotaMessages: 3 });
    r = await c.cmd('GETQUOTA ""');
    assert.match(r.lines[0]!, /^\* QUOTA "" \(STORAGE \d+ 10 MESSAGE 2 3\)$/);
    assert.ok((await c.append("INBOX", message("third"))).ok);
    r = await c.append("INBOX", message("fourth"));
    assert.match(r.tagged, /NO \[OVERQUOTA\]/);
    await c.cmd("SELECT INBOX");
    r = await c.cmd("COPY 1 Trash");
    assert.match(r.tagged, /NO \[OVERQUOTA\]/);
    assert.match((await c.cmd('SETQUOTA "" (STORAGE 1)')).tagged, /NO/);
  });
});
