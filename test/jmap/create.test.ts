/** Email/set create (RFC 8621 §4.6): drafts built from JSON, read back through JMAP and IMAP. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeWords } from "../../src/jmap/mail/email-create.ts";
import { type J, type JmapServer, startJmap } from "./helpers.ts";

describe("JMAP Email/set create", () => {
  let t: JmapServer;
  let acc: string;
  let drafts: string;
  before(async () => {
    t = await startJmap();
    acc = t.accountId;
    const [[, mbs]] = await t.call([["Mailbox/get", { accountId: acc }, "m"]]);
    drafts = mbs.list.find((m: J) => m.role === "drafts").id;
  });
  after(() => t.close());

  it("a draft with text, html and an uploaded attachment round-trips", async () => {
    const up = await fetch(`${t.base}/jmap/upload/${acc}/`, {
      method: "POST",
      headers: { authorization: t.auth(), "content-type": "application/octet-stream" },
      body: Buffer.from([0, 1, 2, 250]),
    });
    const { blobId } = (await up.json()) as { blobId: string };
    const [[, s], [, g]] = await t.call([
      [
        "Email/set",
        {
          accountId: acc,
          create: {
            d: {
              mailboxIds: { [drafts]: true },
              keywords: { $draft: true, $seen: true },
              from: [{ name: "Älice Ö", email: "alice@example.com" }],
              to: [{ name: "Bob", email: "bob@example.com" }],
              subject: "Grüße aus dem Entwurf",
              "header:X-Mailer": "jmap test",
              textBody: [{ partId: "t", type: "text/plain" }],
              htmlBody: [{ partId: "h", type: "text/html" }],
              bodyValues: { t: { value: "Hallo Welt – ünïcode\n" }, h: { value: "<p>Hallo</p>" } },
              attachments: [{ blobId, type: "application/x-test", name: "data.bin" }],
            },
            bad: { mailboxIds: {}, subject: "x" },
            badHeader: { mailboxIds: { [drafts]: true }, subject: "a\r\nBcc: evil@example.org" },
          },
        },
        "s",
      ],
      [
        "Email/get",
        {
          accountId: acc,
          ids: ["#d"],
          properties: [
            "subject",
            "from",
            "keywords",
            "mailboxIds",
            "textBody",
            "htmlBody",
            "attachments",
            "bodyValues",
            "header:X-Mailer:asText",
          ],
          fetchAllBodyValues: true,
        },
        "g",
      ],
    ]);
    assert.equal(s.notCreated.bad.type, "invalidProperties");
    assert.equal(s.notCreated.badHeader.type, "invalidProperties");
    const e = g.list[0];
    assert.equal(e.id, s.created.d.id);
    assert.equal(e.subject, "Grüße aus dem Entwurf");
    assert.deepEqual(e.from, [{ name: "Älice Ö", email: "alice@example.com" }]);
    assert.deepEqual(e.keywords, { $draft: true, $seen: true });
    assert.deepEqual(Object.keys(e.mailboxIds), [drafts]);
    assert.equal(e["header:X-Mailer:asText"], "jmap test");
    assert.equal(e.bodyValues[e.textBody[0].partId].value, "Hallo Welt – ünïcode\r\n");
    assert.equal(e.bodyValues[e.htmlBody[0].partId].value, "<p>Hallo</p>");
    assert.equal(e.attachments[0].name, "data.bin");
    assert.equal(e.attachments[0].type, "application/x-test");
    const part = await fetch(`${t.base}/jmap/download/${acc}/${e.attachments[0].blobId}/x`, {
      headers: { authorization: t.auth() },
    });
    assert.deepEqual([...new Uint8Array(await part.arrayBuffer())], [0, 1, 2, 250]);
    const c = await t.imap.login();
    await c.cmd("SELECT Drafts");
    const f = await c.cmd("UID FETCH 1 (FLAGS EMAILID BODY.PEEK[HEADER.FIELDS (BCC)])");
    assert.ok(f.text.includes(`EMAILID (${e.id})`) && f.text.includes("\\Draft"), f.text);
    assert.ok(!f.text.includes("evil"), f.text);
  });

  it("encodes non-ASCII header text as RFC 2047 words of at most 75 characters", () => {
    assert.equal(encodeWords("plain"), "plain");
    const enc = encodeWords("ü".repeat(100));
    for (const w of enc.split(" ")) assert.ok(w.length <= 75 && w.startsWith("=?UTF-8?B?"), w);
  });
});
