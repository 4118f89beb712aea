import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeCharset } from "./bytes.ts";
import { parseStructured } from "./header.ts";
import {
  asciiCasemap,
  baseSubject,
  compareOctets,
  headerValues,
  htmlToText,
  parseDate,
  parseMessage,
  searchText,
  sortKeys,
} from "./index.ts";
import { fixture } from "./test-helpers.ts";
import { addressSearchText } from "./text.ts";

describe("header decoding", () => {
  it("RFC 2047 encoded words in iso-8859-1, windows-1252, koi8-r, iso-2022-jp, utf-8", () => {
    const raw = fixture("encoded-words.eml");
    const p = parseMessage(raw);
    assert.deepEqual(headerValues(raw, p, "Subject"), ["てすと😊"]);
    assert.deepEqual(headerValues(raw, p, "from"), ["André Pirard <PIRARD@vm1.ulg.ac.be>"]);
    assert.deepEqual(headerValues(raw, p, "TO"), ["Привет <ivan@example.ru>"]);
    assert.deepEqual(headerValues(raw, p, "cc"), ["€uro “quoted” <euro@example.com>"]);
    // whitespace (incl. folding) between adjacent encoded words is dropped (RFC 2047 §6.2)
    assert.deepEqual(headerValues(raw, p, "x-test"), ["this is some text continued"]);
    assert.deepEqual(headerValues(raw, p, "x-absent"), []);
  });

  it("returns every field of a repeated name, in order", () => {
    const raw = Buffer.from("Received: one\r\nX: y\r\nreceived: two\r\n two-b\r\n\r\n");
    assert.deepEqual(headerValues(raw, parseMessage(raw), "received"), ["one", "two two-b"]);
  });

  it("8-bit header bytes: UTF-8 when valid, else ISO-8859-1", () => {
    const raw = fixture("8bit-headers.eml");
    const p = parseMessage(raw);
    assert.deepEqual(headerValues(raw, p, "x-latin1"), ["café"]);
    assert.deepEqual(headerValues(raw, p, "subject"), ["Grüße — raw UTF-8"]);
  });

  it("RFC 2231 continuations and charset'lang'value (with a plain segment)", () => {
    const raw = fixture("rfc2231.eml");
    const p = parseMessage(raw);
    assert.deepEqual(p.root.contentType.params, [["title", "This is even more ***fun*** isn't it!"]]);
    assert.deepEqual(p.root.disposition, { type: "attachment", params: [["filename", "naïve file.txt"]] });
  });

  it("structured values: quoted strings, comments, duplicate and junk parameters", () => {
    assert.deepEqual(parseStructured('text/plain (comment); charset="utf\\"8"; format=flowed'), {
      value: "text/plain",
      params: [
        ["charset", 'utf"8'],
        ["format", "flowed"],
      ],
    });
    assert.deepEqual(parseStructured("attachment; filename=my file.pdf; junk; filename=second"), {
      value: "attachment",
      params: [["filename", "my file.pdf"]],
    });
    assert.deepEqual(parseStructured('multipart/mixed; boundary="a;b"'), {
      value: "multipart/mixed",
      params: [["boundary", "a;b"]],
    });
  });

  it("charsets: unknown falls back to UTF-8; latin1 label; never throws", () => {
    assert.equal(decodeCharset(Buffer.from([0x63, 0x61, 0x66, 0xe9]), "iso-8859-1"), "café");
    assert.equal(decodeCharset(Buffer.from("héllo"), "x-no-such-charset"), "héllo");
    assert.equal(decodeCharset(Buffer.from("+AGQ-"), "utf-7"), "d");
    assert.equal(
      decodeCharset(Buffer.from([0x1b, 0x24, 0x42, 0x24, 0x46, 0x1b, 0x28, 0x42]), "ISO-2022-JP"),
      "て",
    );
  });
});

