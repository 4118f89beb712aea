/**
 * Vacation responses (RFC 3834, RFC 8621 §8) over real SMTP: a message delivered to an account
 * whose vacation is on gets one auto-reply to its envelope sender — queued with the null
 * reverse-path for a remote sender, delivered to the INBOX of a local one — and none for each
 * RFC 3834 exclusion, a second message within the interval, or outside the date window.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { autoRepliesSettled } from "../../src/smtp/vacation.ts";
import type { QueueEntry } from "../../src/store/types.ts";
import { mailboxMessages, PASS, RawClient, startSmtp, type TestSmtp } from "./helpers.ts";

/** sends one message over the MX; returns the DATA reply */
async function sendMx(port: number, mailFrom: string, rcpt: string, msg: string): Promise<string> {
  const c = await RawClient.connect(port);
  await c.cmd("EHLO client.test");
  assert.match(await c.cmd(`MAIL FROM:<${mailFrom}>`), /^250/);
  assert.match(await c.cmd(`RCPT TO:<${rcpt}>`), /^250/);
  assert.match(await c.cmd("DATA"), /^354/);
  const r = await c.cmd(`${msg}.`);
  c.close();
  return r;
}

function msg(o: { to?: string; subject?: string; extra?: string; id?: string } = {}): string {
  return (
    `From: Sender <x@remote.example>\r\nTo: ${o.to ?? "Alice <alice@example.com>"}\r\n` +
    `Subject: ${o.subject ?? "Meeting"}\r\nMessage-ID: ${o.id ?? `<${Math.random().toString(36).slice(2)}@remote.example>`}\r\n` +
    `${o.extra ?? ""}\r\nHello Alice\r\n`
  );
}

