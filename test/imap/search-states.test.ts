/**
 * SEARCH programs of flag, modseq and set keys evaluated over the store's message states
 * (commands/search.ts searchStates): the same answers as the metadata path (a SIZE key forces
 * it), with keywords matched case-insensitively, messages expunged by another session but not
 * yet announced left out, and changes by another session seen by the next SEARCH.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, seed, startServer, type TestServer } from "./helpers.ts";

describe("SEARCH over message states", () => {
  let t: TestServer;
  let a: Client;
  let b: Client;
  before(async () => {
    t = await startServer();
    await seed(t, "INBOX", 8);
    a = await t.login();
    b = await t.login();
    for (const c of [a, b]) assert.ok((await c.cmd("SELECT INBOX")).ok);
    assert.ok((await a.cmd("STORE 1:3 +FLAGS (\\Seen)")).ok);
    assert.ok((await a.cmd("STORE 2,5 +FLAGS ($Work)")).ok);
    assert.ok((await a.cmd("STORE 6 +FLAGS (\\Flagged \\Deleted)")).ok);
  });
  after(async () => {
    a.destroy();
    b.destroy();
    await t.close();
  });

  const search = async (c: Client, q: string) => {
    const r = await c.cmd(q);
    assert.ok(r.ok, r.text);
    return r.lines.filter((l) => l.startsWith("* SEARCH"));
  };

  it("answers flag programs as the metadata path does", async () => {
    for (const q of [
      "UNSEEN",
      "SEEN",
      "KEYWORD $work",
      "UNKEYWORD $WORK",
      "OR FLAGGED KEYWORD $Work",
      "NOT DELETED UNSEEN",
      "2:6 UNSEEN",
      "UID 1:4 SEEN",
      "ALL",
    ]) {
      const viaStates = await search(a, `SEARCH ${q}`);
      // LARGER 0 matches every message but needs metadata rows: the other evaluation path
      const viaMeta = await search(a, `SEARCH ${q} LARGER 0`);
      assert.deepEqual(viaStates, viaMeta, q);
    }
    assert.deepEqual(await search(a, "SEARCH UNSEEN"), ["* SEARCH 4 5 6 7 8"]);
    assert.deepEqual(await search(a, "SEARCH KEYWORD $WORK"), ["* SEARCH 2 5"]);
    assert.deepEqual(await search(a, "UID SEARCH NOT DELETED UNSEEN"), ["* SEARCH 4 5 7 8"]);
  });

  it("MODSEQ keys report the highest modseq of the matches", async () => {
    const viaStates = await search(a, "SEARCH MODSEQ 1 KEYWORD $Work");
    const viaMeta = await search(a, "SEARCH MODSEQ 1 KEYWORD $Work LARGER 0");
    assert.deepEqual(viaStates, viaMeta);
    assert.match(viaStates[0]!, /^\* SEARCH 2 5 \(MODSEQ \d+\)$/);
  });

  it("sees another session's changes; leaves out its unannounced expunges", async () => {
    assert.ok((await b.cmd("STORE 4 +FLAGS (\\Seen)")).ok);
    assert.ok((await b.cmd("STORE 7 +FLAGS (\\Deleted)")).ok);
    assert.ok((await b.cmd("EXPUNGE")).ok); // expunges 6 and 7
    // SEARCH may not announce EXPUNGE (RFC 9051 §7.5): a still numbers 8 messages, the gone ones
    // left out of the result
    assert.deepEqual(await search(a, "SEARCH UNSEEN"), ["* SEARCH 5 8"]);
    assert.deepEqual(await search(a, "SEARCH 6:8"), ["* SEARCH 8"]);
    assert.ok((await a.cmd("NOOP")).ok);
    assert.deepEqual(await search(a, "SEARCH UNSEEN"), ["* SEARCH 5 6"]);
    assert.deepEqual(await search(a, "UID SEARCH UNSEEN"), ["* SEARCH 5 8"]);
  });
});