describe("searchText", () => {
  it("decodes headers and text parts; strips HTML; includes attachment names; skips binary", () => {
    const raw = fixture("alternative.eml");
    const t = searchText(raw, parseMessage(raw));
    assert.match(t.headers, /^From: "Doe, Jane" <jane@example.org>\n/m);
    assert.match(t.headers, /^Subject: Grüße aus Köln$/m);
    assert.match(t.body, /Schöne Grüße aus Köln, this line is soft-broken\./);
    assert.match(t.body, /Schöne Grüße & more/);
    assert.doesNotMatch(t.body, /<p>|hidden=1|JVBER/);
    assert.match(t.body, /€ report final\.pdf/);
  });

  it("charset-decodes koi8-r bodies and includes nested message headers", () => {
    let raw = fixture("encoded-words.eml");
    assert.match(searchText(raw, parseMessage(raw)).body, /Привет мир/);
    raw = fixture("nested.eml");
    const t = searchText(raw, parseMessage(raw));
    assert.match(t.body, /Subject: innermost/);
    assert.match(t.body, /innermost body/);
    assert.match(t.body, /middle text/);
    assert.doesNotMatch(t.headers, /innermost/);
  });

  it("caps body text (default 1 MiB, overridable)", () => {
    const raw = Buffer.from("Subject: big\r\n\r\n" + "0123456789\r\n".repeat(200_000));
    const p = parseMessage(raw);
    assert.equal(searchText(raw, p).body.length, 1024 * 1024);
    assert.equal(searchText(raw, p, { maxBodyChars: 10 }).body, "0123456789");
  });
});

describe("htmlToText", () => {
  it("strips tags, comments, scripts; keeps lone '<'; decodes entities", () => {
    assert.equal(
      htmlToText("<p>a &lt; b &amp;&#x41;&#66;</p><!-- c --><script>d()</script>e < f<br>g"),
      "\na < b &AB\n e < f\ng",
    );
    assert.equal(htmlToText("x<!-- never closed <p>y"), "x ");
    assert.equal(htmlToText("x<style>y"), "x ");
    assert.equal(htmlToText("x<b"), "x");
  });

  it("terminates on hostile input (the test timeout guards against blow-ups)", () => {
    htmlToText("<a href='x'>y</a><!-- z ".repeat(50_000));
    htmlToText("<script>".repeat(50_000));
    baseSubject("[a]".repeat(100_000));
    baseSubject("Re: [a] ".repeat(100_000) + "x");
  });
});

