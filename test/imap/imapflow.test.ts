import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ImapFlow } from "imapflow";
import { message, PASS, startServer, type TestServer, USER } from "./helpers.ts";

describe("imapflow as a real client", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  it("login, list, append, fetch, search, move, idle notification", async () => {
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: t.port,
      secure: false,
      auth: { user: USER, pass: PASS },
      logger: false,
      // imapflow 2.1.2 does not decrement its EXISTS count on VANISHED, so stay with EXPUNGE here
      qresync: false,
      autoIdleDelay: 100,
    } as ConstructorParameters<typeof ImapFlow>[0]);
    await client.connect();
    try {
      const list = await client.list();
      const paths = list.map((m) => m.path);
      assert.ok(paths.includes("INBOX"));
      const sent = list.find((m) => m.path === "Sent");
      assert.equal(sent?.specialUse, "\\Sent");

      const app = await client.append("INBOX", message("hello from imapflow", "findme body\r\n"), ["\\Seen"]);
      assert.ok(app && typeof app === "object" && app.uid === 1);
      await client.append("INBOX", message("second"));

      const lock = await client.getMailboxLock("INBOX");
      try {
        const mb = client.mailbox;
        assert.ok(mb && typeof mb === "object" && mb.exists === 2);
        const msg = await client.fetchOne("1", {
          envelope: true,
          source: true,
          flags: true,
          bodyStructure: true,
          uid: true,
        });
        assert.ok(msg);
        assert.equal(msg.envelope?.subject, "hello from imapflow");
        assert.ok(msg.flags?.has("\\Seen"));
        assert.match(msg.source!.toString(), /findme body/);
        const found = await client.search({ body: "findme" }, { uid: true });
        assert.deepEqual(found, [1]);
        const unseen = await client.search({ seen: false });
        assert.deepEqual(unseen, [2]);
        const all: number[] = [];
        for await (const m of client.fetch("1:*", { uid: true, flags: true })) all.push(m.uid);
        assert.deepEqual(all, [1, 2]);
        await client.messageFlagsAdd("2", ["\\Flagged"]);
        const moved = await client.messageMove("1", "Archive");
        assert.ok(moved && typeof moved === "object");
        assert.equal(moved.uidMap?.get(1), 1);
      } finally {
        lock.release();
      }
      // a change from another session arrives as an exists event while imapflow idles
      await new Promise((r) => setTimeout(r, 300));
      const existsEvent = new Promise<number>((resolve) => client.once("exists", (e) => resolve(e.count)));
      const other = await t.login();
      await other.append("INBOX", message("pushed"));
      assert.equal(await existsEvent, 2);
      const st = await client.status("Archive", { messages: true, uidNext: true });
      assert.ok(st && st.messages === 1);
    } finally {
      await client.logout();
    }
  });
});
