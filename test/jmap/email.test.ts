/** JMAP Email/* and Thread/* (RFC 8621 §3, §4) over real HTTP, with IMAP on the same store. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, message, startJmap } from "./helpers.ts";

const MULTI =
  'From: "Carol Q" <carol@example.org>\r\nTo: Bob <bob@example.com>, dave@example.net\r\n' +
  "Cc: =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>\r\nSubject: Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
  "Date: Tue, 2 Jan 2024 11:00:00 +0100\r\nMessage-ID: <multi.1@example.org>\r\nIn-Reply-To: <root@example.org>\r\n" +
  "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
  "--XX\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n" +
  "--YY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nH=C3=A4llo plain world\r\n" +
  "--YY\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hallo <b>html</b></p>\r\n--YY--\r\n" +
  "--XX\r\nContent-Type: application/pdf; name=doc.pdf\r\nContent-Disposition: attachment; filename=doc.pdf\r\n" +
  "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n";

describe("JMAP Email and Thread", () => {
  let t: JmapServer;
  let acc: string;
  let inboxId: number;
  before(async () => {
    t = await startJmap();
    acc = t.accountId;
    inboxId = (await t.imap.store.getMailbox(t.imap.accountId, "INBOX"))!.id;
    const put = (raw: string, flags: string[] = [], date?: string) =>
      t.imap.store.append(t.imap.accountId, inboxId, {
        raw: Buffer.from(raw),
        flags,
        ...(date ? { internalDate: new Date(date) } : {}),
      });
    await put(message("alpha apples", "first body about apples\r\n"), ["\\Seen"], "2024-01-01T10:00:00Z");
    await put(message("beta bananas", "second body\r\n"), ["\\Flagged", "$Custom"], "2024-01-02T10:00:00Z");
    await put(MULTI, [], "2024-01-03T10:00:00Z");
  });
  after(() => t.close());

  async function query(args: J): Promise<J> {
    const [[name, r]] = await t.call([["Email/query", { accountId: acc, ...args }, "q"]]);
    assert.equal(name, "Email/query", JSON.stringify(r));
    return r;
  }

  it("Email/get: metadata, keywords ⇄ flags, ids = IMAP EMAILID/THREADID", async () => {
    const q = await query({ sort: [{ property: "receivedAt", isAscending: true }] });
    assert.equal(q.ids.length, 3);
    const [[, g]] = await t.call([["Email/get", { accountId: acc, ids: q.ids }, "g"]]);
    const [a, b] = g.list;
    assert.deepEqual(a.keywords, { $seen: true });
    assert.deepEqual(b.keywords, { $flagged: true, $custom: true });
    assert.equal(a.subject, "alpha apples");
    assert.deepEqual(a.from, [{ name: "Alice", email: "alice@example.org" }]);
    assert.equal(a.receivedAt, "2024-01-01T10:00:00Z");
    assert.equal(a.preview.trim(), "first body about apples");
    const c = await t.imap.login();
    await c.cmd("SELECT INBOX");
    const f = await c.cmd("UID FETCH 1:* (EMAILID THREADID RFC822.SIZE)");
    assert.ok(f.text.includes(`EMAILID (${a.id})`), f.text);
    assert.ok(f.text.includes(`THREADID (${a.threadId})`), f.text);
    assert.ok(f.text.includes(`RFC822.SIZE ${a.size}`), f.text);
    const [mbId] = Object.keys(a.mailboxIds);
    const st = await c.cmd("STATUS INBOX (MAILBOXID)");
    assert.ok(st.text.includes(`(${mbId})`), st.text);
  });

  it("Email/get: header forms, body parts, bodyValues", async () => {
    const q = await query({ filter: { subject: "Grüße" } });
    assert.equal(q.ids.length, 1);
    const [[, g]] = await t.call([
      [
        "Email/get",
        {
          accountId: acc,
          ids: q.ids,
          properties: [
            "subject",
            "to",
            "cc",
            "sentAt",
            "messageId",
            "inReplyTo",
            "hasAttachment",
            "textBody",
            "htmlBody",
            "attachments",
            "bodyStructure",
            "bodyValues",
            "header:Subject",
            "header:To:asGroupedAddresses",
            "header:Message-ID:asMessageIds:all",
            "header:X-None:asText",
          ],
          fetchAllBodyValues: true,
          maxBodyValueBytes: 8,
        },
        "g",
      ],
    ]);
    const e = g.list[0];
    assert.equal(e.subject, "Re: Grüße");
    assert.deepEqual(e.to, [
      { name: "Bob", email: "bob@example.com" },
      { name: null, email: "dave@example.net" },
    ]);
    assert.deepEqual(e.cc, [{ name: "Jürgen", email: "j@example.de" }]);
    assert.equal(e.sentAt, "2024-01-02T10:00:00Z");
    assert.deepEqual(e.messageId, ["multi.1@example.org"]);
    assert.deepEqual(e.inReplyTo, ["root@example.org"]);
    assert.equal(e.hasAttachment, true);
    assert.equal(e["header:Subject"], " Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=");
    assert.equal(e["header:To:asGroupedAddresses"][0].addresses.length, 2);
    assert.deepEqual(e["header:Message-ID:asMessageIds:all"], [["multi.1@example.org"]]);
    assert.equal(e["header:X-None:asText"], null);
    assert.deepEqual(
      e.textBody.map((p: J) => [p.partId, p.type]),
      [["1.1", "text/plain"]],
    );
    assert.deepEqual(
      e.htmlBody.map((p: J) => [p.partId, p.type]),
      [["1.2", "text/html"]],
    );
    assert.equal(e.attachments[0].name, "doc.pdf");
    assert.equal(e.attachments[0].size, 9); // decoded base64
    assert.equal(e.bodyStructure.type, "multipart/mixed");
    assert.equal(e.bodyStructure.subParts[0].subParts.length, 2);
    assert.deepEqual(e.bodyValues["1.1"], { value: "Hällo p", isEncodingProblem: false, isTruncated: true });
    assert.equal(e.bodyValues["1.2"].value, "<p>Hallo");
    const [[, bp]] = await t.call([
      [
        "Email/get",
        {
          accountId: acc,
          ids: q.ids,
          properties: ["attachments"],
          bodyProperties: ["partId", "header:Content-Disposition:asText"],
        },
        "b",
      ],
    ]);
    assert.deepEqual(bp.list[0].attachments, [
      { partId: "2", "header:Content-Disposition:asText": "attachment; filename=doc.pdf" },
    ]);
  });

  it("Email/query: filters, operators, sorts, position/anchor, collapseThreads", async () => {
    const all = await query({ sort: [{ property: "receivedAt", isAscending: true }], calculateTotal: true });
    assert.equal(all.total, 3);
    const [alpha, beta, multi] = all.ids;
    const ids = async (filter: J, sort?: J) => (await query({ filter, ...(sort ? { sort } : {}) })).ids;
    assert.deepEqual(await ids({ hasKeyword: "$seen" }), [alpha]);
    assert.deepEqual((await ids({ notKeyword: "$seen" })).sort(), [beta, multi].sort());
    assert.deepEqual(await ids({ text: "apples" }), [alpha]);
    assert.deepEqual(await ids({ body: "second body" }), [beta]);
    assert.deepEqual(await ids({ from: "carol" }), [multi]);
    assert.deepEqual(await ids({ to: "dave@example.net" }), [multi]);
    assert.deepEqual(await ids({ after: "2024-01-02T00:00:00Z", before: "2024-01-03T00:00:00Z" }), [beta]);
    assert.deepEqual(await ids({ minSize: 600 }), [multi]);
    assert.deepEqual(await ids({ hasAttachment: true }), [multi]);
    assert.deepEqual(await ids({ header: ["In-Reply-To"] }), [multi]);
    assert.deepEqual(
      await ids({ operator: "OR", conditions: [{ hasKeyword: "$seen" }, { hasKeyword: "$flagged" }] }, [
        { property: "receivedAt", isAscending: true },
      ]),
      [alpha, beta],
    );
    assert.deepEqual(
      await ids({ operator: "NOT", conditions: [{ hasKeyword: "$seen" }, { from: "carol" }] }),
      [beta],
    );
    assert.deepEqual(await ids(null, [{ property: "subject", isAscending: true }]), [alpha, beta, multi]);
    assert.equal((await ids(null, [{ property: "from", isAscending: false }]))[0], multi);
    assert.deepEqual(await ids(null, [{ property: "size", isAscending: false }]).then((x: J) => x[0]), multi);
    assert.deepEqual(
      await ids(null, [{ property: "hasKeyword", keyword: "$flagged", isAscending: false }]).then(
        (x: J) => x[0],
      ),
      beta,
    );
    const page = await query({
      sort: [{ property: "receivedAt", isAscending: true }],
      anchor: beta,
      anchorOffset: 1,
      limit: 1,
    });
    assert.deepEqual(page.ids, [multi]);
    assert.equal(page.position, 2);
    const neg = await query({ sort: [{ property: "receivedAt", isAscending: true }], position: -1 });
    assert.deepEqual(neg.ids, [multi]);
    const [[, nf]] = await t.call([["Email/query", { accountId: acc, anchor: "nope" }, "q"]]);
    assert.equal(nf.type, "anchorNotFound");
    const [[, uf]] = await t.call([["Email/query", { accountId: acc, filter: { colour: "red" } }, "q"]]);
    assert.equal(uf.type, "unsupportedFilter");
    const [[, qc]] = await t.call([
      ["Email/queryChanges", { accountId: acc, sinceQueryState: all.queryState }, "qc"],
    ]);
    assert.equal(qc.type, "cannotCalculateChanges");
    assert.equal(all.canCalculateChanges, false);
    // a reply in alpha's thread: collapseThreads keeps one per thread
    const [[, ag]] = await t.call([
      ["Email/get", { accountId: acc, ids: [alpha], properties: ["messageId", "threadId"] }, "g"],
    ]);
    await t.imap.store.append(t.imap.accountId, inboxId, {
      raw: Buffer.from(
        message("Re: alpha apples", "reply\r\n", `In-Reply-To: <${ag.list[0].messageId[0]}>\r\n`),
      ),
    });
    const collapsed = await query({ collapseThreads: true, calculateTotal: true });
    assert.equal(collapsed.total, 3);
    const [[, th]] = await t.call([["Thread/get", { accountId: acc, ids: [ag.list[0].threadId] }, "t"]]);
    assert.equal(th.list[0].emailIds.length, 2);
    assert.equal(th.list[0].emailIds[0], alpha);
  });

  it("Email/set keywords (patch), mailboxIds, destroy; seen by IMAP and in Email/changes", async () => {
    const all = await query({ sort: [{ property: "receivedAt", isAscending: true }] });
    const [alpha, beta] = all.ids;
    const [[, mbs]] = await t.call([["Mailbox/get", { accountId: acc }, "m"]]);
    const archive = mbs.list.find((m: J) => m.role === "archive").id;
    const inbox = mbs.list.find((m: J) => m.role === "inbox").id;
    const [[, g0]] = await t.call([["Email/get", { accountId: acc, ids: [] }, "g"]]);
    const [[, s]] = await t.call([
      [
        "Email/set",
        {
          accountId: acc,
          update: {
            [alpha]: { "keywords/$seen": null, "keywords/$flagged": true },
            [beta]: { mailboxIds: { [archive]: true } },
            nope: { "keywords/$seen": true },
          },
        },
        "s",
      ],
    ]);
    assert.deepEqual(Object.keys(s.updated).sort(), [alpha, beta].sort());
    assert.equal(s.notUpdated.nope.type, "notFound");
    const c = await t.imap.login();
    await c.cmd("SELECT INBOX");
    const f = await c.cmd("UID FETCH 1 (FLAGS)");
    assert.ok(/FLAGS \(\\Flagged\)/.test(f.text), f.text);
    await c.cmd("SELECT Archive");
    const fa = await c.cmd("UID FETCH 1:* (EMAILID FLAGS)");
    assert.ok(fa.text.includes(`EMAILID (${beta})`), fa.text);
    assert.ok(fa.text.includes("$Custom"), fa.text);
    const [[, ch]] = await t.call([["Email/changes", { accountId: acc, sinceState: g0.state }, "c"]]);
    assert.deepEqual([...ch.updated].sort(), [alpha, beta].sort());
    const [[, bad]] = await t.call([
      [
        "Email/set",
        { accountId: acc, update: { [alpha]: { mailboxIds: {} }, [beta]: { "keywords/a b": true } } },
        "s",
      ],
    ]);
    assert.equal(bad.notUpdated[alpha].type, "invalidProperties");
    assert.equal(bad.notUpdated[beta].type, "invalidPatch");
    // an IMAP STORE shows up in Email/changes
    const before = ch.newState;
    await c.cmd("SELECT INBOX");
    await c.cmd("UID STORE 1 +FLAGS (\\Answered)");
    const [[, ch2], [, g2]] = await t.call([
      ["Email/changes", { accountId: acc, sinceState: before }, "c"],
      [
        "Email/get",
        {
          accountId: acc,
          "#ids": { resultOf: "c", name: "Email/changes", path: "/updated" },
          properties: ["keywords"],
        },
        "g",
      ],
    ]);
    assert.deepEqual(ch2.updated, [alpha]);
    assert.deepEqual(g2.list[0].keywords, { $flagged: true, $answered: true });
    const [[, d]] = await t.call([["Email/set", { accountId: acc, destroy: [beta] }, "d"]]);
    assert.deepEqual(d.destroyed, [beta]);
    const [[, ch3]] = await t.call([["Email/changes", { accountId: acc, sinceState: d.oldState }, "c"]]);
    assert.deepEqual(ch3.destroyed, [beta]);
    const [[, gone], [, arch]] = await t.call([
      ["Email/query", { accountId: acc, filter: { inMailbox: archive } }, "q"],
      ["Mailbox/get", { accountId: acc, ids: [archive], properties: ["totalEmails"] }, "m"],
    ]);
    assert.deepEqual(gone.ids, []);
    assert.equal(arch.list[0].totalEmails, 0);
    assert.ok(inbox);
    const [[, cp1], [, cp2]] = await t.call([
      ["Email/copy", { fromAccountId: "A999999", accountId: acc, create: {} }, "c1"],
      ["Email/copy", { fromAccountId: acc, accountId: acc, create: {} }, "c2"],
    ]);
    assert.equal(cp1.type, "fromAccountNotFound");
    assert.equal(cp2.type, "invalidArguments");
  });
});
