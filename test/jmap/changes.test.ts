/**
 * IMAP ⇄ JMAP parity of the change log: IMAP APPEND, STORE and EXPUNGE seen in Email/changes,
 * Thread/changes and Mailbox/changes; a state below the pruning floor is cannotCalculateChanges.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, message, startJmap } from "./helpers.ts";

describe("JMAP /changes after IMAP writes", () => {
  let t: JmapServer;
  before(async () => {
    t = await startJmap();
  });
  after(() => t.close());

  const changes = async (type: string, sinceState: string): Promise<J> =>
    (await t.call([[`${type}/changes`, { accountId: t.accountId, sinceState }, "c"]]))[0][1];

  it("APPEND creates, STORE updates, EXPUNGE destroys — with the ids Email/get returns", async () => {
    const [[, g0]] = await t.call([["Email/get", { accountId: t.accountId, ids: [] }, "g"]]);
    const s0 = g0.state;
    const c = await t.imap.login();
    assert.ok((await c.append("INBOX", message("via imap"))).ok);
    const created = await changes("Email", s0);
    assert.equal(created.created.length, 1);
    const id = created.created[0];
    const threads = await changes("Thread", s0);
    const [[, g]] = await t.call([
      [
        "Email/get",
        { accountId: t.accountId, ids: [id], properties: ["threadId", "mailboxIds", "subject"] },
        "g",
      ],
    ]);
    assert.equal(g.list[0].subject, "via imap");
    assert.deepEqual(threads.created, [g.list[0].threadId]);
    const mboxes = await changes("Mailbox", s0);
    assert.deepEqual(mboxes.updated, Object.keys(g.list[0].mailboxIds));
    await c.cmd("SELECT INBOX");
    await c.cmd("UID STORE 1 +FLAGS (\\Seen)");
    const upd = await changes("Email", created.newState);
    assert.deepEqual(upd.updated, [id]);
    assert.deepEqual(upd.created, []);
    await c.cmd("UID STORE 1 +FLAGS (\\Deleted)");
    await c.cmd("EXPUNGE");
    const del = await changes("Email", upd.newState);
    assert.deepEqual(del.destroyed, [id]);
    const [[, after]] = await t.call([["Email/get", { accountId: t.accountId, ids: [id] }, "g"]]);
    assert.deepEqual(after.notFound, [id]);
    // maxChanges pages with hasMoreChanges
    await c.append("INBOX", message("p1"));
    await c.append("INBOX", message("p2"));
    const [[, page]] = await t.call([
      ["Email/changes", { accountId: t.accountId, sinceState: del.newState, maxChanges: 1 }, "c"],
    ]);
    assert.equal(page.hasMoreChanges, true);
    assert.equal(page.created.length, 1);
    const rest = await changes("Email", page.newState);
    assert.equal(rest.created.length, 1);
    assert.notEqual(rest.created[0], page.created[0]);
    // history pruned: an old state cannot be answered any more (RFC 8620 §5.2)
    await t.imap.store.pruneHistory(new Date(Date.now() + 60_000));
    assert.equal((await changes("Email", s0)).type, "cannotCalculateChanges");
  });
});
