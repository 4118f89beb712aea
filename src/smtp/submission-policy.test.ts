import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  addMissingFields,
  addressStringKey,
  checkOriginatorFields,
  messageIdDomain,
} from "./submission-policy.ts";

const allowed = new Set(["alice@example.com", "sales@example.com", "jörg@xn--exmple-cua.org"]);
const check = (head: string) =>
  checkOriginatorFields({
    raw: Buffer.from(`${head}\r\n\r\nbody\r\n`, "utf8"),
    allowed,
    user: "alice@example.com",
  });

test("address keys: quoted local parts unquoted, case folded, domain as A-label", () => {
  assert.equal(addressStringKey('"Alice"@Example.COM'), "alice@example.com");
  assert.equal(addressStringKey('"a\\"b"@example.com'), 'a"b@example.com');
  assert.equal(addressStringKey("jörg@exämple.org"), "jörg@xn--exmple-cua.org");
  assert.equal(addressStringKey('"x@evil.example"@example.com'), "x@evil.example@example.com");
  assert.equal(addressStringKey("nodomain"), null);
  assert.equal(addressStringKey("@example.com"), null);
});

test("originator fields: accepted forms", () => {
  for (const head of [
    "From: alice@example.com",
    "From: Alice <alice@example.com>",
    "From: alice(comment)@example.com (Alice)",
    'From: "Alice, the \\"boss\\"" <"alice"@example.com>',
    "From: =?UTF-8?B?w4FsaWNl?= <alice@example.com>",
    "From: Alice <alice@example.com>,\r\n\tSales <sales@example.com>\r\nSender: alice@example.com",
    "From: jörg@exämple.org",
    "From: Team: alice@example.com;\r\nSender: sales@example.com",
    "From: Team:;\r\nSender: alice@example.com",
    "Sender: alice@example.com\r\nFrom: <alice@example.com>",
  ]) {
    const r = check(head);
    assert.equal(r.rejection, null, `${head}: ${r.rejection?.text}`);
  }
});

test("originator fields: refusals with their codes", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["Subject: x", "5.6.0", /no From header field/],
    ["From: alice@example.com\r\nfrom: alice@example.com", "5.6.0", /2 From header fields/],
    [
      "From: alice@example.com\r\nSender: alice@example.com\r\nSender: alice@example.com",
      "5.6.0",
      /2 Sender/,
    ],
    ["From: alice@example.com, sales@example.com", "5.6.0", /Sender header field is required/],
    ["From: Team:;", "5.6.0", /names no mailbox/],
    ["From: alice@example.com\r\nSender: Team: alice@example.com;", "5.6.0", /exactly one mailbox/],
    ["From: alice@example.com\r\nSender:", "5.6.0", /exactly one mailbox/],
    ['From: "alice@example.com <x@evil.example>', "5.6.0", /unterminated quoted string/],
    ["From: alice@example.com (x", "5.6.0", /unterminated comment/],
    ["From: <alice@example.com", "5.6.0", /unterminated angle bracket/],
    ["From: <<x@evil.example>>", "5.6.0", /nested angle bracket/],
    ["From: alice@example.com)", "5.6.0", /unbalanced parenthesis/],
    ["From: mallory@evil.example", "5.7.1", /From header address <mallory@evil\.example> not owned/],
    ["From: alice@example.com, x@evil.example\r\nSender: alice@example.com", "5.7.1", /<x@evil\.example>/],
    ["From: alice@example.com\r\nSender: x@evil.example", "5.7.1", /Sender header address <x@evil\.example>/],
    ["From: alice", "5.7.1", /not owned/],
    ["From: alice@example.com.evil", "5.7.1", /not owned/],
    ["From: alice@[127.0.0.1]", "5.7.1", /not owned/],
    ["From: =?UTF-8?Q?a,b?= <alice@example.com>", "5.6.0", /Sender header field is required/],
    ["From: =?UTF-8?Q?a,b?= <alice@example.com>\r\nSender: alice@example.com", "5.7.1", /not owned/],
  ];
  for (const [head, enhanced, text] of cases) {
    const r = check(head);
    assert.ok(r.rejection, head);
    assert.equal(r.rejection.code, 550, head);
    assert.equal(r.rejection.enhanced, enhanced, head);
    assert.match(r.rejection.text, text, head);
  }
});

