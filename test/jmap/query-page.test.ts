/**
 * JMAP Email/query's mailbox page (issue 12): `{inMailbox}` newest first, answered from the
 * store's (mailbox, internal date) index, must give what the general path gives for the same
 * query (written as an AND of one condition, which takes the general path): order with equal
 * receivedAt, \Deleted hidden, other mailboxes left out, position / negative position / limit,
 * calculateTotal. Email/get and Thread/get by id read the named rows only, and agree with IMAP.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, message, startJmap } from "./helpers.ts";

describe("JMAP Email/query mailbox page", () => {
  let t: JmapServer;
  let acc: string;
  let inbox: string;
  before(async () => {
    t = await startJmap();
    acc = t.accountId;
    const s = t.imap.store;
    const inboxId = (await s.getMailbox(t.imap.accountId, "INBOX"))!.id;
    const other = await s.createMailbox(t.imap.accountId, "Other");
    const days = [3, 1, 5, 3, 4, 2, 3, 6, 3];
    // threads: 0 ← 3 ← 7, 1 ← 5, 2 ← 8 (2 is \Deleted: 8 stands alone in INBOX), 4 ← 6 (6 \Deleted)
    const parent: Record<number, number> = { 3: 0, 7: 3, 5: 1, 8: 2, 6: 4 };
    for (const [i, d] of days.entries())
      await s.append(t.imap.accountId, inboxId, {
        raw: Buffer.from(
          `From: a@example.org\r\nSubject: m${i}\r\nMessage-ID: <q${i}@example.org>\r\n` +
            (parent[i] !== undefined ? `In-Reply-To: <q${parent[i]}@example.org>\r\n` : "") +
            `\r\nbody ${i}\r\n`,
        ),
        internalDate: new Date(Date.UTC(2024, 0, d)),
        flags: i === 2 || i === 6 ? ["\\Deleted"] : [],
      });
    // a copy elsewhere and a message only elsewhere
    await s.copy(inboxId, [1], other.id);
    await s.append(t.imap.accountId, other.id, {
      raw: Buffer.from(message("elsewhere", "x\r\n")),
      internalDate: new Date(Date.UTC(2024, 0, 9)),
    });
    const [[, m]] = await t.call([["Mailbox/query", { accountId: acc, filter: { role: "inbox" } }, "m"]]);
    inbox = m.ids[0];
  });
  after(() => t.close());

  async function query(args: J): Promise<J> {
    const [[name, r]] = await t.call([
      ["Email/query", { accountId: acc, calculateTotal: true, ...args }, "q"],
    ]);
    assert.equal(name, "Email/query", JSON.stringify(r));
    return r;
  }
  const page = (extra: J) => query({ filter: { inMailbox: inbox }, ...extra });
  const general = (extra: J) =>
    query({ filter: { operator: "AND", conditions: [{ inMailbox: inbox }] }, ...extra });

  it("answers as the general path does", async () => {
    const cases: J[] = [
      {},
      { sort: [{ property: "receivedAt", isAscending: false }] },
      { position: 2, limit: 3 },
      { position: -2 },
      { position: 6, limit: 5 },
      { position: 40 },
      { limit: 0 },
      { collapseThreads: true },
      { collapseThreads: true, position: 1, limit: 2 },
      { collapseThreads: true, position: -1 },
      { collapseThreads: true, position: 9 },
      { collapseThreads: true, position: 9, calculateTotal: false },
      { collapseThreads: true, position: 2, calculateTotal: false },
    ];
    for (const c of cases) {
      const a = await page(c);
      const b = await general(c);
      assert.deepEqual(
        { ids: a.ids, total: a.total, position: a.position, queryState: a.queryState },
        { ids: b.ids, total: b.total, position: b.position, queryState: b.queryState },
        JSON.stringify(c),
      );
    }
    const all = await page({});
    assert.equal(all.total, 7, "\\Deleted rows hidden, other mailboxes left out");
    assert.equal(new Set(all.ids).size, 7);
    assert.equal((await page({ collapseThreads: true })).total, 4, "threads of visible messages");
  });

  it("Email/get and Thread/get by id agree with the mailbox page and IMAP", async () => {
    const all = await page({});
    const [[, g], [, th]] = await t.call([
      [
        "Email/get",
        { accountId: acc, ids: [...all.ids, "Mnosuch"], properties: ["mailboxIds", "threadId"] },
        "g",
      ],
      [
        "Thread/get",
        { accountId: acc, "#ids": { resultOf: "g", name: "Email/get", path: "/list/*/threadId" } },
        "t",
      ],
    ]);
    assert.deepEqual(
      g.list.map((e: J) => e.id),
      all.ids,
    );
    assert.deepEqual(g.notFound, ["Mnosuch"]);
    // the copied message is in two mailboxes
    assert.equal(g.list.filter((e: J) => Object.keys(e.mailboxIds).length === 2).length, 1);
    assert.equal(th.notFound.length, 0);
    for (const tr of th.list) assert.ok(tr.emailIds.length >= 1);
    const c = await t.imap.login();
    await c.cmd("SELECT INBOX");
    const f = await c.cmd("UID FETCH 1:* (EMAILID)");
    for (const id of all.ids) assert.ok(f.text.includes(`EMAILID (${id})`), id);
  });
});
