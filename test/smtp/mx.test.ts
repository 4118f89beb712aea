/** MX transcripts over real sockets: extensions, recipients, relaying, smuggling, quota, aliases. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mailboxMessages, RawClient, startSmtp, type TestSmtp, totalMessages } from "./helpers.ts";

const MSG = "From: someone@remote.example\r\nTo: alice@example.com\r\nSubject: hi\r\n\r\nhello\r\n";

describe("SMTP MX", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp();
  });
  after(async () => {
    await t.close();
  });

  test("EHLO offers the required extensions and no AUTH", async () => {
    const c = await RawClient.connect(t.mxPort);
    const r = await c.cmd("EHLO client.test");
    for (const ext of [
      "PIPELINING",
      "SIZE 10485760",
      "8BITMIME",
      "SMTPUTF8",
      "ENHANCEDSTATUSCODES",
      "STARTTLS",
      "DSN",
    ])
      assert.match(r, new RegExp(`^250[- ]${ext}$`, "m"), ext);
    assert.doesNotMatch(r, /AUTH/);
    c.close();
  });

  test("accepts mail for a local user, adds trace headers beside the blob, keeps the body byte-exact", async () => {
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    assert.match(await c.cmd("MAIL FROM:<someone@remote.example> RET=HDRS ENVID=abc"), /^250/);
    assert.match(await c.cmd("RCPT TO:<Alice@EXAMPLE.com> NOTIFY=FAILURE"), /^250/);
    assert.match(await c.cmd("DATA"), /^354/);
    const r = await c.cmd(`${MSG}.`);
    assert.match(r, /^250 2\.0\.0 /);
    assert.doesNotMatch(r, /^250 2\.\d\.\d 2\./); // no double enhanced code
    c.close();
    const msgs = await mailboxMessages(t.store, "alice@example.com");
    assert.equal(msgs.length, 1);
    const text = msgs[0]!.toString("latin1");
    assert.ok(text.startsWith("Delivered-To: alice@example.com\r\nReceived: from client.test ([127.0.0.1])"));
    assert.match(text, /with ESMTP id /);
    assert.match(text, /for <Alice@EXAMPLE\.com>;/);
    assert.ok(text.endsWith(MSG), "original message follows the trace headers unchanged");
  });

  test("unknown user → 550 5.1.1; relay → 550 5.7.1; nothing stored", async () => {
    const before = await totalMessages(t.store);
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    await c.cmd("MAIL FROM:<x@remote.example>");
    assert.match(await c.cmd("RCPT TO:<nobody@example.com>"), /^550 5\.1\.1 /);
    assert.match(await c.cmd("RCPT TO:<victim@elsewhere.example>"), /^550 5\.7\.1 /);
    assert.match(await c.cmd("DATA"), /^503/);
    c.close();
    assert.equal(await totalMessages(t.store), before);
  });

  test("AUTH is refused on MX, so it cannot open relaying", async () => {
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    const r = await c.cmd(`AUTH PLAIN ${Buffer.from("\0alice@example.com\0secret pass").toString("base64")}`);
    assert.match(r, /^5\d\d/);
    await c.cmd("MAIL FROM:<alice@example.com>");
    assert.match(await c.cmd("RCPT TO:<victim@elsewhere.example>"), /^550 5\.7\.1 /);
    c.close();
  });

  for (const [name, body] of [
    ["bare LF line", "Subject: x\r\n\r\nline one\nline two\r\n"],
    ["bare CR", "Subject: x\r\n\r\nline one\rline two\r\n"],
    [
      "LF.CRLF smuggling",
      "Subject: x\r\n\r\nbody\n.\r\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nsmuggled\r\n",
    ],
    ["CRLF.LF smuggling", "Subject: x\r\n\r\nbody\r\n.\nMAIL FROM:<evil@remote.example>\r\n"],
  ] as const) {
    test(`smuggling probe: ${name} → 550 5.6.0, nothing stored, no command smuggled`, async () => {
      const before = await totalMessages(t.store);
      const c = await RawClient.connect(t.mxPort);
      await c.cmd("EHLO client.test");
      await c.cmd("MAIL FROM:<x@remote.example>");
      await c.cmd("RCPT TO:<alice@example.com>");
      assert.match(await c.cmd("DATA"), /^354/);
      c.write(`${body}\r\n.\r\n`);
      assert.match(await c.reply(), /^550 5\.6\.0 /);
      // the session continues at the command level: only our next command gets a reply
      assert.match(await c.cmd("NOOP"), /^250/);
      c.close();
      assert.equal(await totalMessages(t.store), before);
    });
  }

  test("pipelined transaction", async () => {
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    c.write(
      "MAIL FROM:<p@remote.example>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<nobody@example.com>\r\nDATA\r\n",
    );
    assert.match(await c.reply(), /^250/);
    assert.match(await c.reply(), /^250/);
    assert.match(await c.reply(), /^550 5\.1\.1/);
    assert.match(await c.reply(), /^354/);
    c.write(`${MSG.replace("alice", "bob")}.\r\nQUIT\r\n`);
    assert.match(await c.reply(), /^250 2\.0\.0/);
    assert.match(await c.reply(), /^221/);
    c.close();
    assert.equal((await mailboxMessages(t.store, "bob@example.com")).length, 1);
  });

  test("aliases and catch-all resolve to accounts; one copy per account", async () => {
    await t.store.addAlias("info@example.com", "alice@example.com");
    await t.store.addAlias("info@example.com", "bob@example.com");
    await t.store.addAlias("@example.net", "bob@example.com");
    const a0 = (await mailboxMessages(t.store, "alice@example.com")).length;
    const b0 = (await mailboxMessages(t.store, "bob@example.com")).length;
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    await c.cmd("MAIL FROM:<x@remote.example>");
    assert.match(await c.cmd("RCPT TO:<info@example.com>"), /^250/);
    assert.match(await c.cmd("RCPT TO:<anything@example.net>"), /^250/);
    await c.cmd("DATA");
    assert.match(await c.cmd(`${MSG}.`), /^250/);
    c.close();
    assert.equal((await mailboxMessages(t.store, "alice@example.com")).length, a0 + 1);
    const bob = await mailboxMessages(t.store, "bob@example.com");
    assert.equal(bob.length, b0 + 1);
    assert.ok(bob.at(-1)!.toString("latin1").startsWith("Delivered-To: bob@example.com\r\n"));
    // without a catch-all, an unknown address in a hosted domain is still unknown
    const c2 = await RawClient.connect(t.mxPort);
    await c2.cmd("EHLO client.test");
    await c2.cmd("MAIL FROM:<x@remote.example>");
    assert.match(await c2.cmd("RCPT TO:<nope@example.com>"), /^550 5\.1\.1/);
    c2.close();
  });

  test("quota: full at RCPT → 452 4.2.2; larger than quota → 552 5.2.2; at DATA → nothing stored", async () => {
    await t.store.createAccount("carol@example.com", "{PLAIN}x");
    await t.store.updateAccount("carol@example.com", { quotaBytes: 1000 });
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    await c.cmd("MAIL FROM:<x@remote.example> SIZE=5000");
    assert.match(await c.cmd("RCPT TO:<carol@example.com>"), /^552 5\.2\.2 /);
    await c.cmd("RSET");
    // no SIZE declared: accepted at RCPT, refused at end of data, nothing stored for anyone
    await c.cmd("MAIL FROM:<x@remote.example>");
    assert.match(await c.cmd("RCPT TO:<alice@example.com>"), /^250/);
    assert.match(await c.cmd("RCPT TO:<carol@example.com>"), /^250/);
    await c.cmd("DATA");
    const before = await totalMessages(t.store);
    assert.match(await c.cmd(`Subject: big\r\n\r\n${"x".repeat(2000)}\r\n.`), /^552 5\.2\.2 /);
    assert.equal(await totalMessages(t.store), before);
    // fill to the message-count limit: 452 4.2.2 at RCPT
    await t.store.updateAccount("carol@example.com", { quotaBytes: 0, quotaMessages: 1 });
    await c.cmd("MAIL FROM:<x@remote.example>");
    await c.cmd("RCPT TO:<carol@example.com>");
    await c.cmd("DATA");
    assert.match(await c.cmd("Subject: one\r\n\r\nfits\r\n."), /^250/);
    await c.cmd("MAIL FROM:<x@remote.example>");
    assert.match(await c.cmd("RCPT TO:<carol@example.com>"), /^452 4\.2\.2 /);
    c.close();
  });

  test("SIZE above the limit is refused at MAIL", async () => {
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    assert.match(await c.cmd(`MAIL FROM:<x@remote.example> SIZE=${20 * 1024 * 1024}`), /^552/);
    c.close();
  });
});
