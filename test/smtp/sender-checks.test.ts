/**
 * Submission sender checks and fix-ups over real sockets (nodemailer with raw messages, swaks):
 * RFC 5322 §3.6 originator field counts, every From/Sender mailbox checked against what the user
 * may send as, RFC 6409 §8.2/§8.3 Date and Message-ID added (stored, Sent and queued copies; the
 * outbound DKIM signature covers them), and every SMTP refusal logged with its reason.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { dkimVerify } from "mailauth";
import nodemailer from "nodemailer";
import { dkimTxtRecord, ensureDkimKeys } from "../../src/smtp/dkim/index.ts";
import { createQueueRunner, fixtureResolver as queueResolver } from "../../src/smtp/queue/index.ts";
import { silentLogger } from "../kit/logs.ts";
import { dnsFixture, startReceiver } from "../outbound/helpers.ts";
import { mailboxMessages, PASS, RawClient, startSmtp, type TestSmtp, totalMessages } from "./helpers.ts";

const run = promisify(execFile);

function transport(t: TestSmtp, user = "alice@example.com") {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port: t.submissionsPort,
    secure: true,
    auth: { user, pass: PASS },
    tls: { ca: [t.cert], servername: "localhost" },
  });
}

let marker = 0;
/** A raw message; the first field is a unique X-Marker so that stored copies can be located. */
function msg(headers: string[], body = "body line\r\n"): { raw: Buffer; marker: string } {
  const m = `X-Marker: m${++marker}-${Date.now()}`;
  return { raw: Buffer.from(`${[m, ...headers].join("\r\n")}\r\n\r\n${body}`, "utf8"), marker: m };
}

const DATED = ["Date: Mon, 2 Jun 2025 10:00:00 +0000", "Message-ID: <fixed-1@client.example>"];

type SmtpErr = Error & { responseCode?: number; response?: string };
const refusedWith = (code: number, enhanced: string, text: RegExp) => (e: SmtpErr) => {
  assert.equal(e.responseCode, code, e.response);
  assert.ok(e.response?.startsWith(`${code} ${enhanced} `), e.response);
  assert.match(e.response ?? "", text);
  return true;
};

/** The stored copy from the marker on (the per-recipient trace fields are prefixed on read). */
function fromMarker(stored: Buffer, m: string): Buffer {
  const at = stored.indexOf(m);
  assert.ok(at >= 0, "stored copy found");
  return stored.subarray(at);
}

async function find(t: TestSmtp, address: string, m: string, mailbox = "INBOX"): Promise<Buffer | undefined> {
  return (await mailboxMessages(t.store, address, mailbox)).find((b) => b.includes(m));
}

