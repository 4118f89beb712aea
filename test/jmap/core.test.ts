/** JMAP core over real HTTP: session, request-level errors, method-level errors, result references. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, startJmap, USER, USING } from "./helpers.ts";

describe("JMAP core (RFC 8620)", () => {
  let t: JmapServer;
  before(async () => {
    t = await startJmap({ max_calls_in_request: 5, max_size_request: 4096, max_objects_in_get: 3 });
  });
  after(() => t.close());

  it("session resource needs credentials and announces limits and URLs", async () => {
    const anon = await fetch(`${t.base}/.well-known/jmap`);
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get("www-authenticate") ?? "", /^Basic/);
    const bad = await fetch(`${t.base}/.well-known/jmap`, {
      headers: { authorization: t.auth(USER, "wrong") },
    });
    assert.equal(bad.status, 401);
    const res = await fetch(`${t.base}/.well-known/jmap`, { headers: { authorization: t.auth() } });
    assert.equal(res.status, 200);
    const s = (await res.json()) as J;
    assert.equal(s.capabilities["urn:ietf:params:jmap:core"].maxCallsInRequest, 5);
    assert.equal(s.capabilities["urn:ietf:params:jmap:core"].maxObjectsInGet, 3);
    assert.ok(s.capabilities["urn:ietf:params:jmap:mail"]);
    assert.equal(s.primaryAccounts["urn:ietf:params:jmap:mail"], t.accountId);
    assert.equal(s.accounts[t.accountId].name, USER);
    assert.equal(s.apiUrl, `${t.base}/jmap/api`);
    assert.match(s.downloadUrl, /\{accountId\}.*\{blobId\}.*\{name\}/);
    assert.match(s.eventSourceUrl, /\{types\}.*\{closeafter\}.*\{ping\}/);
    assert.equal(typeof s.state, "string");
  });

  it("request-level errors are problem+json (RFC 8620 §3.6.1)", async () => {
    const cases: Array<[Parameters<JmapServer["api"]>, string]> = [
      [[null, { raw: "{not json" }], "notJSON"],
      [[null, { raw: "{}", contentType: "text/plain" }], "notJSON"],
      [[[1, 2]], "notRequest"],
      [[{ using: USING }], "notRequest"],
      [[{ using: USING, methodCalls: [["Core/echo", {}]] }], "notRequest"],
      [[{ using: ["urn:example:nope"], methodCalls: [] }], "unknownCapability"],
      [
        [{ using: USING, methodCalls: Array.from({ length: 6 }, (_, i) => ["Core/echo", {}, `c${i}`]) }],
        "limit",
      ],
      [
        [
          null,
          {
            raw: JSON.stringify({ using: USING, methodCalls: [["Core/echo", { x: "y".repeat(5000) }, "0"]] }),
          },
        ],
        "limit",
      ],
    ];
    for (const [args, type] of cases) {
      const r = await t.api(...args);
      assert.equal(r.status, 400, type);
      assert.match(r.type, /^application\/problem\+json/);
      assert.equal(r.json.type, `urn:ietf:params:jmap:error:${type}`);
      if (type === "limit") assert.ok(["maxCallsInRequest", "maxSizeRequest"].includes(r.json.limit));
    }
  });

  it("Core/echo, unknownMethod, accountNotFound, invalidArguments, createdIds", async () => {
    const r = await t.api({
      using: ["urn:ietf:params:jmap:core"],
      methodCalls: [
        ["Core/echo", { hello: [1, 2] }, "a"],
        ["Mailbox/get", { accountId: t.accountId }, "b"], // mail capability not in "using"
        ["Nope/nope", {}, "c"],
      ],
      createdIds: { k: "M1" },
    });
    assert.equal(r.status, 200);
    const [echo, noCap, unknown] = r.json.methodResponses;
    assert.deepEqual(echo, ["Core/echo", { hello: [1, 2] }, "a"]);
    assert.deepEqual(noCap, [
      "error",
      { type: "unknownMethod", description: "unknown method Mailbox/get" },
      "b",
    ]);
    assert.equal(unknown[1].type, "unknownMethod");
    assert.deepEqual(r.json.createdIds, { k: "M1" });
    const [[, wrongAcc], [, noAcc], [, tooMany]] = await t.call([
      ["Mailbox/get", { accountId: "A999999" }, "x"],
      ["Mailbox/get", {}, "y"],
      ["Mailbox/get", { accountId: t.accountId, ids: ["a", "b", "c", "d"] }, "z"],
    ]);
    assert.equal(wrongAcc.type, "accountNotFound");
    assert.equal(noAcc.type, "invalidArguments");
    assert.equal(tooMany.type, "requestTooLarge");
  });

  it("result references with * (RFC 8620 §3.7)", async () => {
    const res = await t.call([
      ["Mailbox/query", { accountId: t.accountId, filter: { role: "inbox" } }, "q"],
      [
        "Mailbox/get",
        { accountId: t.accountId, "#ids": { resultOf: "q", name: "Mailbox/query", path: "/ids" } },
        "g",
      ],
      ["Core/echo", { "#names": { resultOf: "g", name: "Mailbox/get", path: "/list/*/name" } }, "e"],
      ["Core/echo", { "#x": { resultOf: "g", name: "Mailbox/query", path: "/list" } }, "bad1"],
      ["Core/echo", { "#x": { resultOf: "g", name: "Mailbox/get", path: "/nope/*" } }, "bad2"],
    ]);
    assert.equal(res[1][1].list.length, 1);
    assert.equal(res[1][1].list[0].role, "inbox");
    assert.deepEqual(res[2][1], { names: ["INBOX"] });
    assert.equal(res[3][1].type, "invalidResultReference");
    assert.equal(res[4][1].type, "invalidResultReference");
  });
});
