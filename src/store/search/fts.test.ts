import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Fixture, fixture, msg } from "../testing/helpers.ts";
import { charLength, ftsPhrase, headerLineMatches } from "./fts.ts";

describe("fts helpers", () => {
  test("ftsPhrase doubles quotes", () => {
    assert.equal(ftsPhrase('say "hi"'), '"say ""hi"""');
  });
  test("charLength counts code points", () => {
    assert.equal(charLength("日本"), 2);
    assert.equal(charLength("a😀"), 2);
  });
  test("headerLineMatches checks the named header's value only", () => {
    const h = "From: Alice <alice@example.org>\nSubject: Quarterly report\n";
    assert.ok(headerLineMatches(h, "subject", "REPORT"));
    assert.ok(!headerLineMatches(h, "from", "report"));
    assert.ok(!headerLineMatches(h, "subject", "subject"), "the name itself is not the value");
    assert.ok(headerLineMatches(h, "from", ""));
    assert.ok(!headerLineMatches(h, "cc", ""));
  });
  test("address lines (after the empty line) answer FROM/TO/CC/BCC; HEADER sees the field lines", () => {
    const h = 'From: "Joe" (boss) <joe@example.com>\nSubject: s\n\nfrom: Joe <joe@example.com>\n';
    assert.ok(headerLineMatches(h, "from", "boss"), "HEADER FROM: the field text");
    assert.ok(!headerLineMatches(h, "from", "boss", true), "FROM: the parsed address, no comment");
    assert.ok(headerLineMatches(h, "from", "joe <joe@", true));
    assert.ok(!headerLineMatches(h, "from", "joe <joe@"));
    // texts indexed before the address lines existed: FROM falls back to the field lines
    assert.ok(headerLineMatches("From: (boss) joe@example.com\n", "from", "boss", true));
  });
});

describe("searchText", () => {
  let f: Fixture;
  const uid: Record<string, number> = {};
  before(async () => {
    f = await fixture();
    const put = async (key: string, o: Parameters<typeof msg>[0]) => {
      uid[key] = (await f.store.append(f.accountId, f.inbox, { raw: msg(o) })).uid;
    };
    await put("report", {
      subject: "Quarterly Report",
      body: "Revenue grew by 12 percent.\r\nSee attached.",
    });
    await put("german", { subject: "Grüße aus München", body: "Schöne GRÜSSE und bis bald" });
    await put("japanese", { subject: "会議の件", body: "明日の会議は十時からです。" });
    await put("quote", { subject: "quoted", body: 'He said "hello world" and left; x' });
    await put("encoded", {
      subject: "=?utf-8?q?Caf=C3=A9_menu?=",
      body: "nothing special",
      from: "Zoë <zoe@example.net>",
    });
    // the same text in another mailbox must not leak into INBOX results
    const other = await f.store.createMailbox(f.accountId, "Other");
    await f.store.append(f.accountId, other.id, {
      raw: msg({ subject: "Quarterly Report", body: "Revenue" }),
    });
  });
  after(() => f.close());

  const s = (field: "text" | "body" | "header", value: string, header?: string) =>
    f.store.searchText(f.inbox, header === undefined ? { field, value } : { field, value, header });

  test("substring, case-insensitive, restricted to the mailbox", async () => {
    assert.deepEqual(await s("text", "quarterly rep"), [uid.report]);
    assert.deepEqual(await s("text", "EVENU"), [uid.report]);
    assert.deepEqual(await s("body", "revenue grew"), [uid.report]);
    assert.deepEqual(await s("body", "quarterly"), [], "subject is not body");
    assert.deepEqual(await s("text", "no such text anywhere"), []);
  });

  test("UTF-8 text, case folding beyond ASCII, decoded headers", async () => {
    assert.deepEqual(await s("text", "grüße"), [uid.german]);
    assert.deepEqual(await s("body", "grüsse"), [uid.german]);
    assert.deepEqual(await s("text", "MÜNCHEN"), [uid.german]);
    assert.deepEqual(await s("text", "会議"), [uid.japanese], "2-char CJK needle (short path)");
    assert.deepEqual(await s("body", "十時から"), [uid.japanese]);
    assert.deepEqual(await s("header", "café", "subject"), [uid.encoded], "RFC 2047 decoded");
    assert.deepEqual(await s("header", "ZOË", "from"), [uid.encoded]);
  });

  test("short needles (1-2 chars) fall back to scanning", async () => {
    assert.deepEqual(await s("body", "12"), [uid.report]);
    assert.deepEqual(await s("body", "ö"), [uid.german]);
    assert.deepEqual(await s("text", "ZZ"), []);
    assert.deepEqual(await s("header", "Qu", "subject"), [uid.report, uid.quote]);
  });

  test("quotes and FTS syntax characters in the needle are literal", async () => {
    assert.deepEqual(await s("body", '"hello world"'), [uid.quote]);
    assert.deepEqual(await s("body", "left; x"), [uid.quote]);
    assert.deepEqual(await s("text", "AND OR NOT"), []);
    assert.deepEqual(await s("text", "*"), []);
    assert.deepEqual(await s("text", "(hello"), []);
  });

  test("header field: value must be in that header", async () => {
    assert.deepEqual(await s("header", "report", "subject"), [uid.report]);
    assert.deepEqual(await s("header", "report", "from"), []);
    assert.deepEqual(await s("header", "alice@example", "from"), [
      uid.report,
      uid.german,
      uid.japanese,
      uid.quote,
    ]);
    const all = await s("header", "", "subject");
    assert.equal(all.length, 5, "empty value: every message with the header");
    assert.deepEqual(await s("header", "", "x-missing"), []);
  });

  test("empty text value matches every message", async () => {
    assert.equal((await s("text", "")).length, 5);
  });
});