describe("submission: From / Sender checks", () => {
  let t: TestSmtp;
  let tr: ReturnType<typeof transport>;
  before(async () => {
    t = await startSmtp();
    await t.store.addAlias("sales@example.com", "alice@example.com");
    tr = transport(t);
  });
  after(async () => {
    tr.close();
    await t.close();
  });

  /** refused with nothing stored or queued, for a local and a remote recipient */
  async function refused(headers: string[], check: (e: SmtpErr) => boolean): Promise<void> {
    const stored = await totalMessages(t.store);
    const queued = (await t.store.listQueue()).length;
    const { raw } = msg([...headers, "To: bob@example.com", "Subject: x", ...DATED]);
    await assert.rejects(
      tr.sendMail({
        envelope: { from: "alice@example.com", to: ["bob@example.com", "carol@remote.example"] },
        raw,
      }),
      check,
    );
    assert.equal(await totalMessages(t.store), stored, "nothing stored");
    assert.equal((await t.store.listQueue()).length, queued, "nothing queued");
  }

  test("two From fields → 550 5.6.0, nothing stored or queued", async () => {
    await refused(
      ["From: alice@example.com", "From: mallory@evil.example"],
      refusedWith(550, "5.6.0", /2 From header fields/),
    );
    // both From fields naming the user's own addresses are refused too: the count is the rule
    await refused(
      ["From: alice@example.com", "From: sales@example.com"],
      refusedWith(550, "5.6.0", /exactly one/),
    );
    // field names are case-insensitive (RFC 5322 §1.2.2)
    await refused(["From: alice@example.com", "FROM: alice@example.com"], refusedWith(550, "5.6.0", /From/));
  });

  test("two Sender fields → 550 5.6.0", async () => {
    await refused(
      ["From: alice@example.com", "Sender: alice@example.com", "Sender: mallory@evil.example"],
      refusedWith(550, "5.6.0", /2 Sender header fields/),
    );
  });

  test("a foreign mailbox anywhere in From → 550 5.7.1", async () => {
    const foreign = /From header address <mallory@evil\.example> not owned by user alice@example\.com/;
    await refused(
      ["From: alice@example.com, mallory@evil.example", "Sender: alice@example.com"],
      refusedWith(550, "5.7.1", foreign),
    );
    // folded, with an encoded-word display name and a comment
    await refused(
      [
        "From: =?UTF-8?Q?Al=C3=AFce?= <alice@example.com>,",
        " =?UTF-8?B?TWFsbG9yeQ==?= (the boss)",
        "\t<mallory@evil.example>",
        "Sender: alice@example.com",
      ],
      refusedWith(550, "5.7.1", foreign),
    );
    // inside a group (RFC 6854)
    await refused(
      ["From: Team: alice@example.com, mallory@evil.example;", "Sender: alice@example.com"],
      refusedWith(550, "5.7.1", foreign),
    );
    // a quoted local part that hides an "@"
    await refused(
      ['From: "mallory@evil.example"@example.com'],
      refusedWith(550, "5.7.1", /not owned by user/),
    );
  });

  test("Sender foreign, or not exactly one mailbox → refused", async () => {
    await refused(
      ["From: alice@example.com", "Sender: Mallory <mallory@evil.example>"],
      refusedWith(550, "5.7.1", /Sender header address <mallory@evil\.example> not owned/),
    );
    await refused(
      ["From: alice@example.com", "Sender: alice@example.com, sales@example.com"],
      refusedWith(550, "5.6.0", /exactly one mailbox/),
    );
  });

  test("several From mailboxes without Sender; malformed From; no From → 550 5.6.0", async () => {
    await refused(
      ["From: alice@example.com, sales@example.com"],
      refusedWith(550, "5.6.0", /Sender header field is required/),
    );
    await refused(
      ["From: alice@example.com (unterminated, <mallory@evil.example>"],
      refusedWith(550, "5.6.0", /Malformed From header field: unterminated comment/),
    );
    await refused(["Reply-To: alice@example.com"], refusedWith(550, "5.6.0", /no From header field/));
  });

  test("several owned From mailboxes with an owned Sender → accepted, delivered with both", async () => {
    const { raw, marker: m } = msg([
      "From: Alice <alice@example.com>, Sales <sales@example.com>",
      "Sender: alice@example.com",
      "To: bob@example.com",
      "Subject: both owned",
      ...DATED,
    ]);
    const info = await tr.sendMail({ envelope: { from: "alice@example.com", to: ["bob@example.com"] }, raw });
    assert.match(info.response, /^250 2\.0\.0 /);
    const stored = await find(t, "bob@example.com", m);
    assert.ok(stored);
    assert.deepEqual(fromMarker(stored, m), raw, "stored byte-exact");
  });

  test("quoted local part, comments, encoded words and an empty-group From with Sender are accepted", async () => {
    for (const headers of [
      ['From: "alice"@example.com (Alice, <mallory@evil.example>)'],
      ["From: =?UTF-8?Q?Al=C3=AFce_=28sales=29?= <Sales@Example.COM>"],
      ["From: undisclosed-authors:;", "Sender: alice@example.com"],
    ]) {
      const { raw, marker: m } = msg([...headers, "To: bob@example.com", "Subject: ok", ...DATED]);
      const info = await tr.sendMail({
        envelope: { from: "alice@example.com", to: ["bob@example.com"] },
        raw,
      });
      assert.match(info.response, /^250 /, headers.join(" | "));
      assert.ok(await find(t, "bob@example.com", m));
    }
  });

  test("swaks with a second From header → 550 5.6.0", async () => {
    const stored = await totalMessages(t.store);
    const r = await run(
      "swaks",
      [
        "--server",
        "127.0.0.1",
        "--port",
        String(t.submissionsPort),
        "-tlsc",
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
        "--add-header",
        "From: ceo@evil.example",
        "--body",
        "x",
      ],
      { timeout: 20_000 },
    ).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
    assert.match(r.stdout, /<~?\* +550 5\.6\.0 Message has 2 From header fields/);
    assert.equal(await totalMessages(t.store), stored);
  });

  test("every refusal is logged with session, remoteAddress, user and the reason", async () => {
    t.logs.length = 0;
    await refused(
      ["From: alice@example.com", "Sender: mallory@evil.example"],
      refusedWith(550, "5.7.1", /Sender/),
    );
    const l = t.logs.find((x) => x.msg === "smtp rejected");
    assert.ok(l, JSON.stringify(t.logs));
    assert.equal(l.level, "warn");
    const o = l.o as Record<string, unknown>;
    assert.equal(o.command, "DATA");
    assert.equal(o.user, "alice@example.com");
    assert.equal(o.remoteAddress, "127.0.0.1");
    assert.equal(typeof o.session, "string");
    assert.equal(o.code, 550);
    assert.match(String(o.reason), /^5\.7\.1 Sender header address <mallory@evil\.example> not owned/);
    assert.equal(o.headerSender, "mallory@evil.example");
    // MX: an unknown recipient and relaying (RCPT), at info and warn
    t.logs.length = 0;
    const c = await RawClient.connect(t.mxPort);
    await c.cmd("EHLO client.test");
    assert.match(await c.cmd("MAIL FROM:<x@sender.example>"), /^250/);
    assert.match(await c.cmd("RCPT TO:<nobody@example.com>"), /^550 5\.1\.1 /);
    assert.match(await c.cmd("RCPT TO:<x@elsewhere.example>"), /^550 5\.7\.1 /);
    c.close();
    const rej = t.logs.filter((x) => x.msg === "smtp rejected");
    assert.deepEqual(
      rej.map((x) => [x.level, (x.o as Record<string, unknown>).to, (x.o as Record<string, unknown>).mode]),
      [
        ["info", "nobody@example.com", "mx"],
        ["warn", "x@elsewhere.example", "mx"],
      ],
    );
    // submission: a failed AUTH and a foreign MAIL FROM
    t.logs.length = 0;
    const bad = nodemailer.createTransport({
      host: "127.0.0.1",
      port: t.submissionsPort,
      secure: true,
      auth: { user: "alice@example.com", pass: "wrong" },
      tls: { ca: [t.cert], servername: "localhost" },
    });
    await assert.rejects(bad.sendMail({ from: "alice@example.com", to: "bob@example.com", text: "x" }));
    bad.close();
    await assert.rejects(
      tr.sendMail({ envelope: { from: "bob@example.com", to: ["bob@example.com"] }, raw: msg([]).raw }),
      refusedWith(550, "5.7.1", /Sender address <bob@example\.com> not owned/),
    );
    const cmds = t.logs
      .filter((x) => x.msg === "smtp rejected")
      .map((x) => [(x.o as Record<string, unknown>).command, (x.o as Record<string, unknown>).user]);
    assert.deepEqual(cmds, [
      ["AUTH", "alice@example.com"],
      ["MAIL", "alice@example.com"],
    ]);
  });
});

