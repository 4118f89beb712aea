/**
 * Submission-time abuse limits over real sockets (issue 5): outbound queue size (overall and per
 * user → 452 4.3.1, nothing stored or counted), per-domain sliding-hour rate limits (451 4.7.0),
 * and REQUIRETLS (RFC 8689): offered only after TLS, kept with the queue entry.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import { mailboxMessages, PASS, RawClient, startSmtp, type TestSmtp } from "./helpers.ts";

type SmtpErr = Error & { responseCode?: number; response?: string };

function transport(t: TestSmtp, user = "alice@example.com") {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port: t.submissionsPort,
    secure: true,
    auth: { user, pass: PASS },
    tls: { ca: [t.cert], servername: "localhost" },
  });
}

describe("outbound queue size limits", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp({ limits: { maxQueued: 3, maxQueuedPerUser: 2 } });
    await t.store.createAccount("carol@example.com", `{PLAIN}${PASS}`);
  });
  after(async () => {
    await t.close();
  });

  test("per user: the third queued message gets 452 4.3.1, nothing stored; local mail still flows", async () => {
    const tr = transport(t);
    const send = (to: string[]) => tr.sendMail({ from: "alice@example.com", to, subject: "q", text: "x" });
    await send(["r1@remote.example"]);
    await send(["r2@remote.example"]);
    assert.equal((await t.store.listQueue()).length, 2);
    await assert.rejects(
      send(["bob@example.com", "r3@remote.example"]),
      (e: SmtpErr) => e.responseCode === 452 && /4\.3\.1/.test(e.response ?? ""),
    );
    // nothing stored: no queue entry, and the local recipient got nothing either
    assert.equal((await t.store.listQueue()).length, 2);
    assert.equal((await mailboxMessages(t.store, "bob@example.com")).length, 0);
    // local-only mail does not touch the queue and is not limited by it
    await send(["bob@example.com"]);
    assert.equal((await mailboxMessages(t.store, "bob@example.com")).length, 1);
    tr.close();
  });

  test("overall: another user fills the queue to 3, then every user gets 452", async () => {
    const trb = transport(t, "bob@example.com");
    await trb.sendMail({ from: "bob@example.com", to: "x@remote.example", subject: "q", text: "x" });
    assert.equal((await t.store.listQueue()).length, 3);
    const trc = transport(t, "carol@example.com");
    await assert.rejects(
      trc.sendMail({ from: "carol@example.com", to: "y@remote.example", subject: "q", text: "x" }),
      (e: SmtpErr) => e.responseCode === 452 && /4\.3\.1/.test(e.response ?? ""),
    );
    // a delivered (deleted) entry makes room again
    const first = (await t.store.listQueue())[0]!;
    assert.equal(await t.store.deleteOutbound(first.id), true);
    await trc.sendMail({ from: "carol@example.com", to: "y@remote.example", subject: "q", text: "x" });
    assert.equal((await t.store.listQueue()).length, 3);
    trb.close();
    trc.close();
  });
});

describe("per-domain outbound rate limits", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp({
      limits: {
        messagesPerHour: 0,
        recipientsPerHour: 0,
        domainMessagesPerHour: 3,
        domainRecipientsPerHour: 5,
      },
    });
    await t.store.createAccount("dave@example.net", `{PLAIN}${PASS}`);
  });
  after(async () => {
    await t.close();
  });

  test("all users of example.com share the domain's hourly budget; example.net has its own", async () => {
    const a = transport(t);
    const b = transport(t, "bob@example.com");
    await a.sendMail({
      from: "alice@example.com",
      to: ["r1@remote.example", "r2@remote.example"],
      text: "1",
    });
    await b.sendMail({ from: "bob@example.com", to: ["r3@remote.example", "r4@remote.example"], text: "2" });
    // 4 recipients used; 2 more would make 6 > 5 → temporary refusal (RFC 3463 4.7.0)
    await assert.rejects(
      b.sendMail({ from: "bob@example.com", to: ["r5@remote.example", "r6@remote.example"], text: "3" }),
      (e: SmtpErr) => e.responseCode === 451 && /4\.7\.0/.test(e.response ?? ""),
    );
    assert.equal((await t.store.listQueue()).length, 2, "the refused message was not queued");
    await a.sendMail({ from: "alice@example.com", to: "r5@remote.example", text: "4" }); // 3 messages, 5 rcpts
    await assert.rejects(
      a.sendMail({ from: "alice@example.com", to: "alice@example.com", text: "5" }),
      (e: SmtpErr) => e.responseCode === 451,
    );
    // another domain is not affected
    const d = transport(t, "dave@example.net");
    await d.sendMail({ from: "dave@example.net", to: ["r1@remote.example", "r2@remote.example"], text: "6" });
    for (const x of [a, b, d]) x.close();
  });
});

describe("REQUIRETLS on submission and MX (RFC 8689)", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp();
  });
  after(async () => {
    await t.close();
  });

  test("not offered and refused without TLS (the submission test shows it offered after TLS)", async () => {
    const c = await RawClient.connect(t.mxPort);
    const ehlo = await c.cmd("EHLO client.test");
    assert.doesNotMatch(ehlo, /REQUIRETLS/);
    assert.match(ehlo, /STARTTLS/);
    const r = await c.cmd("MAIL FROM:<x@remote.example> REQUIRETLS");
    assert.match(r, /^5\d\d/, "REQUIRETLS before TLS is refused");
    c.close();
  });

  test("MX after STARTTLS: REQUIRETLS offered and accepted; the message is delivered locally", async () => {
    const tr = nodemailer.createTransport({
      host: "127.0.0.1",
      port: t.mxPort,
      secure: false,
      requireTLS: true,
      tls: { ca: [t.cert], servername: "localhost" },
    });
    await tr.sendMail({
      from: "someone@remote.example",
      to: "bob@example.com",
      subject: "rt",
      text: "over tls",
      requireTLSExtensionEnabled: true,
    } as Parameters<typeof tr.sendMail>[0]);
    tr.close();
    const box = await mailboxMessages(t.store, "bob@example.com");
    assert.equal(box.length, 1);
    assert.ok(
      t.logs.some((l) => l.msg === "smtp delivered" && (l.o as { requireTls?: boolean }).requireTls === true),
      "the delivery log notes REQUIRETLS",
    );
  });

  test("submission: MAIL FROM … REQUIRETLS over TLS is kept with the queue entry", async () => {
    const tr = nodemailer.createTransport({
      host: "127.0.0.1",
      port: t.submissionsPort,
      secure: true,
      auth: { user: "alice@example.com", pass: PASS },
      tls: { ca: [t.cert], servername: "localhost" },
      // nodemailer sends REQUIRETLS only when the server offers it
      requireTLSExtensionEnabled: true,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    await tr.sendMail({
      envelope: { from: "alice@example.com", to: ["r1@remote.example"] },
      from: "alice@example.com",
      to: "r1@remote.example",
      text: "secret",
      requireTLSExtensionEnabled: true,
    } as Parameters<typeof tr.sendMail>[0]);
    await tr.sendMail({ from: "alice@example.com", to: "r2@remote.example", text: "plain" });
    tr.close();
    const q = await t.store.listQueue();
    assert.equal(q.length, 2);
    const byRcpt = new Map(q.map((e) => [e.recipients[0]!.address, e]));
    assert.equal(byRcpt.get("r1@remote.example")!.recipients[0]!.requireTls, true);
    assert.equal(byRcpt.get("r2@remote.example")!.recipients[0]!.requireTls, undefined);
  });
});
