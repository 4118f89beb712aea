/** The RFC 3834 rules and the reply's octets (vacation-rules.ts), without a server. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { VacationResponse } from "../store/types.ts";
import {
  buildVacationReply,
  encodeWords,
  returnPath,
  type VacationCheck,
  vacationVerdict,
} from "./vacation-rules.ts";

const NOW = new Date("2026-07-01T12:00:00Z");
const ON: VacationResponse = {
  isEnabled: true,
  fromDate: null,
  toDate: null,
  subject: null,
  textBody: "Away.",
  htmlBody: null,
};

function check(o: Partial<VacationCheck> & { header?: string }): VacationCheck {
  const header =
    o.header ??
    "From: a@remote.example\r\nTo: Me <me@example.com>\r\nSubject: Hi\r\nMessage-ID: <m1@remote.example>\r\n";
  return {
    settings: ON,
    mailFrom: "a@remote.example",
    raw: Buffer.from(`${header}\r\nbody\r\n`),
    ownAddresses: ["me@example.com", "alias@example.com"],
    now: NOW,
    ...o,
  };
}

const reason = (c: VacationCheck) => {
  const v = vacationVerdict(c);
  return v.reply ? "reply" : v.reason;
};

describe("vacationVerdict (RFC 3834 §2)", () => {
  test("answers a personal message and returns the original's fields", () => {
    const v = vacationVerdict(check({}));
    assert.deepEqual(v, {
      reply: true,
      original: { subject: "Hi", messageId: "<m1@remote.example>", references: null },
    });
  });

  test("disabled, and the date window [fromDate, toDate)", () => {
    assert.equal(reason(check({ settings: { ...ON, isEnabled: false } })), "disabled");
    assert.equal(
      reason(check({ settings: { ...ON, fromDate: new Date(NOW.getTime() + 1) } })),
      "outside dates",
    );
    assert.equal(reason(check({ settings: { ...ON, fromDate: NOW } })), "reply");
    assert.equal(reason(check({ settings: { ...ON, toDate: NOW } })), "outside dates");
    assert.equal(reason(check({ settings: { ...ON, toDate: new Date(NOW.getTime() + 1) } })), "reply");
  });

  test("senders that are never answered", () => {
    assert.equal(reason(check({ mailFrom: "" })), "null sender");
    assert.equal(reason(check({ mailFrom: "<>" })), "null sender");
    assert.equal(reason(check({ mailFrom: "ME@example.com" })), "own address");
    assert.equal(reason(check({ mailFrom: "alias@example.com" })), "own address");
    assert.equal(reason(check({ mailFrom: "Mailer-Daemon@remote.example" })), "system sender");
    assert.equal(reason(check({ mailFrom: "owner-list@remote.example" })), "system sender");
    assert.equal(reason(check({ mailFrom: "list-request@remote.example" })), "system sender");
    assert.equal(reason(check({ mailFrom: "list-owner@remote.example" })), "system sender");
  });

  test("header fields: Auto-Submitted, List-*, Precedence", () => {
    const h = (extra: string) => `From: a@remote.example\r\nTo: me@example.com\r\n${extra}`;
    assert.equal(reason(check({ header: h("Auto-Submitted: auto-generated\r\n") })), "auto-submitted");
    assert.equal(
      reason(check({ header: h("auto-submitted: Auto-Replied; owner-email=x@y\r\n") })),
      "auto-submitted",
    );
    assert.equal(reason(check({ header: h("Auto-Submitted: No (a person)\r\n") })), "reply");
    assert.equal(reason(check({ header: h("List-Id: <l.example>\r\n") })), "mailing list");
    assert.equal(reason(check({ header: h("List-Post: <mailto:l@example.org>\r\n") })), "mailing list");
    assert.equal(reason(check({ header: h("Precedence: BULK\r\n") })), "bulk");
    assert.equal(reason(check({ header: h("Precedence: list\r\n") })), "bulk");
    assert.equal(reason(check({ header: h("Precedence: junk\r\n") })), "bulk");
    assert.equal(reason(check({ header: h("Precedence: first-class\r\n") })), "reply");
  });

  test("the account must be in To, Cc, Bcc or Resent-*", () => {
    const h = (fields: string) => `From: a@remote.example\r\n${fields}Subject: x\r\n`;
    assert.equal(reason(check({ header: h("To: other@remote.example\r\n") })), "not addressed");
    assert.equal(reason(check({ header: h("") })), "not addressed");
    assert.equal(reason(check({ header: h("To: undisclosed-recipients:;\r\n") })), "not addressed");
    assert.equal(reason(check({ header: h("To: x@r.example,\r\n Alias <ALIAS@example.com>\r\n") })), "reply");
    assert.equal(reason(check({ header: h("Cc: me@example.com\r\n") })), "reply");
    assert.equal(reason(check({ header: h("Bcc: me@example.com\r\n") })), "reply");
    assert.equal(reason(check({ header: h("Resent-To: me@example.com\r\n") })), "reply");
    assert.equal(reason(check({ header: h("To: Team: me@example.com, b@x.example;\r\n") })), "reply");
  });
});

describe("buildVacationReply (RFC 3834 §3)", () => {
  const original = {
    subject: "Hi =?UTF-8?Q?there?=",
    messageId: "<m1@remote.example>",
    references: "<r0@x> junk <r1@x>",
  };

  test("header fields, text body", () => {
    const r = Buffer.from(
      buildVacationReply({
        from: "me@example.com",
        to: "a@remote.example",
        settings: ON,
        original,
        now: NOW,
      }),
    ).toString("utf8");
    const [head, body] = r.split("\r\n\r\n");
    assert.match(head!, /^From: <me@example\.com>$/m);
    assert.match(head!, /^To: <a@remote\.example>$/m);
    assert.match(head!, /^Subject: Auto: Hi =\?UTF-8\?Q\?there\?=$/m);
    assert.match(head!, /^Date: Wed, 1 Jul 2026 12:00:00 \+0000$/m);
    assert.match(head!, /^In-Reply-To: <m1@remote\.example>$/m);
    assert.match(head!, /^References: <r0@x>\r\n <r1@x>\r\n <m1@remote\.example>$/m);
    assert.match(head!, /^Auto-Submitted: auto-replied$/m);
    assert.match(head!, /^Content-Type: text\/plain; charset=utf-8$/m);
    assert.equal(body, "Away.\r\n");
  });

  test("own subject (non-ASCII encoded), html only (text made from it), no Message-ID in the original", () => {
    const settings = {
      ...ON,
      subject: "Im Urlaub – zurück am Montag",
      textBody: null,
      htmlBody: "<p>Weg</p>",
    };
    const r = Buffer.from(
      buildVacationReply({
        from: "me@example.com",
        to: "a@remote.example",
        settings,
        original: { subject: null, messageId: null, references: null },
        now: NOW,
      }),
    ).toString("utf8");
    assert.match(r, /^Subject: =\?UTF-8\?B\?/m);
    assert.doesNotMatch(r, /In-Reply-To|References/);
    // RFC 8621 §8: the text part is made from the HTML
    assert.match(r, /^Content-Type: multipart\/alternative; boundary=/m);
    assert.match(
      r,
      /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nWeg\r\n/,
    );
    assert.match(
      r,
      /Content-Type: text\/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>Weg<\/p>\r\n/,
    );
    const subject = /^Subject: (.*(?:\r\n .*)*)$/m.exec(r)![1]!;
    const decoded = subject
      .split(/\r\n /)
      .map((w) => Buffer.from(/^=\?UTF-8\?B\?(.*)\?=$/.exec(w)![1]!, "base64").toString("utf8"))
      .join("");
    assert.equal(decoded, settings.subject);
  });

  test("a non-ASCII text body is base64; bare LF becomes CRLF", () => {
    const r = Buffer.from(
      buildVacationReply({
        from: "me@example.com",
        to: "a@remote.example",
        settings: { ...ON, textBody: "Grüße\nbis bald" },
        original,
        now: NOW,
      }),
    ).toString("utf8");
    assert.match(r, /Content-Transfer-Encoding: base64/);
    const b64 = r.split("\r\n\r\n")[1]!.replace(/\r\n/g, "");
    assert.equal(Buffer.from(b64, "base64").toString("utf8"), "Grüße\r\nbis bald");
  });

  test("encodeWords keeps every word within 75 octets", () => {
    const words = encodeWords("ü".repeat(200)).split("\r\n ");
    assert.ok(words.length > 1);
    for (const w of words) assert.ok(w.length <= 75, w);
  });

  test("returnPath", () => {
    assert.equal(returnPath(Buffer.from("Return-Path: <a@b.example>\r\nTo: x\r\n\r\n")), "a@b.example");
    assert.equal(returnPath(Buffer.from("Return-Path: <>\r\n\r\n")), "");
    assert.equal(returnPath(Buffer.from("To: x\r\n\r\n")), null);
  });
});