describe("submission fix-ups: Date and Message-ID (RFC 6409 §8.2, §8.3)", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp();
    await t.store.updateAccount("alice@example.com", { settings: { saveSentCopy: true } });
  });
  after(async () => {
    await t.close();
  });

  test("missing Date and Message-ID are added to the delivered, Sent and queued copies", async () => {
    const headers = [
      "From: alice@example.com",
      "To: bob@example.com, carol@remote.example",
      "Subject: fix me",
    ];
    const { raw, marker: m } = msg(headers, "first\r\n\r\nsecond\r\n");
    const tr = transport(t);
    const before = Date.now();
    await tr.sendMail({
      envelope: { from: "alice@example.com", to: ["bob@example.com", "carol@remote.example"] },
      raw,
    });
    tr.close();
    const inbox = await find(t, "bob@example.com", m);
    const sent = await find(t, "alice@example.com", m, "Sent");
    assert.ok(inbox && sent);
    const got = fromMarker(inbox, m);
    // the header section as sent, then Date and Message-ID, then the empty line and the body as sent
    const head = Buffer.from(`${m}\r\n${headers.join("\r\n")}\r\n`);
    assert.deepEqual(got.subarray(0, head.length), head);
    const added = got.subarray(head.length).toString("latin1");
    const fx = /^Date: ([^\r\n]+)\r\nMessage-ID: <([^@\s>]+)@mx\.test>\r\n\r\nfirst\r\n\r\nsecond\r\n$/.exec(
      added,
    );
    assert.ok(fx, added);
    assert.ok(Math.abs(Date.parse(fx[1]!) - before) < 60_000, fx[1]);
    assert.ok(fx[2]!.length >= 16);
    assert.deepEqual(fromMarker(sent, m), got, "the Sent copy is the same message");
    const q = (await t.store.listQueue()).find((e) =>
      e.recipients.some((r) => r.address === "carol@remote.example"),
    );
    assert.ok(q);
    const queued = Buffer.from((await t.store.getQueuedMessage(q.id))!);
    assert.deepEqual(fromMarker(queued, m), got, "the queued copy is the same message");
  });

  test("Message-IDs are unique; a message without body gets the fields at the end", async () => {
    const tr = transport(t);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const m = `X-Marker: nobody-${i}-${Date.now()}`;
      const raw = Buffer.from(`${m}\r\nFrom: alice@example.com\r\nSubject: no body\r\n`);
      await tr.sendMail({ envelope: { from: "alice@example.com", to: ["bob@example.com"] }, raw });
      const got = fromMarker((await find(t, "bob@example.com", m))!, m).toString("latin1");
      const fx =
        /^X-Marker: [^\r\n]+\r\nFrom: alice@example\.com\r\nSubject: no body\r\nDate: [^\r\n]+\r\nMessage-ID: (<[^>]+>)\r\n$/.exec(
          got,
        );
      assert.ok(fx, got);
      ids.push(fx[1]!);
    }
    tr.close();
    assert.notEqual(ids[0], ids[1]);
  });

  test("a present Date and Message-ID are left untouched (any case of the field name)", async () => {
    const tr = transport(t);
    for (const dated of [
      DATED,
      ["date: Tue, 3 Jun 2025 11:00:00 +0200", "MESSAGE-ID:\r\n <folded@client.example>"],
    ]) {
      const { raw, marker: m } = msg([
        "From: alice@example.com",
        "To: bob@example.com",
        "Subject: dated",
        ...dated,
      ]);
      await tr.sendMail({ envelope: { from: "alice@example.com", to: ["bob@example.com"] }, raw });
      const stored = await find(t, "bob@example.com", m);
      assert.ok(stored);
      assert.deepEqual(fromMarker(stored, m), raw);
    }
    tr.close();
  });

  test("only the missing one is added", async () => {
    const tr = transport(t);
    const { raw, marker: m } = msg(["From: alice@example.com", "Subject: has date", DATED[0]!]);
    await tr.sendMail({ envelope: { from: "alice@example.com", to: ["bob@example.com"] }, raw });
    tr.close();
    const got = fromMarker((await find(t, "bob@example.com", m))!, m).toString("latin1");
    assert.equal((got.match(/^Date:/gim) ?? []).length, 1);
    assert.match(got, /\r\nMessage-ID: <[^>]+@mx\.test>\r\n\r\nbody line\r\n$/);
  });
});

