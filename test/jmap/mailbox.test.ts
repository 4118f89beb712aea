/** JMAP Mailbox/* (RFC 8621 §2) over real HTTP, against the same store IMAP serves. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, message, startJmap } from "./helpers.ts";

describe("JMAP Mailbox", () => {
  let t: JmapServer;
  let acc: string;
  before(async () => {
    t = await startJmap();
    acc = t.accountId;
  });
  after(() => t.close());

  const byName = (list: J[], name: string) => list.find((m: J) => m.name === name);

  it("Mailbox/get: roles from special-use, ids = IMAP MAILBOXID, counts without \\Deleted", async () => {
    const inbox = (await t.imap.store.getMailbox(t.imap.accountId, "INBOX"))!;
    const raw = (s: string) => ({ raw: Buffer.from(message(s)) });
    await t.imap.store.append(t.imap.accountId, inbox.id, raw("one"));
    await t.imap.store.append(t.imap.accountId, inbox.id, { ...raw("two"), flags: ["\\Seen"] });
    await t.imap.store.append(t.imap.accountId, inbox.id, { ...raw("three"), flags: ["\\Deleted"] });
    const [[, r]] = await t.call([["Mailbox/get", { accountId: acc, ids: null }, "0"]]);
    const roles = Object.fromEntries(r.list.map((m: J) => [m.name, m.role]));
    assert.equal(roles.INBOX, "inbox");
    assert.equal(roles.Drafts, "drafts");
    assert.equal(roles.Sent, "sent");
    assert.equal(roles.Trash, "trash");
    assert.equal(roles.Junk, "junk");
    const ib = byName(r.list, "INBOX");
    const c = await t.imap.login();
    const st = await c.cmd("STATUS INBOX (MAILBOXID MESSAGES)");
    assert.ok(st.text.includes(`MAILBOXID (${ib.id})`), st.text);
    assert.ok(st.text.includes("MESSAGES 3"), st.text);
    // RFC 8621 §4.1.1: the \Deleted message is not visible through JMAP
    assert.equal(ib.totalEmails, 2);
    assert.equal(ib.unreadEmails, 1);
    assert.equal(ib.totalThreads, 2);
    assert.equal(ib.unreadThreads, 1);
    assert.equal(ib.myRights.mayDelete, true);
    assert.equal(typeof ib.isSubscribed, "boolean");
    assert.equal(ib.parentId, null);
  });

  it("Mailbox/set create (nested, #ref), update, destroy and Mailbox/changes", async () => {
    const [[, g0]] = await t.call([["Mailbox/get", { accountId: acc, ids: [] }, "0"]]);
    const state0 = g0.state;
    const res = await t.call([
      [
        "Mailbox/set",
        {
          accountId: acc,
          create: { p: { name: "Projects" }, k: { name: "Kid", parentId: "#p", isSubscribed: true } },
        },
        "s",
      ],
      ["Mailbox/get", { accountId: acc }, "g"],
    ]);
    const created = res[0][1].created;
    assert.ok(created.p.id && created.k.id);
    const kid = res[1][1].list.find((m: J) => m.id === created.k.id);
    assert.equal(kid.parentId, created.p.id);
    assert.equal(kid.isSubscribed, true);
    assert.ok(await t.imap.store.getMailbox(t.imap.accountId, "Projects/Kid"));
    const [[, ch]] = await t.call([["Mailbox/changes", { accountId: acc, sinceState: state0 }, "c"]]);
    assert.deepEqual([...ch.created].sort(), [created.p.id, created.k.id].sort());
    const [[, bad]] = await t.call([
      [
        "Mailbox/set",
        { accountId: acc, destroy: [created.p.id], update: { [created.k.id]: { name: "a/b" } } },
        "x",
      ],
    ]);
    assert.equal(bad.notDestroyed[created.p.id].type, "mailboxHasChild");
    assert.equal(bad.notUpdated[created.k.id].type, "invalidProperties");
    const inboxId = (
      await t.call([["Mailbox/query", { accountId: acc, filter: { role: "inbox" } }, "q"]])
    )[0][1].ids[0];
    const [[, fixed]] = await t.call([
      [
        "Mailbox/set",
        {
          accountId: acc,
          update: {
            [inboxId]: { name: "Elsewhere" },
            [created.p.id]: { sortOrder: 5 },
            [created.k.id]: { sortOrder: 10 },
          },
        },
        "f",
      ],
    ]);
    assert.equal(fixed.notUpdated[inboxId].type, "forbidden");
    assert.equal(fixed.notUpdated[created.p.id].type, "invalidProperties");
    assert.ok(created.k.id in fixed.updated);
    const [[, up]] = await t.call([
      [
        "Mailbox/set",
        { accountId: acc, update: { [created.k.id]: { name: "Renamed", parentId: null } } },
        "u",
      ],
    ]);
    assert.ok(created.k.id in up.updated);
    assert.ok(await t.imap.store.getMailbox(t.imap.accountId, "Renamed"));
    const renamed = (await t.imap.store.getMailbox(t.imap.accountId, "Renamed"))!;
    await t.imap.store.append(t.imap.accountId, renamed.id, { raw: Buffer.from(message("in renamed")) });
    const [[, d1]] = await t.call([["Mailbox/set", { accountId: acc, destroy: [created.k.id] }, "d"]]);
    assert.equal(d1.notDestroyed[created.k.id].type, "mailboxHasEmail");
    const [[, d2]] = await t.call([
      [
        "Mailbox/set",
        { accountId: acc, destroy: [created.k.id], onDestroyRemoveEmails: true, ifInState: d1.newState },
        "d",
      ],
    ]);
    assert.deepEqual(d2.destroyed, [created.k.id]);
    const [[, stale]] = await t.call([
      ["Mailbox/set", { accountId: acc, ifInState: state0, destroy: [] }, "d"],
    ]);
    assert.equal(stale.type, "stateMismatch");
    const [[, ch2]] = await t.call([["Mailbox/changes", { accountId: acc, sinceState: d1.newState }, "c"]]);
    assert.ok(ch2.destroyed.includes(created.k.id));
    const [[, bogus]] = await t.call([["Mailbox/changes", { accountId: acc, sinceState: "nonsense" }, "c"]]);
    assert.equal(bogus.type, "cannotCalculateChanges");
  });

  it("Mailbox/query filter and sort; queryChanges cannot calculate", async () => {
    const [[, q], [, qc]] = await t.call([
      [
        "Mailbox/query",
        { accountId: acc, filter: { hasAnyRole: true }, sort: [{ property: "name" }], calculateTotal: true },
        "q",
      ],
      ["Mailbox/queryChanges", { accountId: acc, sinceQueryState: "x" }, "qc"],
    ]);
    assert.ok(q.total >= 5);
    assert.equal(q.ids.length, q.total);
    assert.equal(qc.type, "cannotCalculateChanges");
    const [[, bad]] = await t.call([
      ["Mailbox/query", { accountId: acc, sort: [{ property: "color" }] }, "q"],
    ]);
    assert.equal(bad.type, "unsupportedSort");
  });
});
