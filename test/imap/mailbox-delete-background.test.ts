/**
 * DELETE of a mailbox with messages over IMAP: gone at once for every session (LIST, SELECT,
 * STATUS), the name reusable at once with a new UIDVALIDITY and no old messages, and another
 * session that had it selected is not served its messages; the purge finishes in the background.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { gcIdle } from "../../src/store/testing/helpers.ts";
import { type Client, seed, startServer, type TestServer } from "./helpers.ts";

describe("IMAP DELETE of a full mailbox", () => {
  let t: TestServer;
  let a: Client;
  let b: Client;
  before(async () => {
    t = await startServer();
    a = await t.login();
    b = await t.login();
  });
  after(async () => {
    await t.close();
  });

  it("is gone at once; the same name is a new, empty mailbox at once", async () => {
    assert.ok((await a.cmd("CREATE Full")).ok);
    await seed(t, "Full", 30);
    const sel = await b.cmd("SELECT Full");
    assert.ok(sel.ok);
    const oldValidity = /UIDVALIDITY (\d+)/.exec(sel.lines.join("\n"))![1];
    assert.ok((await a.cmd("DELETE Full")).ok);
    assert.ok(!(await a.cmd('LIST "" "*"')).lines.some((l) => l.endsWith('"Full"')));
    assert.match((await a.cmd("SELECT Full")).tagged, /NO/);
    assert.match((await a.cmd("STATUS Full (MESSAGES)")).tagged, /NO/);
    // the session that had it selected gets no message of it any more
    const f = await b.cmd("UID FETCH 1:* (UID)");
    assert.ok(!f.lines.some((l) => /FETCH \(UID \d+\)/.test(l)), f.lines.join("\n"));

    assert.ok((await a.cmd("CREATE Full")).ok);
    const re = await a.cmd("SELECT Full");
    assert.ok(re.ok);
    assert.ok(re.lines.includes("* 0 EXISTS"), re.lines.join("\n"));
    const newValidity = /UIDVALIDITY (\d+)/.exec(re.lines.join("\n"))![1];
    assert.notEqual(newValidity, oldValidity);
    await gcIdle(t.store);
    const st = await a.cmd("STATUS INBOX (MESSAGES)");
    assert.ok(st.ok);
    const acct = (await t.store.getAccountById(t.accountId))!;
    assert.equal(acct.usedMessages, 0, "the purge released the deleted mailbox's usage");
  });
});