describe("submission fix-ups reach the outbound DKIM signature", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp();
  });
  after(async () => {
    await t.close();
  });

  test("the added Date and Message-ID are signed (h=) and the signatures verify", async () => {
    const txt: Record<string, string[]> = {};
    for (const k of await ensureDkimKeys(t.store.keys, "example.com"))
      txt[`${k.selector}._domainkey.example.com`] = [dkimTxtRecord(k)];
    const r = await startReceiver();
    try {
      const { raw, marker: m } = msg(["From: alice@example.com", "To: bob@remote.test", "Subject: signed"]);
      const tr = transport(t);
      await tr.sendMail({ envelope: { from: "alice@example.com", to: ["bob@remote.test"] }, raw });
      tr.close();
      const silent = silentLogger;
      const runner = createQueueRunner({
        store: t.store,
        logger: silent,
        hostname: "mx.test",
        resolver: queueResolver(dnsFixture("remote.test", r.host, { TXT: txt })),
        port: r.port,
        pollIntervalMs: 50,
        concurrency: 1,
        retryBaseMs: 30,
        retryMaxMs: 1000,
        lifetimeMs: 60_000,
        leaseMs: 60_000,
        connectTimeoutMs: 5000,
        timeoutMs: 10_000,
        dkim: { keys: t.store.keys },
      });
      assert.equal(await runner.runOnce(), 1);
      assert.equal(r.received.length, 1);
      const data = r.received[0]!.data;
      const body = fromMarker(data, m).toString("latin1");
      assert.match(body, /\r\nDate: [^\r\n]+\r\nMessage-ID: <[^>]+@mx\.test>\r\n\r\n/);
      const v = await dkimVerify(data, { resolver: queueResolver({ TXT: txt }) as never });
      assert.deepEqual(
        v.results.map((x) => x.status.result),
        ["pass", "pass"],
      );
      for (const x of v.results) {
        const signed = (x as { signingHeaders?: { keys?: string } }).signingHeaders?.keys ?? "";
        assert.match(signed.toLowerCase(), /(^|:\s*)date(\s*:|$)/, signed);
        assert.match(signed.toLowerCase(), /(^|:\s*)message-id(\s*:|$)/, signed);
      }
    } finally {
      await r.close();
    }
  });
});
