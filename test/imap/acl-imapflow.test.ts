/**
 * A real client on a shared mailbox (RFC 4314 + RFC 2342): imapflow reads NAMESPACE, lists the
 * other user's mailbox under it, opens it, fetches and flags a message, and appends to it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ImapFlow } from "imapflow";
import { message, PASS, seed, startServer, type TestServer, USER } from "./helpers.ts";

describe("imapflow on a shared mailbox", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
    const team = await t.store.createMailbox(t.accountId, "Team");
    await seed(t, "Team", 2);
    await t.store.setAcl(team.id, "bob@example.com", "lrswi");
  });
  after(async () => {
    await t.close();
  });

  it("lists, opens, fetches, flags and appends to another user's mailbox", async () => {
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: t.port,
      secure: false,
      auth: { user: "bob@example.com", pass: PASS },
      logger: false,
    } as ConstructorParameters<typeof ImapFlow>[0]);
    await client.connect();
    try {
      const path = `Shared/${USER}/Team`;
      const list = await client.list();
      const shared = list.find((m) => m.path === path);
      assert.ok(shared, JSON.stringify(list.map((m) => m.path)));
      assert.equal(shared.delimiter, "/");
      const lock = await client.getMailboxLock(path);
      try {
        const mb = client.mailbox;
        assert.ok(mb && typeof mb === "object" && mb.exists === 2);
        const msg = await client.fetchOne("1", { envelope: true, source: true, uid: true });
        assert.ok(msg);
        assert.equal(msg.envelope?.subject, "msg 1");
        assert.ok(await client.messageFlagsAdd("1", ["\\Seen"]));
        assert.ok(await client.append(path, message("from bob")));
      } finally {
        lock.release();
      }
      const team = (await t.store.getMailbox(t.accountId, "Team"))!;
      const counts = await t.store.mailboxCounts(team.id);
      assert.equal(counts.messages, 3);
      assert.equal(counts.unseen, 2);
    } finally {
      await client.logout();
    }
  });
});
