/** VacationResponse (RFC 8621 §8): the singleton over the store's settings, and replies it makes. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mailboxMessages } from "../kit/store.ts";
import { type J, type JmapServer, PASS, startJmap, USING } from "./helpers.ts";

const VAC = [...USING, "urn:ietf:params:jmap:vacationresponse"];
const SUB = [...USING, "urn:ietf:params:jmap:submission"];

describe("JMAP VacationResponse", () => {
  let t: JmapServer;
  let acc: string;
  before(async () => {
    t = await startJmap();
    acc = t.accountId;
  });
  after(() => t.close());

  it("is advertised and off by default", async () => {
    const res = await fetch(`${t.base}/.well-known/jmap`, { headers: { authorization: t.auth() } });
    const s = (await res.json()) as J;
    assert.deepEqual(s.capabilities["urn:ietf:params:jmap:vacationresponse"], {});
    assert.equal(s.primaryAccounts["urn:ietf:params:jmap:vacationresponse"], acc);
    const [[, g]] = await t.call([["VacationResponse/get", { accountId: acc }, "g"]], VAC);
    assert.deepEqual(g.list, [
      {
        id: "singleton",
        isEnabled: false,
        fromDate: null,
        toDate: null,
        subject: null,
        textBody: null,
        htmlBody: null,
      },
    ]);
    const [[, nf]] = await t.call([["VacationResponse/get", { accountId: acc, ids: ["other"] }, "g"]], VAC);
    assert.deepEqual([nf.list, nf.notFound], [[], ["other"]]);
    const [[name]] = await t.call([["VacationResponse/get", { accountId: acc }, "g"]]);
    assert.equal(name, "error");
  });

  it("set updates the singleton (state moves), refuses create/destroy and bad values", async () => {
    const [[, g0]] = await t.call([["VacationResponse/get", { accountId: acc }, "g"]], VAC);
    const [[, s], [, g]] = await t.call(
      [
        [
          "VacationResponse/set",
          {
            accountId: acc,
            ifInState: g0.state,
            update: {
              singleton: {
                isEnabled: true,
                subject: "Away",
                textBody: "I am away until Monday.",
                fromDate: "2020-01-01T00:00:00Z",
              },
            },
            create: { x: { isEnabled: true } },
            destroy: ["singleton"],
          },
          "s",
        ],
        ["VacationResponse/get", { accountId: acc, properties: ["isEnabled", "subject", "fromDate"] }, "g"],
      ],
      VAC,
    );
    assert.deepEqual(s.updated, { singleton: null });
    assert.equal(s.notCreated.x.type, "singleton");
    assert.equal(s.notDestroyed.singleton.type, "singleton");
    assert.notEqual(s.newState, g0.state);
    assert.equal(g.state, s.newState);
    assert.deepEqual(g.list[0], {
      id: "singleton",
      isEnabled: true,
      subject: "Away",
      fromDate: "2020-01-01T00:00:00Z",
    });
    const [[, bad], [, order]] = await t.call(
      [
        [
          "VacationResponse/set",
          {
            accountId: acc,
            update: {
              singleton: { fromDate: "yesterday" },
            },
          },
          "s",
        ],
        [
          "VacationResponse/set",
          {
            accountId: acc,
            update: { singleton: { fromDate: "2030-01-02T00:00:00Z", toDate: "2030-01-01T00:00:00Z" } },
          },
          "s2",
        ],
      ],
      VAC,
    );
    assert.equal(bad.notUpdated.singleton.type, "invalidProperties");
    assert.equal(order.notUpdated.singleton.type, "invalidProperties");
  });

  it("mail bob submits over JMAP to alice (on vacation) is answered to bob", async () => {
    await t.call(
      [
        [
          "VacationResponse/set",
          { accountId: acc, update: { singleton: { isEnabled: true, fromDate: null, toDate: null } } },
          "s",
        ],
      ],
      VAC,
    );
    const bob = "bob@example.com";
    const session = (await (
      await fetch(`${t.base}/.well-known/jmap`, { headers: { authorization: t.auth(bob, PASS) } })
    ).json()) as J;
    const bobAcc = session.primaryAccounts["urn:ietf:params:jmap:mail"];
    const call = async (calls: unknown[][]) => {
      const r = await t.api({ using: SUB, methodCalls: calls }, { user: bob });
      return r.json.methodResponses;
    };
    const [[, mbs], [, ids]] = await call([
      ["Mailbox/get", { accountId: bobAcc }, "m"],
      ["Identity/get", { accountId: bobAcc }, "i"],
    ]);
    const drafts = mbs.list.find((m: J) => m.role === "drafts").id;
    const [, [, s]] = await call([
      [
        "Email/set",
        {
          accountId: bobAcc,
          create: {
            d: {
              mailboxIds: { [drafts]: true },
              from: [{ email: bob }],
              to: [{ email: "alice@example.com" }],
              subject: "Lunch?",
              textBody: [{ partId: "t", type: "text/plain" }],
              bodyValues: { t: { value: "Lunch on Friday?\n" } },
            },
          },
        },
        "e",
      ],
      [
        "EmailSubmission/set",
        { accountId: bobAcc, create: { s: { identityId: ids.list[0].id, emailId: "#d" } } },
        "s",
      ],
    ]);
    assert.ok(s.created?.s, JSON.stringify(s));
    // the responder runs after the delivery committed; wait for its reply in bob's INBOX
    let reply: string | undefined;
    for (let i = 0; i < 100 && !reply; i++) {
      const inbox = await mailboxMessages(t.imap.store, bob);
      reply = inbox.map((b) => b.toString("utf8")).find((m) => /^Auto-Submitted: auto-replied/im.test(m));
      if (!reply) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(reply, "bob got the vacation reply");
    assert.match(reply, /^Subject: Away/im);
    assert.match(reply, /I am away until Monday\./);
  });
});
