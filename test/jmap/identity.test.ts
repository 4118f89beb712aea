/** Identity (RFC 8621 §6): defaults from the send-as addresses, edits, create/destroy, /changes. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, startJmap, USING } from "./helpers.ts";

const SUB = [...USING, "urn:ietf:params:jmap:submission"];

describe("JMAP Identity", () => {
  let t: JmapServer;
  let acc: string;
  before(async () => {
    t = await startJmap();
    acc = t.accountId;
    await t.imap.store.addAlias("sales@example.com", "alice@example.com");
  });
  after(() => t.close());

  const get = async (): Promise<J> => (await t.call([["Identity/get", { accountId: acc }, "g"]], SUB))[0][1];

  it("one default identity per address the account may send as, not deletable", async () => {
    const g = await get();
    const emails = g.list.map((i: J) => i.email).sort();
    assert.deepEqual(emails, ["alice@example.com", "sales@example.com"]);
    for (const i of g.list) {
      assert.equal(i.mayDelete, false);
      assert.equal(i.name, "");
      assert.equal(i.replyTo, null);
    }
    // ids are stable
    assert.deepEqual(
      (await get()).list.map((i: J) => i.id),
      g.list.map((i: J) => i.id),
    );
  });

  it("update of a default, create for an alias, forbiddenFrom for another user, destroy", async () => {
    const g0 = await get();
    const alice = g0.list.find((i: J) => i.email === "alice@example.com");
    const [[, s]] = await t.call(
      [
        [
          "Identity/set",
          {
            accountId: acc,
            ifInState: g0.state,
            update: {
              [alice.id]: {
                name: "Alice A.",
                textSignature: "-- \nAlice",
                replyTo: [{ email: "sales@example.com" }],
              },
            },
            create: {
              n: { email: "sales@example.com", name: "Sales" },
              bad: { email: "bob@example.com", name: "Not Bob" },
              badProp: { email: "alice@example.com", bcc: "x" },
            },
          },
          "s",
        ],
      ],
      SUB,
    );
    assert.equal(s.oldState, g0.state);
    assert.notEqual(s.newState, g0.state);
    assert.deepEqual(Object.keys(s.updated), [alice.id]);
    assert.equal(s.created.n.mayDelete, true);
    assert.equal(s.notCreated.bad.type, "forbiddenFrom");
    assert.equal(s.notCreated.badProp.type, "invalidProperties");
    const g1 = await get();
    const a1 = g1.list.find((i: J) => i.id === alice.id);
    assert.equal(a1.name, "Alice A.");
    assert.equal(a1.textSignature, "-- \nAlice");
    assert.deepEqual(a1.replyTo, [{ email: "sales@example.com" }]);
    assert.ok(g1.list.find((i: J) => i.id === s.created.n.id && i.name === "Sales"));

    const [[, ch]] = await t.call([["Identity/changes", { accountId: acc, sinceState: g0.state }, "c"]], SUB);
    assert.deepEqual(ch.created, [s.created.n.id]);
    assert.deepEqual(ch.updated, [alice.id]);

    // email is immutable; defaults cannot be destroyed; created ones can
    const [[, d]] = await t.call(
      [
        [
          "Identity/set",
          {
            accountId: acc,
            update: { [alice.id]: { email: "sales@example.com" } },
            destroy: [alice.id, s.created.n.id],
          },
          "d",
        ],
      ],
      SUB,
    );
    assert.equal(d.notUpdated[alice.id].type, "invalidProperties");
    assert.equal(d.notDestroyed[alice.id].type, "forbidden");
    assert.deepEqual(d.destroyed, [s.created.n.id]);
    const [[, ch2]] = await t.call(
      [["Identity/changes", { accountId: acc, sinceState: s.newState }, "c"]],
      SUB,
    );
    assert.deepEqual(ch2.destroyed, [s.created.n.id]);
    const [[, bad]] = await t.call([["Identity/changes", { accountId: acc, sinceState: "999" }, "c"]], SUB);
    assert.equal(bad.type, "cannotCalculateChanges");
  });
});
