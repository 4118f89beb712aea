/**
 * ESORT (RFC 5267 §3) and PARTIAL (RFC 9394) for SEARCH and SORT, over a real socket.
 *
 * Mailbox: two messages appended and expunged first, so UIDs (3..8) differ from sequence numbers
 * (1..6). Subjects by UID: 3 c, 4 d, 5 a, 6 b, 7 f, 8 e — SORT (SUBJECT) order is
 * a b c d e f = UIDs 5 6 3 4 8 7 = sequence numbers 3 4 1 2 6 5.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, type Response, startServer, type TestServer } from "./helpers.ts";

const ESEARCH = /^\* ESEARCH \(TAG "(T\d+)"\)(.*)$/;

/** the ESEARCH line's items (after the TAG correlator), checking the correlator is this command's tag */
function esearch(r: Response): string {
  assert.ok(r.ok, r.text);
  const lines = r.lines.filter((l) => l.startsWith("* ESEARCH"));
  assert.equal(lines.length, 1, r.text);
  const m = ESEARCH.exec(lines[0]!);
  assert.ok(m, lines[0]);
  assert.equal(m[1], r.tag);
  return m[2]!.trim();
}

function isBad(r: Response): void {
  assert.ok(r.tagged.startsWith(`${r.tag} BAD`), r.text);
  assert.ok(!r.lines.some((l) => l.startsWith("* ESEARCH") || l.startsWith("* SORT")), r.text);
}

