import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accessOf, parseDateTime, parseImapUrl } from "./imap-url.ts";

describe("parseImapUrl (RFC 5092 / RFC 4467)", () => {
  it("absolute URL with section, partial, expire and a full URLAUTH", () => {
    const rump =
      "imap://joe%40example.com;AUTH=*@Mail.Example.com:143/INBOX/Sub;UIDVALIDITY=7/;uid=20/;section=1.2/;partial=0.10;EXPIRE=2030-01-02T03:04:05Z;urlauth=submit+fred";
    const u = parseImapUrl(`${rump}:internal:${"a".repeat(32)}`);
    assert.ok(u);
    assert.deepEqual(u.server, { user: "joe@example.com", host: "mail.example.com", port: 143 });
    assert.equal(u.mailbox, "INBOX/Sub");
    assert.equal(u.uidValidity, 7);
    assert.equal(u.uid, 20);
    assert.deepEqual(u.partial, { offset: 0, length: 10 });
    assert.equal(u.expire, Date.UTC(2030, 0, 2, 3, 4, 5));
    assert.deepEqual(u.urlauth, {
      rump,
      access: "submit+fred",
      mechanism: "internal",
      token: "a".repeat(32),
    });
  });

  it("rump only; relative forms", () => {
    assert.equal(parseImapUrl("imap://a@h/INBOX/;UID=1;URLAUTH=authuser")?.urlauth?.mechanism, null);
    assert.equal(parseImapUrl("/INBOX/;UID=3")?.mailbox, "INBOX");
    assert.equal(parseImapUrl(";UID=3")?.mailbox, null);
  });

  it("malformed URLs are null", () => {
    for (const bad of [
      "",
      "imap://h/INBOX/;UID=1", // no user
      "imap://a@h/INBOX/;UID=0",
      "imap://a@h/INBOX/;UID=1;URLAUTH=nobody",
      "imap://a@h/INBOX/;UID=1;URLAUTH=authuser:internal:abc", // token under 32 HEXDIG
      `imap://a@h/INBOX/;UID=1;URLAUTH=authuser:internal:${"g".repeat(32)}`,
      "imap://a@h/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00Z", // EXPIRE without URLAUTH
      "imap://a@h/INBOX/;UID=1;URLAUTH=authuser;EXPIRE=2030-01-01T00:00:00Z",
      "imap://a@h/INBOX/;UID=1;EXPIRE=2030-02-30T00:00:00Z;URLAUTH=authuser",
      "imap://a@h/IN BOX/;UID=1",
      "imap://a@h/%ZZ/;UID=1",
    ])
      assert.equal(parseImapUrl(bad), null, bad);
  });

  it("date-time with offsets; access identifiers", () => {
    assert.equal(parseDateTime("2030-01-01T01:00:00+01:00"), Date.UTC(2030, 0, 1));
    assert.equal(parseDateTime("2030-01-01t00:00:00.5z"), Date.UTC(2030, 0, 1));
    assert.equal(parseDateTime("2030-13-01T00:00:00Z"), null);
    assert.deepEqual(accessOf("USER+bob%40x.org"), { kind: "user", user: "bob@x.org" });
    assert.deepEqual(accessOf("Anonymous"), { kind: "anonymous" });
    assert.equal(accessOf("submit+"), null);
  });
});
