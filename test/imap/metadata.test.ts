/**
 * METADATA and METADATA-SERVER (RFC 5464) over a real socket: SETMETADATA / GETMETADATA on a
 * mailbox and on the server, DEPTH, MAXSIZE with LONGENTRIES, removal with NIL, the limits
 * (TOOMANY, MAXSIZE), bad entry names, and what DELETE and RENAME do to a mailbox's entries.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, type Response, startServer, type TestServer } from "./helpers.ts";

function tagged(r: Response): string {
  return r.tagged.slice(r.tag.length + 1);
}

describe("IMAP METADATA (RFC 5464)", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer({ limits: { maxMetadataSize: 100, maxMetadataEntries: 4 } });
    c = await t.login();
  });
  after(async () => {
    await t.close();
  });

  it("advertises METADATA and METADATA-SERVER after login", async () => {
    const r = await c.cmd("CAPABILITY");
    assert.match(r.lines[0]!, / METADATA( |$)/);
    assert.match(r.lines[0]!, / METADATA-SERVER( |$)/);
  });

  it("sets and gets a mailbox entry (names compare case-insensitively)", async () => {
    let r = await c.cmd('SETMETADATA INBOX (/private/Comment "My own comment")');
    assert.ok(r.ok, r.text);
    r = await c.cmd("GETMETADATA INBOX /PRIVATE/comment");
    assert.ok(r.ok, r.text);
    assert.deepEqual(r.lines, ['* METADATA "INBOX" (/private/comment "My own comment")']);
    // replaced, not duplicated
    assert.ok((await c.cmd('SETMETADATA INBOX (/private/comment "second")')).ok);
    r = await c.cmd("GETMETADATA INBOX (/private/comment /shared/comment)");
    assert.deepEqual(r.lines, ['* METADATA "INBOX" (/private/comment "second" /shared/comment NIL)']);
  });

  it('sets and gets server entries on mailbox "" (METADATA-SERVER), values as literals', async () => {
    let r = await c.cmd('SETMETADATA "" (/shared/comment {5+}\r\nhello /private/vendor/x "a\\"b")');
    assert.ok(r.ok, r.text);
    r = await c.cmd('GETMETADATA "" (/shared/comment /private/vendor/x)');
    assert.ok(r.ok, r.text);
    assert.deepEqual(r.lines, ['* METADATA "" (/shared/comment "hello" /private/vendor/x "a\\"b")']);
    // the server's entries are not INBOX's
    r = await c.cmd("GETMETADATA INBOX /shared/comment");
    assert.deepEqual(r.lines, ['* METADATA "INBOX" (/shared/comment NIL)']);
  });

  it("DEPTH 0, 1 and infinity", async () => {
    assert.ok(
      (await c.cmd('SETMETADATA Drafts (/shared/a "1" /shared/a/b "2" /shared/a/b/c "3" /shared/ab "4")')).ok,
    );
    let r = await c.cmd("GETMETADATA Drafts /shared/a");
    assert.deepEqual(r.lines, ['* METADATA "Drafts" (/shared/a "1")']);
    r = await c.cmd("GETMETADATA (DEPTH 1) Drafts /shared/a");
    assert.deepEqual(r.lines, ['* METADATA "Drafts" (/shared/a "1" /shared/a/b "2")']);
    r = await c.cmd("GETMETADATA (DEPTH infinity) Drafts /shared/a");
    assert.deepEqual(r.lines, ['* METADATA "Drafts" (/shared/a "1" /shared/a/b "2" /shared/a/b/c "3")']);
    r = await c.cmd("GETMETADATA (DEPTH infinity) Drafts /shared");
    assert.deepEqual(r.lines, [
      '* METADATA "Drafts" (/shared NIL /shared/a "1" /shared/a/b "2" /shared/a/b/c "3" /shared/ab "4")',
    ]);
  });

  it("MAXSIZE leaves out longer values and says LONGENTRIES with the largest", async () => {
    assert.ok((await c.cmd('SETMETADATA Sent (/private/s "12" /private/l "123456" /private/m "1234")')).ok);
    const r = await c.cmd("GETMETADATA (MAXSIZE 3 DEPTH 1) Sent /private");
    assert.ok(r.ok, r.text);
    assert.deepEqual(r.lines, ['* METADATA "Sent" (/private NIL /private/s "12")']);
    assert.match(tagged(r), /^OK \[METADATA LONGENTRIES 6\] /);
    const all = await c.cmd("GETMETADATA (MAXSIZE 6) Sent (/private/l /private/m)");
    assert.match(tagged(all), /^OK GETMETADATA/);
    assert.deepEqual(all.lines, ['* METADATA "Sent" (/private/l "123456" /private/m "1234")']);
  });

  it("NIL removes an entry", async () => {
    assert.ok((await c.cmd("SETMETADATA Sent (/private/m NIL /private/none NIL)")).ok);
    const r = await c.cmd("GETMETADATA (DEPTH 1) Sent /private");
    assert.deepEqual(r.lines, ['* METADATA "Sent" (/private NIL /private/l "123456" /private/s "12")']);
  });

  it("NO [METADATA MAXSIZE n] for a value over the limit, nothing stored", async () => {
    const r = await c.cmd(`SETMETADATA Sent (/private/ok "x" /private/big "${"x".repeat(101)}")`);
    assert.match(tagged(r), /^NO \[METADATA MAXSIZE 100\] /);
    const g = await c.cmd("GETMETADATA Sent (/private/ok /private/big)");
    assert.deepEqual(g.lines, ['* METADATA "Sent" (/private/ok NIL /private/big NIL)']);
  });

  it("NO [METADATA TOOMANY] beyond the entries limit, all or nothing; replacing still works", async () => {
    // Sent holds 2 entries; limit 4
    let r = await c.cmd('SETMETADATA Sent (/shared/1 "a" /shared/2 "b" /shared/3 "c")');
    assert.match(tagged(r), /^NO \[METADATA TOOMANY\] /);
    r = await c.cmd("GETMETADATA (DEPTH infinity) Sent /shared");
    assert.deepEqual(r.lines, ['* METADATA "Sent" (/shared NIL)']);
    assert.ok((await c.cmd('SETMETADATA Sent (/shared/1 "a" /shared/2 "b")')).ok);
    assert.ok((await c.cmd('SETMETADATA Sent (/shared/1 "a2")')).ok, "replacing adds no entry");
    // removing one makes room in the same command
    assert.ok((await c.cmd('SETMETADATA Sent (/shared/1 NIL /shared/3 "c")')).ok);
    // the limit is per mailbox: another mailbox still takes entries
    assert.ok((await c.cmd('SETMETADATA Trash (/shared/1 "a")')).ok);
  });

  it("BAD for malformed entry names and syntax", async () => {
    for (const cmd of [
      'SETMETADATA INBOX (/private/a* "x")',
      'SETMETADATA INBOX (/private/a% "x")',
      'SETMETADATA INBOX (/private//a "x")',
      'SETMETADATA INBOX (/private/a/ "x")',
      'SETMETADATA INBOX (/other/a "x")',
      'SETMETADATA INBOX (/private "x")',
      'SETMETADATA INBOX ("/private/\xe4" "x")',
      "SETMETADATA INBOX (/private/a atom)",
      "SETMETADATA INBOX ()",
      "GETMETADATA INBOX private/a",
      "GETMETADATA (DEPTH 2) INBOX /private/a",
      "GETMETADATA (MAXSIZE 1 MAXSIZE 2) INBOX /private/a",
      "GETMETADATA INBOX",
    ]) {
      // a fresh session each: several BADs in a row end a session (max_bad_commands)
      const b = await t.login();
      const r = await b.cmd(cmd);
      assert.match(tagged(r), /^BAD /, cmd);
      await b.cmd("LOGOUT");
    }
  });

  it("NO [NONEXISTENT] for a mailbox that does not exist", async () => {
    let r = await c.cmd("GETMETADATA Nope /private/a");
    assert.match(tagged(r), /^NO \[NONEXISTENT\] /);
    r = await c.cmd('SETMETADATA Nope (/private/a "x")');
    assert.match(tagged(r), /^NO \[NONEXISTENT\] /);
  });

  it("persists across connections; other accounts do not see it", async () => {
    const c2 = await t.login();
    const r = await c2.cmd('GETMETADATA "" /shared/comment');
    assert.deepEqual(r.lines, ['* METADATA "" (/shared/comment "hello")']);
    const bob = await t.connect();
    assert.ok((await bob.cmd("LOGIN bob@example.com secret")).ok);
    const b = await bob.cmd('GETMETADATA "" /shared/comment');
    assert.deepEqual(b.lines, ['* METADATA "" (/shared/comment NIL)']);
  });

  it("entries stay with a renamed mailbox and go with a deleted one", async () => {
    assert.ok((await c.cmd("CREATE Proj")).ok);
    assert.ok((await c.cmd('SETMETADATA Proj (/private/comment "project")')).ok);
    assert.ok((await c.cmd("RENAME Proj Proj2")).ok);
    let r = await c.cmd("GETMETADATA Proj2 /private/comment");
    assert.deepEqual(r.lines, ['* METADATA "Proj2" (/private/comment "project")']);
    assert.ok((await c.cmd("DELETE Proj2")).ok);
    assert.ok((await c.cmd("CREATE Proj2")).ok);
    r = await c.cmd("GETMETADATA Proj2 /private/comment");
    assert.deepEqual(r.lines, ['* METADATA "Proj2" (/private/comment NIL)']);
  });
});