describe("IMAP ESORT and PARTIAL (RFC 5267, RFC 9394)", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer({ limits: { maxBadCommands: 100 } }); // the error cases send many BADs
    c = await t.login();
    await c.append("INBOX", message("gone 1"));
    await c.append("INBOX", message("gone 2"));
    for (const s of ["c", "d", "a", "b", "f", "e"]) await c.append("INBOX", message(s));
    assert.ok((await c.cmd("SELECT INBOX")).ok);
    assert.ok((await c.cmd("STORE 1:2 +FLAGS.SILENT (\\Deleted)")).ok);
    assert.ok((await c.cmd("EXPUNGE")).ok);
    const uids = await c.cmd("UID SEARCH ALL");
    assert.ok(uids.lines.includes("* SEARCH 3 4 5 6 7 8"), uids.text);
  });
  after(async () => {
    await t.close();
  });

  it("advertises ESORT and PARTIAL", async () => {
    const r = await c.cmd("CAPABILITY");
    const caps = r.lines.find((l) => l.startsWith("* CAPABILITY"))!.split(" ");
    assert.ok(caps.includes("ESORT") && caps.includes("PARTIAL"), r.text);
  });

  it("SORT without RETURN still answers * SORT", async () => {
    const r = await c.cmd("SORT (SUBJECT) UTF-8 ALL");
    assert.ok(r.lines.includes("* SORT 3 4 1 2 6 5"), r.text);
    assert.ok(!r.lines.some((l) => l.startsWith("* ESEARCH")), r.text);
  });

  it("ESORT MIN/MAX are first/last in sort order; ALL keeps sort order (sequence numbers)", async () => {
    assert.equal(
      esearch(await c.cmd("SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")),
      "MIN 3 MAX 5 COUNT 6 ALL 3:4,1:2,6,5",
    );
    assert.equal(esearch(await c.cmd("SORT RETURN () (SUBJECT) UTF-8 ALL")), "ALL 3:4,1:2,6,5");
    assert.equal(esearch(await c.cmd("SORT RETURN (ALL) (REVERSE SUBJECT) UTF-8 ALL")), "ALL 5:6,2,1,4,3");
    assert.equal(esearch(await c.cmd("SORT RETURN (COUNT) (SUBJECT) UTF-8 NOT SUBJECT a")), "COUNT 5");
  });

  it("UID ESORT answers with UIDs and the UID marker", async () => {
    assert.equal(
      esearch(await c.cmd("UID SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")),
      "UID MIN 5 MAX 7 COUNT 6 ALL 5:6,3:4,8,7",
    );
    assert.equal(esearch(await c.cmd("UID SORT RETURN (MAX) (REVERSE SUBJECT) UTF-8 ALL")), "UID MAX 5");
    // RFC 7162 §3.1.5: a MODSEQ search key adds the highest mod-sequence of the matches
    const ms = esearch(await c.cmd("UID SORT RETURN (COUNT) (SUBJECT) UTF-8 MODSEQ 1"));
    assert.match(ms, /^UID COUNT 6 MODSEQ [1-9]\d*$/);
  });

  it("ESORT with no match: only COUNT 0", async () => {
    assert.equal(
      esearch(await c.cmd("SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 SUBJECT zz")),
      "COUNT 0",
    );
    assert.equal(esearch(await c.cmd("UID SORT RETURN (ALL) (SUBJECT) UTF-8 SUBJECT zz")), "UID");
  });

  it("SORT PARTIAL pages the sorted result, from the start and from the end", async () => {
    assert.equal(esearch(await c.cmd("SORT RETURN (PARTIAL 2:3) (SUBJECT) UTF-8 ALL")), "PARTIAL (2:3 4,1)");
    assert.equal(
      esearch(await c.cmd("UID SORT RETURN (PARTIAL -1:-2) (SUBJECT) UTF-8 ALL")),
      "UID PARTIAL (-1:-2 8,7)",
    );
    // RFC 9394 §3.1: MIN/MAX/COUNT describe the whole result; a range past the end is cut short
    assert.equal(
      esearch(await c.cmd("UID SORT RETURN (MIN COUNT PARTIAL 5:10) (SUBJECT) UTF-8 ALL")),
      "UID MIN 5 COUNT 6 PARTIAL (5:10 8,7)",
    );
    assert.equal(
      esearch(await c.cmd("SORT RETURN (PARTIAL 7:100) (SUBJECT) UTF-8 ALL")),
      "PARTIAL (7:100 NIL)",
    );
    assert.equal(
      esearch(await c.cmd("SORT RETURN (PARTIAL 1:100) (SUBJECT) UTF-8 SUBJECT zz")),
      "PARTIAL (1:100 NIL)",
    );
  });

  it("SEARCH PARTIAL pages in mailbox order, sequence and UID forms", async () => {
    assert.equal(esearch(await c.cmd("SEARCH RETURN (PARTIAL 2:3) ALL")), "PARTIAL (2:3 2:3)");
    // RFC 9394 §3.1: 3:2 is the same range as 2:3, and the original range is echoed
    assert.equal(esearch(await c.cmd("SEARCH RETURN (PARTIAL 3:2) ALL")), "PARTIAL (3:2 2:3)");
    assert.equal(esearch(await c.cmd("UID SEARCH RETURN (PARTIAL -1:-3) ALL")), "UID PARTIAL (-1:-3 6:8)");
    assert.equal(esearch(await c.cmd("UID SEARCH RETURN (PARTIAL -4:-6) ALL")), "UID PARTIAL (-4:-6 3:5)");
    assert.equal(esearch(await c.cmd("SEARCH RETURN (PARTIAL -6:-100) ALL")), "PARTIAL (-6:-100 1)");
    assert.equal(
      esearch(await c.cmd("UID SEARCH RETURN (MIN MAX COUNT PARTIAL 2:2) NOT SUBJECT a")),
      "UID MIN 3 MAX 8 COUNT 5 PARTIAL (2:2 4)",
    );
  });

  it("SEARCH PARTIAL with no match is PARTIAL (range NIL)", async () => {
    assert.equal(
      esearch(await c.cmd("UID SEARCH RETURN (PARTIAL 1:100) SUBJECT zz")),
      "UID PARTIAL (1:100 NIL)",
    );
    assert.equal(
      esearch(await c.cmd("SEARCH RETURN (COUNT PARTIAL -1:-100) SUBJECT zz")),
      "COUNT 0 PARTIAL (-1:-100 NIL)",
    );
    assert.equal(esearch(await c.cmd("SEARCH RETURN (PARTIAL 7:8) ALL")), "PARTIAL (7:8 NIL)");
  });

  it("SAVE with PARTIAL saves the page; ESORT SAVE with MIN saves the first in sort order", async () => {
    assert.equal(
      esearch(await c.cmd("UID SEARCH RETURN (SAVE PARTIAL -1:-2) ALL")),
      "UID PARTIAL (-1:-2 7:8)",
    );
    assert.equal(esearch(await c.cmd("UID SEARCH RETURN (ALL) UID $")), "UID ALL 7:8");
    assert.equal(esearch(await c.cmd("UID SORT RETURN (SAVE MIN) (SUBJECT) UTF-8 ALL")), "UID MIN 5");
    assert.equal(esearch(await c.cmd("UID SEARCH RETURN (ALL) UID $")), "UID ALL 5");
    const saved = await c.cmd("UID SORT RETURN (SAVE) (REVERSE SUBJECT) UTF-8 SUBJECT b");
    assert.ok(saved.ok && !saved.lines.some((l) => l.startsWith("* ESEARCH")), saved.text);
    assert.equal(esearch(await c.cmd("UID SEARCH RETURN (ALL) UID $")), "UID ALL 6");
  });

  it("malformed PARTIAL and unknown RETURN options are BAD", async () => {
    for (const q of [
      "SEARCH RETURN (PARTIAL 0:10) ALL",
      "SEARCH RETURN (PARTIAL 1:0) ALL",
      "SEARCH RETURN (PARTIAL -0:-5) ALL",
      "SEARCH RETURN (PARTIAL 1:-10) ALL",
      "UID SEARCH RETURN (PARTIAL -1:10) ALL",
      "SEARCH RETURN (PARTIAL 5) ALL",
      "SEARCH RETURN (PARTIAL) ALL",
      "SEARCH RETURN (PARTIAL 1:*) ALL",
      "SEARCH RETURN (PARTIAL 1:4294967296) ALL",
      "SEARCH RETURN (ALL PARTIAL 1:5) ALL",
      "SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL",
      "SEARCH RETURN (FOO) ALL",
      "SEARCH RETURN (UPDATE PARTIAL) ALL",
      "SORT RETURN (PARTIAL 0:1) (SUBJECT) UTF-8 ALL",
      "UID SORT RETURN (PARTIAL -1:2) (SUBJECT) UTF-8 ALL",
      "SORT RETURN (PARTIAL 1:2 ALL) (SUBJECT) UTF-8 ALL",
      "SORT RETURN (CONTEXTS) (SUBJECT) UTF-8 ALL",
      "SORT RETURN (MIN (SUBJECT) UTF-8 ALL",
    ]) {
      isBad(await c.cmd(q));
    }
    // the session still works afterwards
    assert.equal(esearch(await c.cmd("SEARCH RETURN (COUNT) ALL")), "COUNT 6");
  });
});