describe("sortKeys (RFC 5256, RFC 5957)", () => {
  it("base subject extraction (RFC 5256 §2.1)", () => {
    assert.equal(baseSubject("Re: Fwd: [list] Hello (fwd)"), "hello");
    assert.equal(baseSubject("  RE:re: Fw:   test  (fwd) (FWD)"), "test");
    assert.equal(baseSubject("[fwd: Re: hi]"), "hi");
    assert.equal(baseSubject("Re: [foo]"), "[foo]");
    assert.equal(baseSubject("[PATCH v2] [net] fix it"), "fix it");
    assert.equal(baseSubject("re [blob]: subject"), "subject");
    assert.equal(baseSubject("Re [blob] x: subject"), "re [blob] x: subject");
    assert.equal(baseSubject("Re[2]: tab\tand  spaces"), "tab and spaces");
    assert.equal(baseSubject("Re: "), "");
    assert.equal(baseSubject("Ref: not a reply"), "ref: not a reply");
  });

  it("dates: RFC 5322 and obsolete forms; invalid → null", () => {
    assert.equal(parseDate("Mon, 7 Feb 1994 21:52:25 -0800 (PST)"), Date.UTC(1994, 1, 8, 5, 52, 25));
    assert.equal(
      parseDate("Thu,\r\n 13\r\n Feb 1969 23:32 -0330 (Newfoundland Time)"),
      Date.UTC(1969, 1, 14, 3, 2, 0),
    );
    assert.equal(parseDate("1 Jan 99 00:00 GMT"), Date.UTC(1999, 0, 1));
    assert.equal(parseDate("1 Jan 49 00:00 GMT"), Date.UTC(2049, 0, 1));
    assert.equal(parseDate("1 Jan 103 00:00 +0000"), Date.UTC(2003, 0, 1));
    assert.equal(parseDate("21 Nov 97 09:55:06 EST"), Date.UTC(1997, 10, 21, 14, 55, 6));
    assert.equal(parseDate("Fri, 21 Nov 1997 09:55:06 Z"), Date.UTC(1997, 10, 21, 9, 55, 6));
    assert.equal(parseDate("Wed Dec 31 23:59:60 2008"), Date.UTC(2008, 11, 31, 23, 59, 59));
    assert.equal(parseDate("30 Feb 2020 10:00 +0000"), null);
    assert.equal(parseDate("yesterday"), null);
    assert.equal(parseDate(""), null);
    assert.equal(parseDate(null), null);
  });

  it("first addresses, display names and dates from messages", () => {
    let raw = fixture("groups.eml");
    let k = sortKeys(raw, parseMessage(raw));
    // string keys in i;ascii-casemap form; a list that opens with a group sorts by the group name
    // (RFC 5256 §3, RFC 5957 §3)
    assert.deepEqual(k, {
      subject: 'SAYING HELLO \\ "QUOTES"',
      from: "PETE",
      to: "A GROUP",
      cc: "HIDDEN RECIPIENTS",
      date: Date.UTC(1969, 1, 14, 3, 2, 0),
      displayFrom: "PETE",
      displayTo: "A GROUP",
    });
    raw = fixture("encoded-words.eml");
    k = sortKeys(raw, parseMessage(raw));
    assert.equal(k.subject, "てすと😊");
    // i;ascii-casemap folds a–z only
    assert.equal(k.displayFrom, "ANDRé PIRARD");
    assert.equal(k.displayTo, "Привет");
    assert.equal(k.from, "PIRARD");
    raw = fixture("simple.eml");
    k = sortKeys(raw, parseMessage(raw));
    assert.equal(k.displayTo, "MOOCH@OWATAGU.SIAM.EDU.EXAMPLE");
    assert.equal(k.date, Date.UTC(1994, 1, 8, 5, 52, 25));
  });
});

describe("address search text and i;ascii-casemap", () => {
  it("addressSearchText: parsed addresses, names decoded, comments/quotes/routes gone, groups kept", () => {
    assert.equal(
      addressSearchText(
        '"Joe Q. Public" (a comment) <joe(x)@example.com>, =?utf-8?q?J=C3=BCrgen?= <j@x.example>',
      ),
      "Joe Q. Public <joe@example.com>, Jürgen <j@x.example>",
    );
    assert.equal(
      addressSearchText("Team: a@x.example, B <b@x.example>;, c@y.example"),
      "Team: a@x.example, B <b@x.example>;, c@y.example",
    );
    assert.equal(addressSearchText("<@r1,@r2:u@d.example>"), "u@d.example");
    assert.equal(addressSearchText(""), "");
  });

  it("searchText: address lines after an empty line, for From/To/Cc/Bcc only", () => {
    const raw = Buffer.from(
      'From: "A" (c) <a@x.example>\r\nReply-To: r@x.example\r\nSubject: s\r\n\r\nbody\r\n',
    );
    const { headers } = searchText(raw, parseMessage(raw));
    assert.equal(
      headers,
      'From: "A" (c) <a@x.example>\nReply-To: r@x.example\nSubject: s\n\nfrom: A <a@x.example>\n',
    );
  });

  it("asciiCasemap folds a-z only; compareOctets is code point order", () => {
    assert.equal(asciiCasemap("abc_[ä]"), "ABC_[ä]");
    const keys = ["_X", "[Y", "B", "A", "Ä", "😀", "\uffff"].map(asciiCasemap);
    keys.sort(compareOctets);
    assert.deepEqual(keys, ["A", "B", "[Y", "_X", "Ä", "\uffff", "😀"]);
    assert.ok(compareOctets("AB", "A") > 0);
    assert.equal(compareOctets("x", "x"), 0);
  });
});
