/**
 * Submission over real sockets with real clients: nodemailer (STARTTLS on "587", implicit TLS on
 * "465") and Debian's swaks; auth, sender ownership, queue, limits, Sent copy; an attachment's
 * SHA-256 survives to IMAP FETCH BODY[].
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import { createImapServer } from "../../src/imap/server/index.ts";
import { testAuthenticator } from "../kit/store.ts";
import { mailboxMessages, PASS, RawClient, startSmtp, type TestSmtp, totalMessages } from "./helpers.ts";

const run = promisify(execFile);

function transport(t: TestSmtp, o: { implicit: boolean; user?: string; pass?: string }) {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port: o.implicit ? t.submissionsPort : t.submissionPort,
    secure: o.implicit,
    requireTLS: !o.implicit,
    auth: { user: o.user ?? "alice@example.com", pass: o.pass ?? PASS },
    tls: { ca: [t.cert], servername: "localhost" },
  });
}

describe("SMTP submission", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp({ limits: { messagesPerHour: 0, recipientsPerHour: 0 } });
  });
  after(async () => {
    await t.close();
  });

  test("nodemailer over STARTTLS: local recipient delivered at once, remote one queued with DSN params", async () => {
    const tr = transport(t, { implicit: false });
    const info = await tr.sendMail({
      from: "Alice <alice@example.com>",
      to: ["bob@example.com", "carol@remote.example"],
      subject: "hello over starttls",
      text: "body",
      dsn: { id: "env-1", return: "headers", notify: ["failure", "delay"], recipient: "alice@example.com" },
    });
    tr.close();
    assert.match(info.response, /^250 2\.0\.0 /);
    const bob = await mailboxMessages(t.store, "bob@example.com");
    assert.equal(bob.length, 1);
    assert.match(
      bob[0]!.toString("latin1"),
      /^Delivered-To: bob@example\.com\r\nReceived: from [^\r\n]+\r\n\tby mx\.test \(postkontor\) with ESMTPSA id /,
    );
    const q = await t.store.listQueue();
    assert.equal(q.length, 1);
    assert.equal(q[0]!.mailFrom, "alice@example.com");
    assert.deepEqual(
      q[0]!.recipients.map((r) => r.address),
      ["carol@remote.example"],
    );
    assert.deepEqual(q[0]!.recipients[0]!.notify, ["FAILURE", "DELAY"]);
    assert.equal(q[0]!.envid, "env-1");
    assert.equal(q[0]!.ret, "HDRS");
    const queued = Buffer.from((await t.store.getQueuedMessage(q[0]!.id))!).toString("latin1");
    assert.match(queued, /^Received: from /);
    assert.match(queued, /Subject: hello over starttls/);
  });

  test("nodemailer over implicit TLS; an attachment's SHA-256 survives to IMAP FETCH BODY[]", async () => {
    const attachment = randomBytes(300 * 1024);
    const sha = createHash("sha256").update(attachment).digest("hex");
    await t.store.updateAccount("bob@example.com", { quotaBytes: 100 * 1024 * 1024, quotaMessages: 1000 });
    const tr = transport(t, { implicit: true });
    await tr.sendMail({
      from: "alice@example.com",
      to: "bob@example.com",
      subject: "with attachment",
      text: "see attached",
      attachments: [{ filename: "data.bin", content: attachment, contentType: "application/octet-stream" }],
    });
    tr.close();
    // IMAP on the same store
    const auth = testAuthenticator(t.store);
    const noop = () => {};
    const imap = createImapServer({
      store: t.store,
      auth,
      tls: null,
      logger: { info: noop, warn: noop, error: noop, debug: noop } as never,
      hostname: "imap.test",
      limits: {
        maxLineLength: 8192,
        maxLiteralSize: 10 * 1024 * 1024,
        maxLiteralSizeUnauth: 1024,
        maxBadCommands: 5,
        idleTimeoutMs: 30 * 60_000,
        unauthTimeoutMs: 60_000,
        maxConnectionsPerUser: 20,
        maxConnectionsPerIp: 50,
      },
      allowPlaintextAuth: true,
    });
    const srv = net.createServer((s) => imap.handleConnection(s, { implicitTls: false }));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: (srv.address() as net.AddressInfo).port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: "bob@example.com", pass: PASS },
      logger: false,
    });
    try {
      await client.connect();
      await client.mailboxOpen("INBOX");
      const msg = await client.fetchOne("*", { source: true });
      const src = msg ? msg.source?.toString("latin1") : undefined;
      assert.ok(src, "message fetched");
      const m = /filename=data\.bin\r\n(?:[^\r\n]+\r\n)*\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(src);
      assert.ok(m, "attachment part found");
      const decoded = Buffer.from(m[1]!.replace(/\r\n/g, ""), "base64");
      assert.equal(createHash("sha256").update(decoded).digest("hex"), sha);
      // RFC 9208: usage right after the SMTP delivery, STORAGE in units of 1024 octets
      const acc = (await t.store.getAccount("bob@example.com"))!;
      const q = (await client.getQuota("INBOX")) as {
        storage?: { usage: number; limit: number };
        message?: { usage: number; limit: number };
      };
      assert.equal(q.storage?.usage, Math.ceil(acc.usedBytes / 1024) * 1024);
      assert.ok(acc.usedBytes > attachment.length);
      assert.equal(q.message?.usage, acc.usedMessages);
      assert.equal(q.message?.limit, 1000);
      await client.logout();
    } finally {
      await imap.closeAll("test done");
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  test("swaks over STARTTLS and over implicit TLS", async () => {
    const before = (await mailboxMessages(t.store, "bob@example.com")).length;
    for (const mode of [
      ["--port", String(t.submissionPort), "-tls"],
      ["--port", String(t.submissionsPort), "-tlsc"],
    ]) {
      const { stdout } = await run(
        "swaks",
        [
          "--server",
          "127.0.0.1",
          ...mode,
          "--auth",
          "PLAIN",
          "--auth-user",
          "alice@example.com",
          "--auth-password",
          PASS,
          "--from",
          "alice@example.com",
          "--to",
          "bob@example.com",
          "--header",
          "Subject: via swaks",
          "--body",
          "swaks body",
        ],
        { timeout: 20_000 },
      );
      assert.match(stdout, /<~ {2}250 2\.0\.0 OK/);
    }
    const after = await mailboxMessages(t.store, "bob@example.com");
    assert.equal(after.length, before + 2);
    assert.match(after.at(-1)!.toString("latin1"), /Subject: via swaks/);
  });

  test("wrong password → 535 5.7.8; AUTH before STARTTLS → 538 5.7.11; MAIL without AUTH → 530", async () => {
    const stored = await totalMessages(t.store);
    const tr = transport(t, { implicit: true, pass: "wrong" });
    await assert.rejects(
      tr.sendMail({ from: "alice@example.com", to: "bob@example.com", subject: "x", text: "x" }),
      (e: Error & { responseCode?: number; response?: string }) =>
        e.responseCode === 535 && /5\.7\.8/.test(e.response ?? ""),
    );
    tr.close();
    const c = await RawClient.connect(t.submissionPort);
    const ehlo = await c.cmd("EHLO client.test");
    assert.match(ehlo, /STARTTLS/);
    assert.match(
      await c.cmd(`AUTH PLAIN ${Buffer.from(`\0alice@example.com\0${PASS}`).toString("base64")}`),
      /^538 5\.7\.11 /,
    );
    assert.match(await c.cmd("MAIL FROM:<alice@example.com>"), /^530/);
    c.close();
    assert.equal(await totalMessages(t.store), stored);
  });

  test("spoofed MAIL FROM or From header → 550 5.7.1, nothing stored or queued; aliases are allowed", async () => {
    const stored = await totalMessages(t.store);
    const queued = (await t.store.listQueue()).length;
    const tr = transport(t, { implicit: true });
    await assert.rejects(
      tr.sendMail({
        envelope: { from: "bob@example.com", to: ["bob@example.com"] },
        from: "alice@example.com",
        subject: "x",
        text: "x",
      }),
      (e: Error & { responseCode?: number; response?: string }) =>
        e.responseCode === 550 && /5\.7\.1/.test(e.response ?? ""),
    );
    await assert.rejects(
      tr.sendMail({
        envelope: { from: "alice@example.com", to: ["x@remote.example"] },
        from: "ceo@example.com",
        subject: "x",
        text: "x",
      }),
      (e: Error & { responseCode?: number; response?: string }) =>
        e.responseCode === 550 && /5\.7\.1/.test(e.response ?? ""),
    );
    assert.equal(await totalMessages(t.store), stored);
    assert.equal((await t.store.listQueue()).length, queued);
    await t.store.addAlias("sales@example.com", "alice@example.com");
    const info = await tr.sendMail({
      from: "Sales <sales@example.com>",
      to: "bob@example.com",
      subject: "alias",
      text: "x",
    });
    assert.match(info.response, /^250/);
    tr.close();
  });

  test("save-to-Sent is off by default and on per account", async () => {
    const tr = transport(t, { implicit: true });
    await tr.sendMail({ from: "alice@example.com", to: "bob@example.com", subject: "no copy", text: "x" });
    assert.equal((await mailboxMessages(t.store, "alice@example.com", "Sent")).length, 0);
    await t.store.updateAccount("alice@example.com", { settings: { saveSentCopy: true } });
    await tr.sendMail({ from: "alice@example.com", to: "bob@example.com", subject: "with copy", text: "x" });
    tr.close();
    const sent = await mailboxMessages(t.store, "alice@example.com", "Sent");
    assert.equal(sent.length, 1);
    assert.match(sent[0]!.toString("latin1"), /Subject: with copy/);
    await t.store.updateAccount("alice@example.com", { settings: { saveSentCopy: false } });
  });
});

describe("SMTP submission limits", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp({ limits: { messagesPerHour: 2, recipientsPerHour: 3 } });
  });
  after(async () => {
    await t.close();
  });

  test("per-user hourly message and recipient limits → 451 4.7.0", async () => {
    const tr = transport(t, { implicit: true });
    const send = (to: string[]) => tr.sendMail({ from: "alice@example.com", to, subject: "n", text: "x" });
    await send(["bob@example.com", "carol@remote.example"]);
    // 2 more recipients would make 4 > 3
    await assert.rejects(
      send(["bob@example.com", "x@remote.example"]),
      (e: Error & { responseCode?: number; response?: string }) =>
        e.responseCode === 451 && /4\.7\.0/.test(e.response ?? ""),
    );
    await send(["bob@example.com"]);
    // third message in the hour
    await assert.rejects(
      send(["bob@example.com"]),
      (e: Error & { responseCode?: number }) => e.responseCode === 451,
    );
    tr.close();
    // bob's own limit is separate
    const trb = transport(t, { implicit: true, user: "bob@example.com" });
    await trb.sendMail({ from: "bob@example.com", to: "alice@example.com", subject: "n", text: "x" });
    trb.close();
  });
});