test("originator check is linear on hostile input", () => {
  const big = `From: ${"(".repeat(200_000)}${'"'.repeat(200_001)}${"<a,".repeat(100_000)}`;
  const t0 = Date.now();
  const r = check(big);
  assert.ok(r.rejection);
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
});

test("fix-ups: Date and Message-ID inserted before the empty line, the rest byte-exact", () => {
  const now = new Date(Date.UTC(2025, 5, 2, 10, 0, 0));
  const raw = Buffer.from("From: a@b.example\r\nSubject: s\r\n\r\nbody\r\n\r\n");
  const r = addMissingFields({ raw, idDomain: "mx.example", now });
  assert.deepEqual(r.added, ["Date", "Message-ID"]);
  const s = r.data.toString("latin1");
  assert.match(
    s,
    /^From: a@b\.example\r\nSubject: s\r\nDate: Mon, 2 Jun 2025 10:00:00 \+0000\r\nMessage-ID: <[A-Za-z0-9._-]+@mx\.example>\r\n\r\nbody\r\n\r\n$/,
  );
  // present (any case, folded) → the very same buffer
  const dated = Buffer.from("From: a@b\r\nDATE: x\r\nmessage-id:\r\n <i@d>\r\n\r\nb\r\n");
  assert.equal(addMissingFields({ raw: dated, idDomain: "d" }).data, dated);
  // header-only messages, an empty header section, a last line without CRLF
  assert.match(
    addMissingFields({ raw: Buffer.from("From: a@b\r\n"), idDomain: "d", now }).data.toString(),
    /^From: a@b\r\nDate: [^\r]+\r\nMessage-ID: <[^>]+@d>\r\n$/,
  );
  assert.match(
    addMissingFields({ raw: Buffer.from("\r\nbody"), idDomain: "d", now }).data.toString(),
    /^Date: [^\r]+\r\nMessage-ID: <[^>]+@d>\r\n\r\nbody$/,
  );
  assert.match(
    addMissingFields({ raw: Buffer.from("From: a@b"), idDomain: "d", now }).data.toString(),
    /^Date: [^\r]+\r\nMessage-ID: <[^>]+@d>\r\nFrom: a@b$/,
  );
});

test("fix-ups property: removing the added lines gives back the input", () => {
  const line = fc.stringMatching(/^[A-Za-z-]{1,10}: [ -~]{0,20}$/);
  fc.assert(
    fc.property(fc.array(line, { maxLength: 6 }), fc.string({ maxLength: 40 }), (heads, body) => {
      const raw = Buffer.from(`${heads.map((h) => `${h}\r\n`).join("")}\r\n${body.replace(/[\r\n]/g, "")}`);
      const r = addMissingFields({ raw, idDomain: "d.example" });
      let s = r.data.toString("latin1");
      for (const name of r.added) {
        const at = s.startsWith(`${name}: `) ? 0 : s.indexOf(`\r\n${name}: `) + 2;
        assert.ok(at >= 0, name);
        s = s.slice(0, at) + s.slice(s.indexOf("\r\n", at) + 2);
      }
      assert.equal(s, raw.toString("latin1"));
    }),
  );
});

test("Message-ID domain: the hostname when it has a dot, else the author's domain", () => {
  assert.equal(messageIdDomain("mail.example.org", ["a@x.example"], "u@y.example"), "mail.example.org");
  assert.equal(messageIdDomain("localhost", ["a@x.example"], "u@y.example"), "x.example");
  assert.equal(messageIdDomain("localhost", [], "u@y.example"), "y.example");
});
