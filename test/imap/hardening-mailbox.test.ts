/**
 * Issue 9 (mailbox commands): LIST/LSUB patterns matched in bounded work, malformed modified
 * UTF-7 names answered NO, QUOTA without limits, STATUS MAILBOXID, CHILDINFO without redundant
 * LIST responses. Real sockets against the server of test/imap/helpers.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, startServer, type TestServer } from "./helpers.ts";

const names = (lines: string[]) => lines.map((l) => /"\/" (.*?)(?: \(.*\))?$/.exec(l)?.[1]);

describe("IMAP mailbox hardening (issue 9)", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer();
    c = await t.login();
    for (const n of [
      "aaaaaaaaaaaaaaaa",
      "aaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaa",
      "Work/Projects/Alpha",
      "Work/Beta",
    ])
      assert.ok((await c.cmd(`CREATE "${n}"`)).ok, n);
  });
  after(async () => {
    await t.close();
  });

  describe("LIST patterns without backtracking", () => {
    it('LIST "" "*%*%*%*%*%*%*%*%x" and far longer patterns are answered', async () => {
      // with the RegExp matcher this pattern froze the worker for seconds on a 16-character name
      let r = await c.cmd('LIST "" "*%*%*%*%*%*%*%*%x"');
      assert.ok(r.ok, r.tagged);
      assert.deepEqual(r.lines, []);
      // ... and this one never finished (the test client gives up after 5 s)
      const long = `${"*%".repeat(2000)}x`;
      r = await c.cmd(`LIST "" "${long}"`);
      assert.ok(r.ok, r.tagged);
      assert.deepEqual(r.lines, []);
      r = await c.cmd(`LIST "" "${"*%".repeat(2000)}aa"`);
      assert.deepEqual(names(r.lines), ['"aaaaaaaaaaaaaaaa"', '"aaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaa"']);
      r = await c.cmd(`LIST "" "${"%a".repeat(16)}"`);
      assert.deepEqual(names(r.lines), ['"aaaaaaaaaaaaaaaa"']);
      // the session and the server are still fine
      assert.ok((await c.cmd("NOOP")).ok);
      const other = await t.login();
      assert.ok((await other.cmd("NOOP")).ok);
    });

    it("LSUB and LIST-EXTENDED (several patterns, SUBSCRIBED, RECURSIVEMATCH) use the same matcher", async () => {
      await c.cmd('SUBSCRIBE "aaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaa"');
      const evil = `"${"*%".repeat(1500)}x"`;
      let r = await c.cmd(`LSUB "" ${evil}`);
      assert.ok(r.ok, r.tagged);
      assert.deepEqual(r.lines, []);
      r = await c.cmd(`LIST (SUBSCRIBED RECURSIVEMATCH) "" (${evil} ${evil} "a%")`);
      assert.ok(r.ok, r.tagged);
      assert.deepEqual(r.lines, [
        '* LIST (\\HasChildren) "/" "aaaaaaaaaaaaaaaa" ("CHILDINFO" ("SUBSCRIBED"))',
      ]);
      r = await c.cmd(`LIST "" (${evil} "Work/%") RETURN (CHILDREN)`);
      assert.deepEqual(names(r.lines), ['"Work/Beta"', '"Work/Projects"']);
      // LSUB with "%": the unsubscribed parent of a subscribed child is \Noselect (RFC 3501 §6.3.9)
      r = await c.cmd('LSUB "" "a%"');
      assert.deepEqual(r.lines, ['* LSUB (\\Noselect) "/" "aaaaaaaaaaaaaaaa"']);
      await c.cmd('UNSUBSCRIBE "aaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaa"');
    });

    it("reference + pattern, INBOX in any case, % stops at the delimiter", async () => {
      let r = await c.cmd('LIST "Work/" "%"');
      assert.deepEqual(names(r.lines), ['"Work/Beta"', '"Work/Projects"']);
      r = await c.cmd('LIST "Work" "/*"'); // RFC 9051 §6.3.9: a pattern starting with "/" ignores the reference
      assert.deepEqual(r.lines, []);
      r = await c.cmd('LIST "" "iNbOx"');
      assert.deepEqual(names(r.lines), ['"INBOX"']);
      r = await c.cmd('LIST "" "in%"');
      assert.deepEqual(names(r.lines), ['"INBOX"']);
      r = await c.cmd('LIST "" "W*a"');
      assert.deepEqual(names(r.lines), ['"Work/Beta"', '"Work/Projects/Alpha"']);
      r = await c.cmd('LIST "" "W%a"');
      assert.deepEqual(r.lines, []);
    });
  });

  describe("malformed modified UTF-7 names (RFC 3501 §5.1.3) are NO, not BAD", () => {
    for (const [cmd, why] of [
      ['SELECT "&Jjo"', "unterminated shift"],
      ['EXAMINE "&Jj-"', "fewer bits than one UTF-16 unit"],
      ['CREATE "&AGE-&AGE-"', "two adjacent encoded runs"],
      ['CREATE "&AEE-"', "an encoded direct character (non-canonical)"],
      ['CREATE "a&-b&Z"', "unterminated shift after a valid one"],
      ['STATUS "&2D0-" (MESSAGES)', "an unpaired surrogate"],
      ['DELETE "&Jjo"', "DELETE"],
      ['RENAME "Work/Beta" "&Jjo"', "RENAME target"],
      ['SUBSCRIBE "&Jjo"', "SUBSCRIBE"],
      ['GETQUOTAROOT "&Jjo"', "GETQUOTAROOT"],
    ]) {
      it(`${cmd}: ${why}`, async () => {
        const r = await c.cmd(cmd!);
        assert.match(r.tagged, / NO \[CANNOT\] Invalid modified UTF-7 mailbox name$/, r.text);
      });
    }

    it("APPEND to a malformed name is NO; the session goes on; a valid name still works", async () => {
      const r = await c.cmd('APPEND "&Jjo" {5+}\r\nhello');
      assert.match(r.tagged, / NO \[CANNOT\]/);
      assert.ok((await c.cmd('CREATE "&Jjo-"')).ok); // ☺, canonical
      assert.match((await c.cmd('LIST "" "&Jjo-"')).text, /^\* LIST \(\\HasNoChildren\) "\/" "&Jjo-"$/m);
      assert.ok((await c.cmd('DELETE "&Jjo-"')).ok);
    });
  });

  describe("QUOTA (RFC 9208) without limits", () => {
    it("no quota root and no empty resource list; real limits are reported", async () => {
      let r = await c.cmd("GETQUOTAROOT INBOX");
      assert.ok(r.ok, r.tagged);
      assert.deepEqual(r.lines, ['* QUOTAROOT "INBOX"']);
      r = await c.cmd('GETQUOTA ""');
      assert.match(r.tagged, / NO \[NONEXISTENT\]/);
      assert.deepEqual(r.lines, []);
      await t.store.updateAccount("alice@example.com", { quotaMessages: 7 });
      r = await c.cmd("GETQUOTAROOT Work/Beta");
      assert.deepEqual(r.lines, ['* QUOTAROOT "Work/Beta" ""', '* QUOTA "" (MESSAGE 0 7)']);
      r = await c.cmd('GETQUOTA ""');
      assert.deepEqual(r.lines, ['* QUOTA "" (MESSAGE 0 7)']);
      await t.store.updateAccount("alice@example.com", { quotaMessages: 0 });
      assert.deepEqual((await c.cmd("GETQUOTAROOT INBOX")).lines, ['* QUOTAROOT "INBOX"']);
    });
  });

  describe("STATUS MAILBOXID (RFC 8474 §4)", () => {
    it("STATUS and LIST RETURN (STATUS) give the MAILBOXID of SELECT and CREATE", async () => {
      const created = await c.cmd("CREATE Ids");
      const id = /\[MAILBOXID \((\S+)\)\]/.exec(created.tagged)?.[1];
      assert.ok(id, created.tagged);
      let r = await c.cmd("STATUS Ids (MESSAGES MAILBOXID)");
      assert.ok(r.ok, r.tagged);
      assert.deepEqual(r.lines, [`* STATUS "Ids" (MESSAGES 0 MAILBOXID (${id}))`]);
      r = await c.cmd('LIST "" "Ids" RETURN (STATUS (MAILBOXID))');
      assert.deepEqual(r.lines, ['* LIST (\\HasNoChildren) "/" "Ids"', `* STATUS "Ids" (MAILBOXID (${id}))`]);
      const inbox = /^\* STATUS "INBOX" \(MAILBOXID \((\S+)\)\)$/m.exec(
        (await c.cmd("STATUS INBOX (MAILBOXID)")).text,
      );
      assert.ok(inbox);
      assert.notEqual(inbox[1], id);
      const sel = await c.cmd("EXAMINE INBOX");
      assert.ok(sel.lines.includes(`* OK [MAILBOXID (${inbox[1]})] Ok`), sel.text);
      await c.cmd("UNSELECT");
      assert.ok((await c.cmd("DELETE Ids")).ok);
    });
  });

  describe("LIST-EXTENDED CHILDINFO (RFC 5258 §3.5)", () => {
    it("a parent is listed for CHILDINFO only when a matching child is not returned itself", async () => {
      await c.cmd("SUBSCRIBE Work/Projects/Alpha");
      try {
        // "Work*" returns the subscribed child itself: no extra lines for Work or Work/Projects
        let r = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Work*"');
        assert.deepEqual(r.lines, ['* LIST (\\HasNoChildren \\Subscribed) "/" "Work/Projects/Alpha"']);
        // "Wor%" does not return it: Work carries CHILDINFO
        r = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Wor%"');
        assert.deepEqual(r.lines, ['* LIST (\\HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))']);
        // several patterns: one of them returns the child, so Work is redundant
        r = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" ("Wor%" "Work/Projects/*")');
        assert.deepEqual(r.lines, ['* LIST (\\HasNoChildren \\Subscribed) "/" "Work/Projects/Alpha"']);
        // a parent that meets the criteria itself keeps its line, with CHILDINFO (RFC 9051 §6.3.9 table)
        await c.cmd("SUBSCRIBE Work");
        r = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Wor%"');
        assert.deepEqual(r.lines, [
          '* LIST (\\HasChildren \\Subscribed) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))',
        ]);
        // without RECURSIVEMATCH there is never CHILDINFO
        r = await c.cmd('LIST (SUBSCRIBED) "" "Wor%"');
        assert.deepEqual(r.lines, ['* LIST (\\HasChildren \\Subscribed) "/" "Work"']);
      } finally {
        await c.cmd("UNSUBSCRIBE Work");
        await c.cmd("UNSUBSCRIBE Work/Projects/Alpha");
      }
    });
  });
});
