/**
 * UID FETCH with the PARTIAL modifier (RFC 9394 §3.3, §3.4 with CHANGEDSINCE) and the SAVE rules
 * of SEARCH RETURN (SAVE PARTIAL …) (RFC 9394 §3.2), over a real socket.
 *
 * Mailbox: eight messages, the first two expunged, so UIDs 3..8 are sequence numbers 1..6.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, type Response, startServer, type TestServer } from "./helpers.ts";

/** UIDs of the FETCH lines of a response, in the order sent */
function fetchedUids(r: Response): number[] {
  assert.ok(r.ok, r.text);
  return r.lines
    .filter((l) => / FETCH \(/.test(l))
    .map((l) => Number(/UID (\d+)/.exec(l)?.[1] ?? Number.NaN));
}

function isBad(r: Response): void {
  assert.ok(r.tagged.startsWith(`${r.tag} BAD`), r.text);
  assert.ok(!r.lines.some((l) => / FETCH \(/.test(l)), r.text);
}

describe("IMAP UID FETCH PARTIAL (RFC 9394 §3.3)", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer({ limits: { maxBadCommands: 100 } });
    c = await t.login();
    for (let i = 1; i <= 8; i++) await c.append("INBOX", message(`m${i}`));
    assert.ok((await c.cmd("SELECT INBOX")).ok);
    assert.ok((await c.cmd("STORE 1:2 +FLAGS.SILENT (\\Deleted)")).ok);
    assert.ok((await c.cmd("EXPUNGE")).ok);
  });
  after(async () => {
    await t.close();
  });

  it("is advertised as PARTIAL", async () => {
    const r = await c.cmd("CAPABILITY");
    assert.ok(r.lines[0]!.split(" ").includes("PARTIAL"), r.text);
  });

  it("pages from the first of the named UIDs", async () => {
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 1:* (FLAGS) (PARTIAL 1:2)")), [3, 4]);
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 1:* (FLAGS) (PARTIAL 3:4)")), [5, 6]);
    // the range's ends in either order (RFC 9394 §4: 500:400 is 400:500)
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 1:* (FLAGS) (PARTIAL 4:3)")), [5, 6]);
    // positions count among the messages named, not the mailbox
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 5:7 (FLAGS) (PARTIAL 2:5)")), [6, 7]);
  });

  it("negative ranges count from the highest UID", async () => {
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 1:* (UID FLAGS) (PARTIAL -1:-3)")), [6, 7, 8]);
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 3:6 (UID) (PARTIAL -2:-1)")), [5, 6]);
    // sequence numbers in the FETCH lines are the mailbox's own
    const r = await c.cmd("UID FETCH 1:* (FLAGS) (PARTIAL -1:-1)");
    assert.ok(
      r.lines.some((l) => l.startsWith("* 6 FETCH (") && l.includes("UID 8")),
      r.text,
    );
  });

  it("a range beyond the messages returns what exists, or nothing", async () => {
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 1:* (FLAGS) (PARTIAL 5:100)")), [7, 8]);
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 1:* (FLAGS) (PARTIAL 7:100)")), []);
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 1:* (FLAGS) (PARTIAL -100:-6)")), [3]);
    assert.deepEqual(fetchedUids(await c.cmd("UID FETCH 100:200 (FLAGS) (PARTIAL 1:10)")), []);
  });

  it("with CHANGEDSINCE the positions count among the changed messages (§3.4), in either order", async () => {
    const before = await c.cmd("UID FETCH 8 (MODSEQ)");
    const ms = Number(/MODSEQ \((\d+)\)/.exec(before.lines.find((l) => l.includes(" FETCH ("))!)![1]);
    assert.ok((await c.cmd("UID STORE 3,5,7 +FLAGS.SILENT (\\Flagged)")).ok);
    assert.deepEqual(
      fetchedUids(await c.cmd(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${ms} PARTIAL 1:2)`)),
      [3, 5],
    );
    assert.deepEqual(
      fetchedUids(await c.cmd(`UID FETCH 1:* (FLAGS) (PARTIAL -1:-1 CHANGEDSINCE ${ms})`)),
      [7],
    );
  });

  it("errors: FETCH without UID, zero, mixed signs, *, twice, missing range: BAD", async () => {
    for (const cmd of [
      "FETCH 1:* (FLAGS) (PARTIAL 1:2)",
      "UID FETCH 1:* (FLAGS) (PARTIAL 0:2)",
      "UID FETCH 1:* (FLAGS) (PARTIAL -1:2)",
      "UID FETCH 1:* (FLAGS) (PARTIAL 1:*)",
      "UID FETCH 1:* (FLAGS) (PARTIAL 1:2 PARTIAL 3:4)",
      "UID FETCH 1:* (FLAGS) (PARTIAL)",
      "UID FETCH 1:* (FLAGS) (PARTIAL 5)",
    ]) {
      isBad(await c.cmd(cmd));
    }
  });
});

describe("SEARCH RETURN (SAVE PARTIAL …): what $ holds (RFC 9394 §3.2)", () => {
  let t: TestServer;
  let c: Client;
  /** the UIDs $ holds now */
  async function saved(): Promise<string> {
    const r = await c.cmd("UID SEARCH UID $");
    assert.ok(r.ok, r.text);
    return r.lines.find((l) => l.startsWith("* SEARCH"))!;
  }
  before(async () => {
    t = await startServer();
    c = await t.login();
    for (let i = 1; i <= 6; i++) await c.append("INBOX", message(`m${i}`));
    assert.ok((await c.cmd("SELECT INBOX")).ok);
  });
  after(async () => {
    await t.close();
  });

  it("PARTIAL alone: the page", async () => {
    assert.ok((await c.cmd("UID SEARCH RETURN (SAVE PARTIAL 2:3) ALL")).ok);
    assert.equal(await saved(), "* SEARCH 2 3");
  });

  it("PARTIAL with MIN and/or MAX: the page and those messages", async () => {
    assert.ok((await c.cmd("UID SEARCH RETURN (SAVE PARTIAL 3:4 MIN) ALL")).ok);
    assert.equal(await saved(), "* SEARCH 1 3 4");
    assert.ok((await c.cmd("UID SEARCH RETURN (SAVE MAX PARTIAL 2:2) ALL")).ok);
    assert.equal(await saved(), "* SEARCH 2 6");
    assert.ok((await c.cmd("UID SEARCH RETURN (SAVE MIN MAX PARTIAL -3:-3) ALL")).ok);
    assert.equal(await saved(), "* SEARCH 1 4 6");
  });

  it("PARTIAL with COUNT: every match", async () => {
    const r = await c.cmd("UID SEARCH RETURN (SAVE COUNT PARTIAL 1:2) ALL");
    assert.ok(
      r.lines.some((l) => l.endsWith("UID COUNT 6 PARTIAL (1:2 1:2)")),
      r.text,
    );
    assert.equal(await saved(), "* SEARCH 1 2 3 4 5 6");
  });
});
