/** Malformed arguments get a method-level error (RFC 8620 §3.6.2), never serverFail. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, message, startJmap } from "./helpers.ts";

const METHODS = [
  "Mailbox/get",
  "Mailbox/changes",
  "Mailbox/query",
  "Mailbox/set",
  "Thread/get",
  "Thread/changes",
  "Email/get",
  "Email/changes",
  "Email/query",
  "Email/set",
  "Email/import",
  "Email/parse",
  "Email/copy",
  "SearchSnippet/get",
  "Blob/copy",
];

const BAD: J[] = [
  { ids: "x" },
  { ids: [1, 2] },
  { properties: "x" },
  { properties: [1] },
  { sinceState: 5 },
  { maxChanges: -1 },
  { filter: "x" },
  { filter: { operator: "AND" } },
  { filter: { operator: "XOR", conditions: [] } },
  { filter: { inMailbox: 5, before: "yesterday" } },
  { filter: { header: [] } },
  { sort: "x" },
  { sort: [null] },
  { position: "x", limit: -5 },
  { anchor: 5 },
  { create: "x" },
  { create: { a: null } },
  { create: { a: { name: 5, parentId: 7, mailboxIds: 3, keywords: [] } } },
  { update: { x: null } },
  { update: { x: { name: null } } },
  { destroy: "x" },
  { destroy: [null, 5] },
  { emails: { a: null } },
  { emails: { a: { blobId: 5 } } },
  { blobIds: "x" },
  { emailIds: [5] },
  { fromAccountId: 5 },
  { bodyProperties: ["nope"] },
  { fetchTextBodyValues: "yes", maxBodyValueBytes: "x" },
  { ifInState: 5 },
];

describe("JMAP robustness", () => {
  let t: JmapServer;
  before(async () => {
    t = await startJmap();
  });
  after(() => t.close());

  it("every method answers malformed arguments without serverFail", async () => {
    const failed: string[] = [];
    for (const m of METHODS) {
      for (const bad of BAD) {
        const [[name, args]] = await t.call([[m, { accountId: t.accountId, ...bad }, "x"]]);
        if (name === "error" && args.type === "serverFail") failed.push(`${m} ${JSON.stringify(bad)}`);
      }
    }
    // the same with ids that exist, so the checks past the lookup run too
    const inbox = (await t.imap.store.getMailbox(t.imap.accountId, "INBOX"))!;
    await t.imap.store.append(t.imap.accountId, inbox.id, { raw: Buffer.from(message("r")) });
    const [[, q], [, mq]] = await t.call([
      ["Email/query", { accountId: t.accountId }, "q"],
      ["Mailbox/query", { accountId: t.accountId, filter: { role: "inbox" } }, "m"],
    ]);
    const [e] = q.ids;
    const [mb] = mq.ids;
    const withIds: Array<[string, J]> = [];
    for (const v of [
      5,
      null,
      "x",
      [],
      { name: 5 },
      { parentId: 5 },
      { isSubscribed: "y" },
      { "keywords/$seen": 5 },
      { keywords: null },
      { "mailboxIds/x": true },
      { mailboxIds: [] },
    ])
      for (const m of ["Mailbox/set", "Email/set"])
        withIds.push([m, { update: { [m === "Mailbox/set" ? mb : e]: v } }]);
    withIds.push(["Mailbox/set", { destroy: [mb], onDestroyRemoveEmails: "x" }]);
    withIds.push(["Email/get", { ids: [e], properties: ["header:"] }]);
    withIds.push(["Email/get", { ids: [e], properties: ["header:X:asNope"] }]);
    withIds.push(["SearchSnippet/get", { emailIds: [e], filter: { text: 5 } }]);
    for (const [m, a] of withIds) {
      const [[name, args]] = await t.call([[m, { accountId: t.accountId, ...a }, "x"]]);
      if (name === "error" && args.type === "serverFail") failed.push(`${m} ${JSON.stringify(a)}`);
    }
    assert.deepEqual(failed, []);
  });
});
