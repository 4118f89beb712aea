/**
 * EmailSubmission (RFC 8621 §7) through the SMTP submission pipeline: a draft made with Email/set
 * is sent, moved to Sent by onSuccessUpdateEmail, delivered to a local recipient (seen over
 * IMAP) and queued for a remote one (store queue API); refusals as RFC 8621 §7.5 SetErrors.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, startJmap, USING } from "./helpers.ts";

const SUB = [...USING, "urn:ietf:params:jmap:submission"];

describe("JMAP EmailSubmission", () => {
  let t: JmapServer;
  let acc: string;
  let drafts: string;
  let sent: string;
  let identityId: string;
  before(async () => {
    t = await startJmap();
    acc = t.accountId;
    const [[, mbs], [, ids]] = await t.call(
      [
        ["Mailbox/get", { accountId: acc }, "m"],
        ["Identity/get", { accountId: acc }, "i"],
      ],
      SUB,
    );
    drafts = mbs.list.find((m: J) => m.role === "drafts").id;
    sent = mbs.list.find((m: J) => m.role === "sent").id;
    identityId = ids.list.find((i: J) => i.email === "alice@example.com").id;
  });
  after(() => t.close());

  const draft = (o: Record<string, unknown>) => ({
    mailboxIds: { [drafts]: true },
    keywords: { $draft: true, $seen: true },
    from: [{ email: "alice@example.com" }],
    textBody: [{ partId: "t", type: "text/plain" }],
    bodyValues: { t: { value: "Hello\n" } },
    ...o,
  });

  it("the session advertises the submission capability", async () => {
    const res = await fetch(`${t.base}/.well-known/jmap`, { headers: { authorization: t.auth() } });
    const s = (await res.json()) as J;
    assert.deepEqual(s.capabilities["urn:ietf:params:jmap:submission"], {});
    const cap = s.accounts[acc].accountCapabilities["urn:ietf:params:jmap:submission"];
    assert.equal(cap.maxDelayedSend, 0);
    assert.deepEqual(cap.submissionExtensions, {
      SIZE: ["1000000"],
      "8BITMIME": [],
      SMTPUTF8: [],
      DSN: [],
    });
    assert.equal(s.primaryAccounts["urn:ietf:params:jmap:submission"], acc);
  });

  it("a draft is sent: local copy in bob's INBOX, remote one queued, moved to Sent without $draft", async () => {
    const r = await t.call(
      [
        [
          "Email/set",
          {
            accountId: acc,
            create: {
              d: draft({
                to: [{ email: "bob@example.com" }, { email: "carol@remote.example" }],
                bcc: [{ email: "dave@remote.example" }],
                subject: "sent through JMAP",
              }),
            },
          },
          "e",
        ],
        [
          "EmailSubmission/set",
          {
            accountId: acc,
            create: { s: { identityId, emailId: "#d" } },
            onSuccessUpdateEmail: {
              "#s": { [`mailboxIds/${drafts}`]: null, [`mailboxIds/${sent}`]: true, "keywords/$draft": null },
            },
          },
          "s",
        ],
        ["EmailSubmission/get", { accountId: acc, ids: ["#s"] }, "g"],
        ["Email/get", { accountId: acc, ids: ["#d"], properties: ["mailboxIds", "keywords"] }, "eg"],
      ],
      SUB,
    );
    const [[, e], [, s], [name, implicit], [, g], [, eg]] = r;
    assert.ok(e.created.d, JSON.stringify(e));
    assert.ok(s.created?.s, JSON.stringify(s));
    assert.equal(s.created.s.undoStatus, "final");
    assert.equal(name, "Email/set");
    assert.deepEqual(Object.keys(implicit.updated), [e.created.d.id]);
    const sub = g.list[0];
    assert.equal(sub.emailId, e.created.d.id);
    assert.equal(sub.identityId, identityId);
    assert.equal(sub.undoStatus, "final");
    assert.equal(sub.envelope.mailFrom.email, "alice@example.com");
    assert.deepEqual(
      sub.envelope.rcptTo.map((x: J) => x.email),
      ["bob@example.com", "carol@remote.example", "dave@remote.example"],
    );
    assert.equal(sub.deliveryStatus["bob@example.com"].delivered, "yes");
    assert.equal(sub.deliveryStatus["carol@remote.example"].delivered, "queued");
    assert.deepEqual(eg.list[0].mailboxIds, { [sent]: true });
    assert.deepEqual(eg.list[0].keywords, { $seen: true });

    // bob reads it over IMAP; the Bcc field is gone, a Message-ID was added
    const c = await t.imap.connect();
    assert.ok((await c.cmd("LOGIN bob@example.com secret")).ok);
    await c.cmd("SELECT INBOX");
    const f = await c.cmd("FETCH 1:* (BODY.PEEK[HEADER])");
    assert.ok(f.ok);
    assert.match(f.text, /Subject: sent through JMAP/);
    assert.match(f.text, /Message-ID: </i);
    assert.doesNotMatch(f.text, /dave@remote\.example/);
    assert.match(f.text, /Received: .*with JMAP/s);

    // the remote recipients wait in the outbound queue, without the Bcc field
    const q = await t.imap.store.listQueue();
    assert.equal(q.length, 1);
    assert.equal(q[0]!.mailFrom, "alice@example.com");
    assert.deepEqual(
      q[0]!.recipients.map((x) => x.address),
      ["carol@remote.example", "dave@remote.example"],
    );
    const raw = Buffer.from((await t.imap.store.getQueuedMessage(q[0]!.id))!).toString("utf8");
    assert.match(raw, /Subject: sent through JMAP/);
    assert.doesNotMatch(raw, /^Bcc:/im);

    // EmailSubmission/changes and /query see it
    const [[, ch], [, qu]] = await t.call(
      [
        ["EmailSubmission/changes", { accountId: acc, sinceState: "0" }, "c"],
        ["EmailSubmission/query", { accountId: acc, filter: { emailIds: [e.created.d.id] } }, "q"],
      ],
      SUB,
    );
    assert.deepEqual(ch.created, [sub.id]);
    assert.deepEqual(qu.ids, [sub.id]);
  });

  it("another user's From → forbiddenFrom; a foreign envelope sender → forbiddenMailFrom; nothing sent", async () => {
    const before = (await t.imap.store.listQueue()).length;
    const [[, e], [, s]] = await t.call(
      [
        [
          "Email/set",
          {
            accountId: acc,
            create: {
              x: draft({ from: [{ email: "bob@example.com" }], to: [{ email: "zed@remote.example" }] }),
              y: draft({ to: [{ email: "zed@remote.example" }] }),
              z: draft({}),
            },
          },
          "e",
        ],
        [
          "EmailSubmission/set",
          {
            accountId: acc,
            create: {
              x: { identityId, emailId: "#x" },
              y: {
                identityId,
                emailId: "#y",
                envelope: {
                  mailFrom: { email: "bob@example.com" },
                  rcptTo: [{ email: "zed@remote.example" }],
                },
              },
              z: { identityId, emailId: "#z" },
              u: {
                identityId,
                emailId: "#y",
                envelope: {
                  mailFrom: { email: "alice@example.com" },
                  rcptTo: [{ email: "nobody@example.com" }],
                },
              },
            },
          },
          "s",
        ],
      ],
      SUB,
    );
    assert.equal(Object.keys(e.created).length, 3);
    assert.equal(s.created, null);
    assert.equal(s.notCreated.x.type, "forbiddenFrom");
    assert.equal(s.notCreated.y.type, "forbiddenMailFrom");
    assert.equal(s.notCreated.z.type, "noRecipients");
    assert.equal(s.notCreated.u.type, "invalidRecipients");
    assert.deepEqual(s.notCreated.u.invalidRecipients, ["nobody@example.com"]);
    assert.equal((await t.imap.store.listQueue()).length, before);
  });

  it("too many recipients, unknown identity, cancel of a final submission", async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ email: `r${i}@remote.example` }));
    const [[, e], [, s], [, g]] = await t.call(
      [
        ["Email/set", { accountId: acc, create: { m: draft({ to: many }) } }, "e"],
        [
          "EmailSubmission/set",
          {
            accountId: acc,
            create: { m: { identityId, emailId: "#m" }, n: { identityId: "Inope", emailId: "#m" } },
          },
          "s",
        ],
        ["EmailSubmission/query", { accountId: acc }, "q"],
      ],
      SUB,
    );
    assert.ok(e.created.m);
    assert.equal(s.notCreated.m.type, "tooManyRecipients");
    assert.equal(s.notCreated.m.maxRecipients, 10);
    assert.equal(s.notCreated.n.type, "invalidProperties");
    const [[, u]] = await t.call(
      [["EmailSubmission/set", { accountId: acc, update: { [g.ids[0]]: { undoStatus: "canceled" } } }, "u"]],
      SUB,
    );
    assert.equal(u.notUpdated[g.ids[0]].type, "cannotUnsend");
  });

  it("envelope parameters: DSN ones reach the queue entry; unknown ones and a too large SIZE are refused", async () => {
    const env = (mailParams: J, rcptParams: J = null) => ({
      mailFrom: { email: "alice@example.com", parameters: mailParams },
      rcptTo: [{ email: "erin@remote.example", parameters: rcptParams }],
    });
    const [[, e], [, s]] = await t.call(
      [
        [
          "Email/set",
          { accountId: acc, create: { p: draft({ to: [{ email: "erin@remote.example" }] }) } },
          "e",
        ],
        [
          "EmailSubmission/set",
          {
            accountId: acc,
            create: {
              ok: {
                identityId,
                emailId: "#p",
                envelope: env(
                  { ENVID: "env-1", RET: "HDRS" },
                  { NOTIFY: "FAILURE,DELAY", ORCPT: "rfc822;erin@remote.example" },
                ),
              },
              unknown: { identityId, emailId: "#p", envelope: env({ "X-FOO": "1" }) },
              big: { identityId, emailId: "#p", envelope: env({ SIZE: "99999999" }) },
              notify: { identityId, emailId: "#p", envelope: env(null, { NOTIFY: "NEVER,SUCCESS" }) },
            },
          },
          "s",
        ],
      ],
      SUB,
    );
    assert.ok(e.created.p);
    assert.ok(s.created.ok, JSON.stringify(s.notCreated));
    assert.equal(s.notCreated.unknown.type, "invalidProperties");
    assert.equal(s.notCreated.big.type, "tooLarge");
    assert.equal(s.notCreated.big.maxSize, 1_000_000);
    assert.equal(s.notCreated.notify.type, "invalidProperties");
    const q = (await t.imap.store.listQueue()).find((x) => x.envid === "env-1");
    assert.ok(q);
    assert.equal(q.ret, "HDRS");
    assert.deepEqual(q.recipients[0]!.notify, ["FAILURE", "DELAY"]);
    assert.equal(q.recipients[0]!.orcpt, "rfc822;erin@remote.example");
  });

  it("onSuccessDestroyEmail destroys the sent draft; a failed submission leaves it", async () => {
    const [[, e], [, s], [name, implicit]] = await t.call(
      [
        [
          "Email/set",
          {
            accountId: acc,
            create: {
              ok: draft({ to: [{ email: "bob@example.com" }], subject: "destroy me" }),
              bad: draft({ to: [{ email: "nobody@example.com" }] }),
            },
          },
          "e",
        ],
        [
          "EmailSubmission/set",
          {
            accountId: acc,
            create: { ok: { identityId, emailId: "#ok" }, bad: { identityId, emailId: "#bad" } },
            onSuccessDestroyEmail: ["#ok", "#bad"],
          },
          "s",
        ],
      ],
      SUB,
    );
    assert.ok(s.created.ok);
    assert.equal(s.notCreated.bad.type, "invalidRecipients");
    assert.equal(name, "Email/set");
    assert.deepEqual(implicit.destroyed, [e.created.ok.id]);
    const [[, g]] = await t.call(
      [["Email/get", { accountId: acc, ids: [e.created.ok.id, e.created.bad.id], properties: ["id"] }, "g"]],
      SUB,
    );
    assert.deepEqual(g.notFound, [e.created.ok.id]);
    assert.deepEqual(
      g.list.map((x: J) => x.id),
      [e.created.bad.id],
    );
  });

  it("without the submission capability in using, the methods are unknown", async () => {
    const [[name, err]] = await t.call([["EmailSubmission/get", { accountId: acc }, "g"]]);
    assert.equal(name, "error");
    assert.equal(err.type, "unknownMethod");
  });
});