describe("vacation responses over SMTP", () => {
  let t: TestSmtp;
  let alice: number;
  /** queue entries addressed to `to` */
  const queuedFor = async (to: string): Promise<QueueEntry[]> => {
    await autoRepliesSettled();
    return (await t.store.listQueue()).filter((q) => q.recipients.some((r) => r.address === to));
  };

  before(async () => {
    t = await startSmtp({ allowPlaintextAuth: true });
    alice = (await t.store.getAccount("alice@example.com"))!.id;
    await t.store.setVacationResponse(alice, {
      isEnabled: true,
      textBody: "Back on Monday.",
      fromDate: new Date(Date.now() - 86_400_000),
      toDate: new Date(Date.now() + 86_400_000),
    });
  });
  after(async () => {
    await t.close();
  });

  test("one auto-reply to the envelope sender, with the RFC 3834 fields, queued with <>", async () => {
    const id = "<orig.1@remote.example>";
    const r = await sendMx(
      t.mxPort,
      "first@remote.example",
      "alice@example.com",
      msg({ id, extra: "References: <older@remote.example>\r\n" }),
    );
    assert.match(r, /^250 /);
    const q = await queuedFor("first@remote.example");
    assert.equal(q.length, 1);
    assert.equal(q[0]!.mailFrom, "", "RFC 3834 §3.3: null reverse-path");
    assert.equal(q[0]!.accountId, alice);
    const reply = Buffer.from((await t.store.getQueuedMessage(q[0]!.id))!).toString("utf8");
    assert.match(reply, /^From: <alice@example\.com>\r\n/m);
    assert.match(reply, /^To: <first@remote\.example>\r\n/m);
    assert.match(reply, /^Subject: Auto: Meeting\r\n/m);
    assert.match(reply, /^Auto-Submitted: auto-replied\r\n/m);
    assert.match(reply, /^In-Reply-To: <orig\.1@remote\.example>\r\n/m);
    assert.match(reply, /^References: <older@remote\.example>\r\n <orig\.1@remote\.example>\r\n/m);
    assert.match(reply, /^Message-ID: <[^>]+@example\.com>\r\n/m);
    assert.match(reply, /\r\n\r\nBack on Monday\.\r\n$/);
    // the original was delivered as usual
    const inbox = await mailboxMessages(t.store, "alice@example.com");
    assert.ok(inbox.some((m) => m.includes(id)));
  });

  test("a second message from the same sender within the interval gets none", async () => {
    await sendMx(t.mxPort, "twice@remote.example", "alice@example.com", msg());
    assert.equal((await queuedFor("twice@remote.example")).length, 1);
    await sendMx(t.mxPort, "twice@remote.example", "alice@example.com", msg({ subject: "again" }));
    assert.equal((await queuedFor("twice@remote.example")).length, 1);
    // the same sender in another case is the same sender
    await sendMx(t.mxPort, "TWICE@remote.example", "alice@example.com", msg({ subject: "third" }));
    assert.equal((await queuedFor("TWICE@remote.example")).length, 0);
  });

  const exclusions: Array<[string, string, string]> = [
    [
      "Auto-Submitted: auto-generated",
      "auto1@remote.example",
      msg({ extra: "Auto-Submitted: auto-generated\r\n" }),
    ],
    [
      "Auto-Submitted: auto-replied",
      "auto2@remote.example",
      msg({ extra: "Auto-Submitted: auto-replied\r\n" }),
    ],
    ["List-Id", "list1@remote.example", msg({ extra: "List-Id: <talk.lists.example>\r\n" })],
    [
      "List-Unsubscribe",
      "list2@remote.example",
      msg({ extra: "List-Unsubscribe: <mailto:u@x.example>\r\n" }),
    ],
    ["Precedence: bulk", "bulk1@remote.example", msg({ extra: "Precedence: bulk\r\n" })],
    ["Precedence: list", "bulk2@remote.example", msg({ extra: "Precedence: list\r\n" })],
    ["Precedence: junk", "bulk3@remote.example", msg({ extra: "Precedence: junk\r\n" })],
    ["recipient not in To/Cc", "bcc1@remote.example", msg({ to: "Someone <someone@remote.example>" })],
    ["MAILER-DAEMON", "MAILER-DAEMON@remote.example", msg()],
    ["owner-*", "owner-talk@remote.example", msg()],
    ["*-request", "talk-request@remote.example", msg()],
    ["own address", "alice@example.com", msg()],
  ];
  for (const [name, sender, m] of exclusions) {
    test(`no reply: ${name}`, async () => {
      assert.match(await sendMx(t.mxPort, sender, "alice@example.com", m), /^250 /);
      assert.equal((await queuedFor(sender)).length, 0);
    });
  }

  test("no reply to the null reverse-path", async () => {
    const before = (await t.store.listQueue()).length;
    assert.match(await sendMx(t.mxPort, "", "alice@example.com", msg()), /^250 /);
    await autoRepliesSettled();
    assert.equal((await t.store.listQueue()).length, before);
  });

  test("Auto-Submitted: no and a Cc to the account are answered", async () => {
    const m = msg({ to: "someone@remote.example", extra: "Cc: alice@example.com\r\nAuto-Submitted: no\r\n" });
    await sendMx(t.mxPort, "human@remote.example", "alice@example.com", m);
    assert.equal((await queuedFor("human@remote.example")).length, 1);
  });

  test("outside the date window: none", async () => {
    const bob = (await t.store.getAccount("bob@example.com"))!.id;
    const m = msg({ to: "bob@example.com" });
    await t.store.setVacationResponse(bob, { isEnabled: true, fromDate: new Date(Date.now() + 3_600_000) });
    await sendMx(t.mxPort, "early@remote.example", "bob@example.com", m);
    assert.equal((await queuedFor("early@remote.example")).length, 0);
    await t.store.setVacationResponse(bob, { fromDate: null, toDate: new Date(Date.now() - 3_600_000) });
    await sendMx(t.mxPort, "late@remote.example", "bob@example.com", m);
    assert.equal((await queuedFor("late@remote.example")).length, 0);
    await t.store.setVacationResponse(bob, { isEnabled: false, toDate: null });
    await sendMx(t.mxPort, "off@remote.example", "bob@example.com", m);
    assert.equal((await queuedFor("off@remote.example")).length, 0);
  });

  test("a local sender (submission) gets the reply in INBOX; html makes it multipart/alternative", async () => {
    await t.store.setVacationResponse(alice, { subject: "Away", htmlBody: "<p>Back on Monday.</p>" });
    const before = (await mailboxMessages(t.store, "bob@example.com")).length;
    const c = await RawClient.connect(t.submissionPort);
    await c.cmd("EHLO client.test");
    const plain = Buffer.from(`\0bob@example.com\0${PASS}`).toString("base64");
    assert.match(await c.cmd(`AUTH PLAIN ${plain}`), /^235/);
    assert.match(await c.cmd("MAIL FROM:<bob@example.com>"), /^250/);
    assert.match(await c.cmd("RCPT TO:<alice@example.com>"), /^250/);
    assert.match(await c.cmd("DATA"), /^354/);
    const body =
      "From: bob@example.com\r\nTo: alice@example.com\r\nSubject: lunch?\r\n" +
      "Message-ID: <lunch.1@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nLunch?\r\n";
    assert.match(await c.cmd(`${body}.`), /^250 /);
    c.close();
    await autoRepliesSettled();
    const inbox = await mailboxMessages(t.store, "bob@example.com");
    assert.equal(inbox.length, before + 1);
    const reply = inbox[inbox.length - 1]!.toString("utf8");
    assert.match(reply, /^Subject: Away\r\n/m);
    assert.match(reply, /^Auto-Submitted: auto-replied\r\n/m);
    assert.match(reply, /^In-Reply-To: <lunch\.1@example\.com>\r\n/m);
    assert.match(reply, /^Content-Type: multipart\/alternative; boundary="/m);
    assert.match(
      reply,
      /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nBack on Monday\./,
    );
    assert.match(
      reply,
      /Content-Type: text\/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>Back on Monday\.<\/p>/,
    );
    // the reply to a local sender is not queued
    assert.equal((await queuedFor("bob@example.com")).length, 0);
  });
});
