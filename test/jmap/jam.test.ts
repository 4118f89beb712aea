/** An end-to-end run through jmap-jam, a JMAP client written by others. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, message, startJmap } from "./helpers.ts";

// jmap-jam's type declarations pull in jmap-rfc-types' .ts sources (enums), which this project's
// erasable-syntax type check refuses; the client is loaded by a computed specifier and typed here.
interface Jam {
  getPrimaryAccount(): Promise<string>;
  api: {
    Mailbox: { get(args: J): Promise<[J, J]> };
    Email: { set(args: J): Promise<[J, J]> };
  };
  requestMany(build: (r: J) => J): Promise<[J, J]>;
  downloadBlob(o: {
    accountId: string;
    blobId: string;
    mimeType: string;
    fileName: string;
  }): Promise<Response>;
}
const JAM = "jmap-jam";
const { default: JamClient } = (await import(JAM)) as {
  default: new (o: { sessionUrl: string; bearerToken: string }) => Jam;
};

describe("jmap-jam against the JMAP sub-app", () => {
  let t: JmapServer;
  before(async () => {
    t = await startJmap();
    const inbox = (await t.imap.store.getMailbox(t.imap.accountId, "INBOX"))!;
    await t.imap.store.append(t.imap.accountId, inbox.id, {
      raw: Buffer.from(message("jam one", "first\r\n")),
    });
    await t.imap.store.append(t.imap.accountId, inbox.id, {
      raw: Buffer.from(message("jam two", "second\r\n")),
    });
  });
  after(() => t.close());

  it("session, Mailbox/get, requestMany with a result reference, Email/set, download", async () => {
    const jam = new JamClient({ sessionUrl: `${t.base}/.well-known/jmap`, bearerToken: await t.bearer() });
    const accountId = await jam.getPrimaryAccount();
    assert.equal(accountId, t.accountId);
    const [mailboxes] = await jam.api.Mailbox.get({ accountId, ids: null });
    const inbox = mailboxes.list.find((m: J) => m.role === "inbox")!;
    assert.equal(inbox.totalEmails, 2);
    const [{ emails }] = await jam.requestMany((r) => {
      const ids = r.Email.query({
        accountId,
        filter: { inMailbox: inbox.id },
        sort: [{ property: "subject", isAscending: true }],
      });
      const emails = r.Email.get({
        accountId,
        ids: ids.$ref("/ids"),
        properties: ["subject", "keywords", "blobId"],
      });
      return { ids, emails };
    });
    assert.deepEqual(
      emails.list.map((e: J) => e.subject),
      ["jam one", "jam two"],
    );
    const first = emails.list[0]!;
    const [set] = await jam.api.Email.set({ accountId, update: { [first.id]: { "keywords/$seen": true } } });
    assert.ok(set.updated && first.id in set.updated);
    const [after] = await jam.api.Mailbox.get({ accountId, ids: [inbox.id], properties: ["unreadEmails"] });
    assert.equal(after.list[0]!.unreadEmails, 1);
    const res = await jam.downloadBlob({
      accountId,
      blobId: first.blobId,
      mimeType: "message/rfc822",
      fileName: "one.eml",
    });
    assert.match(await res.text(), /Subject: jam one/);
  });
});
