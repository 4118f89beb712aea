/** Email/import, Email/parse (RFC 8621 §4.8, §4.9) and SearchSnippet/get (§5) over real HTTP. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { highlight } from "../../src/jmap/mail/email-import.ts";
import { type J, type JmapServer, message, startJmap } from "./helpers.ts";

describe("JMAP Email/import, Email/parse, SearchSnippet/get", () => {
  let t: JmapServer;
  let acc: string;
  let mailboxes: J[];
  before(async () => {
    t = await startJmap();
    acc = t.accountId;
    [[, { list: mailboxes }]] = await t.call([["Mailbox/get", { accountId: acc }, "m"]]);
  });
  after(() => t.close());

  const role = (r: string) => mailboxes.find((m: J) => m.role === r).id;

  async function upload(body: string): Promise<string> {
    const r = await fetch(`${t.base}/jmap/upload/${acc}/`, {
      method: "POST",
      headers: { authorization: t.auth(), "content-type": "message/rfc822" },
      body,
    });
    assert.equal(r.status, 201);
    return ((await r.json()) as { blobId: string }).blobId;
  }

  it("imports an uploaded message into two mailboxes with keywords; IMAP sees one EMAILID in both", async () => {
    const blobId = await upload(message("imported <one>", "imported body\r\n"));
    const [[, r], [, g]] = await t.call([
      [
        "Email/import",
        {
          accountId: acc,
          emails: {
            a: {
              blobId,
              mailboxIds: { [role("inbox")]: true, [role("archive")]: true },
              keywords: { $seen: true },
              receivedAt: "2024-05-01T12:00:00Z",
            },
            b: { blobId: "Unope", mailboxIds: { [role("inbox")]: true } },
            c: { blobId, mailboxIds: { nope: true } },
          },
        },
        "i",
      ],
      [
        "Email/get",
        { accountId: acc, ids: ["#a"], properties: ["mailboxIds", "keywords", "receivedAt", "subject"] },
        "g",
      ],
    ]);
    assert.equal(r.notCreated.b.type, "blobNotFound");
    assert.equal(r.notCreated.c.type, "invalidProperties");
    const id = r.created.a.id;
    assert.equal(g.list[0].id, id);
    assert.deepEqual(g.list[0].keywords, { $seen: true });
    assert.equal(Object.keys(g.list[0].mailboxIds).length, 2);
    assert.equal(g.list[0].receivedAt, "2024-05-01T12:00:00Z");
    const c = await t.imap.login();
    for (const mb of ["INBOX", "Archive"]) {
      await c.cmd(`SELECT ${mb}`);
      const f = await c.cmd("UID FETCH 1:* (EMAILID FLAGS)");
      assert.ok(f.text.includes(`EMAILID (${id})`) && f.text.includes("\\Seen"), f.text);
    }
  });

  it("Email/parse of an upload and of a stored Email; SearchSnippet/get", async () => {
    const blobId = await upload(message("parse me", "parsed body\r\n"));
    const [[, p]] = await t.call([
      [
        "Email/parse",
        {
          accountId: acc,
          blobIds: [blobId, "Unope"],
          properties: ["subject", "from", "id", "bodyValues", "textBody"],
          fetchTextBodyValues: true,
        },
        "p",
      ],
    ]);
    const e = p.parsed[blobId];
    assert.equal(e.subject, "parse me");
    assert.equal(e.id, null);
    assert.deepEqual(e.from, [{ name: "Alice", email: "alice@example.org" }]);
    assert.equal(e.bodyValues[e.textBody[0].partId].value, "parsed body\r\n");
    assert.deepEqual(p.notFound, ["Unope"]);
    const [[, q]] = await t.call([["Email/query", { accountId: acc, filter: { subject: "imported" } }, "q"]]);
    const [[, s]] = await t.call([
      [
        "SearchSnippet/get",
        { accountId: acc, filter: { text: "imported" }, emailIds: [...q.ids, "nope"] },
        "s",
      ],
    ]);
    assert.equal(s.list[0].subject, "<mark>imported</mark> &lt;one&gt;");
    assert.equal(s.list[0].preview, "<mark>imported</mark> body");
    assert.deepEqual(s.notFound, ["nope"]);
    assert.equal(highlight("abc", ["x"]), null);
  });
});
