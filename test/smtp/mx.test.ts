/** MX transcripts over real sockets: extensions, recipients, relaying, smuggling, quota, aliases. */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import { mailboxMessages, PASS, RawClient, startSmtp, type TestSmtp, totalMessages } from "./helpers.ts";

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

  test("the replies to a pipelined group leave in one write; a refusal is not held back", async () => {
    // a listener of our own hands its sockets to the server, counting the writes on each
    const writes: number[] = [];
    type Counted = net.Socket & Record<"_write" | "_writev", (...a: unknown[]) => unknown>;
    const srv = net.createServer((s) => {
      const i = writes.push(0) - 1;
      const sock = s as Counted;
      for (const k of ["_write", "_writev"] as const) {
        const f = sock[k].bind(sock);
        sock[k] = (...a: unknown[]) => {
          writes[i]!++;
          return f(...a);
        };
      }
      t.smtp.handleConnection(s, { mode: "mx" });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const c = await RawClient.connect((srv.address() as net.AddressInfo).port);
    try {
      await c.cmd("EHLO client.test");
      const before = writes[0]!;
      c.write(
        "MAIL FROM:<p@remote.example>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n",
      );
      assert.match(await c.reply(), /^250/);
      assert.match(await c.reply(), /^250/);
      assert.match(await c.reply(), /^250/);
      assert.match(await c.reply(), /^354/);
      assert.equal(writes[0]! - before, 1, "MAIL, RCPT, RCPT and DATA answered in one write");
      c.write(`${MSG}.\r\n`);
      assert.match(await c.reply(), /^250 2\.0\.0/);
      // a refused recipient's reply is written at once, after the 250 that waits before it
      c.write("MAIL FROM:<p@remote.example>\r\nRCPT TO:<nobody@example.com>\r\n");
      assert.match(await c.reply(), /^250/);
      assert.match(await c.reply(), /^550 5\.1\.1/);
      assert.match(await c.cmd("QUIT"), /^221/);
    } finally {
      c.close();
      await new Promise<void>((r) => srv.close(() => r()));
    }
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

describe("SMTP MX: forged Authentication-Results (RFC 8601 §5)", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp();
  });
  after(async () => {
    await t.close();
  });

  test("fields claiming our authserv-id are renamed before storing; everything else is byte-exact", async () => {
    const head =
      "From: ceo@bank.example\r\nTo: alice@example.com\r\nSubject: pay\r\n" +
      "Authentication-Results: other.example; spf=pass\r\n";
    const tail = "\r\nbody line\r\nAuthentication-Results: mx.test; in the body\r\n";
    const forged = "Authentication-Results: MX.test; dkim=pass header.d=bank.example\r\n";
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    await c.cmd("MAIL FROM:<ceo@bank.example>");
    assert.match(await c.cmd("RCPT TO:<alice@example.com>"), /^250/);
    assert.match(await c.cmd("DATA"), /^354/);
    assert.match(await c.cmd(`${head}${forged}${tail}.`), /^250 2\.0\.0/);
    c.close();
    const stored = (await mailboxMessages(t.store, "alice@example.com")).at(-1)!.toString("latin1");
    const expected = `${head}X-Original-${forged}${tail}`;
    assert.ok(stored.endsWith(expected), stored);
    // the only Authentication-Results naming us would be our own (none here: authn is off)
    const header = stored.slice(0, stored.indexOf("\r\n\r\n"));
    assert.doesNotMatch(header, /^Authentication-Results: mx\.test/im);
    assert.ok(t.logs.some((l) => l.msg === "smtp renamed Authentication-Results claiming our authserv-id"));
  });

  test("submission: a local user cannot forge our verdict for another local user either", async () => {
    const { default: nodemailer } = await import("nodemailer");
    const tr = nodemailer.createTransport({
      host: "127.0.0.1",
      port: t.submissionsPort,
      secure: true,
      auth: { user: "alice@example.com", pass: PASS },
      tls: { ca: t.cert, servername: "localhost" },
    });
    const raw =
      "From: alice@example.com\r\nTo: bob@example.com\r\nAuthentication-Results: mx.test; dmarc=pass\r\nSubject: x\r\n" +
      // Date and Message-ID present: the submission fix-ups (RFC 6409 §8) leave the bytes alone
      "Date: Mon, 2 Jun 2025 10:00:00 +0000\r\nMessage-ID: <ar-1@example.com>\r\n\r\nhi\r\n";
    await tr.sendMail({ envelope: { from: "alice@example.com", to: ["bob@example.com"] }, raw });
    tr.close();
    const stored = (await mailboxMessages(t.store, "bob@example.com")).at(-1)!.toString("latin1");
    assert.ok(
      stored.endsWith(raw.replace("Authentication-Results", "X-Original-Authentication-Results")),
      stored,
    );
  });
});

describe("SMTP per-IP connection limit", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp({ limits: { maxConnectionsPerIp: 2 } });
  });
  after(async () => {
    await t.close();
  });

  const greeting = async (port: number, secure = false): Promise<{ line: string; sock: net.Socket }> => {
    const sock = secure
      ? tls.connect({ port, host: "127.0.0.1", ca: t.cert, servername: "localhost" })
      : net.connect(port, "127.0.0.1");
    const line = await new Promise<string>((resolve, reject) => {
      let buf = "";
      const timer = setTimeout(() => reject(new Error(`no greeting: ${buf}`)), 5000);
      sock.on("data", (d: Buffer) => {
        buf += d.toString("latin1");
        if (buf.includes("\r\n")) {
          clearTimeout(timer);
          resolve(buf.slice(0, buf.indexOf("\r\n")));
        }
      });
      sock.on("error", reject);
    });
    return { line, sock };
  };
  const closed = (sock: net.Socket) =>
    new Promise<void>((resolve, reject) => {
      if (sock.destroyed || sock.readableEnded) return resolve();
      const timer = setTimeout(() => reject(new Error("socket stayed open")), 5000);
      sock.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      sock.resume();
    });

  test("the connection beyond the limit gets 421 and is closed; limits count over all modes; freed on close", async () => {
    const a = await greeting(t.mxPort);
    assert.match(a.line, /^220 /);
    const b = await greeting(t.submissionsPort, true);
    assert.match(b.line, /^220 /);
    const c = await greeting(t.submissionPort);
    assert.match(c.line, /^421 mx\.test /);
    await closed(c.sock);
    const d = await greeting(t.mxPort);
    assert.match(d.line, /^421 /);
    await closed(d.sock);
    assert.ok(t.logs.some((l) => l.msg === "smtp per-IP connection limit reached"));
    // a session still works while at the limit
    a.sock.write("NOOP\r\n");
    a.sock.destroy();
    await closed(a.sock);
    // the freed slot is available again (the server sees the close asynchronously: bounded retry)
    let again = "";
    for (let i = 0; i < 50 && !again.startsWith("220"); i++) {
      const e = await greeting(t.mxPort);
      again = e.line;
      e.sock.destroy();
      if (!again.startsWith("220")) await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(again, /^220 /);
    b.sock.destroy();
  });
});
