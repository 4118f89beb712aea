import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bodyStructureImap, envelopeImap } from "../imap/protocol/body-structure.ts";
import { getSection, MAX_DEPTH, parseMessage } from "./index.ts";
import { allPartPaths, fixture, fixtureNames, invariantErrors } from "./test-helpers.ts";
import type { MimePart } from "./types.ts";

const bs = (raw: Buffer, ext = true, utf8 = false) =>
  bodyStructureImap(parseMessage(raw), ext, utf8).toString("utf8");
const env = (raw: Buffer, utf8 = false) => envelopeImap(parseMessage(raw).envelope, utf8).toString("utf8");
const text = (raw: Buffer, m: MimePart) => raw.subarray(m.bodyStart, m.bodyEnd).toString("latin1");

describe("parseMessage corpus", () => {
  for (const name of fixtureNames()) {
    it(`${name}: parses, offsets valid, JSON round-trips, serialises`, () => {
      const raw = fixture(name);
      const p = parseMessage(raw);
      assert.deepEqual(invariantErrors(raw, p), []);
      assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
      assert.ok(bodyStructureImap(p, true, false).length > 0);
      assert.ok(bodyStructureImap(p, false, true).length > 0);
      assert.ok(envelopeImap(p.envelope, false).length > 0);
      for (const path of allPartPaths(p)) {
        assert.notEqual(getSection(raw, p, { part: path, kind: "" }), null, `part ${path.join(".")}`);
      }
    });
  }
});

describe("BODYSTRUCTURE / BODY / ENVELOPE (RFC 9051 §7.5.2)", () => {
  it("simple text/plain message", () => {
    const raw = fixture("simple.eml");
    // body "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n": 53 + 2 octets, one line
    assert.equal(bs(raw), '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 55 1 NIL NIL NIL NIL)');
    assert.equal(bs(raw, false), '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 55 1)');
    // Sender and Reply-To absent → same as From
    const fred = '(("Fred Foobar" NIL "foobar" "Blurdybloop.example"))';
    assert.equal(
      env(raw),
      `("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" "afternoon meeting" ${fred} ${fred} ${fred} ` +
        '((NIL NIL "mooch" "owatagu.siam.edu.example")) NIL NIL NIL "<B27397-0100000@Blurdybloop.example>")',
    );
  });

  it("multipart/mixed with alternative and an RFC 2231 attachment", () => {
    const raw = fixture("alternative.eml");
    const p = parseMessage(raw);
    const [alt, pdf] = p.root.children!;
    assert.equal(alt!.children!.length, 2);
    // QP part: "Sch=F6ne Gr=FC=DFe aus K=F6ln, this line is soft-=\r\nbroken." (57 + 2 = 59 octets, 2 lines)
    assert.equal(
      text(raw, alt!.children![0]!),
      "Sch=F6ne Gr=FC=DFe aus K=F6ln, this line is soft-=\r\nbroken.",
    );
    assert.equal(pdf!.disposition?.params[0]?.[1], "€ report final.pdf");
    assert.equal(text(raw, pdf!), "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K");
    const htmlSize = alt!.children![1]!.size;
    const expected =
      '((("TEXT" "PLAIN" ("CHARSET" "iso-8859-1") NIL NIL "QUOTED-PRINTABLE" 59 2 NIL NIL NIL NIL)' +
      `("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "BASE64" ${htmlSize} 2 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)` +
      '("APPLICATION" "PDF" ("NAME" "report.pdf") "<pdf1@example.org>" "The report" "BASE64" 64 ' +
      '"Q2hlY2sgSW50ZWdyaXR5IQ==" ("ATTACHMENT" ("FILENAME*" "utf-8\'\'%E2%82%AC%20report%20final.pdf")) ("en" "de") ' +
      '"http://example.org/report.pdf") "MIXED" ("BOUNDARY" "outer") NIL NIL NIL)';
    assert.equal(bs(raw), expected);
    // with UTF-8 enabled the decoded name goes out as a quoted UTF-8 string
    assert.match(bs(raw, true, true), /\("ATTACHMENT" \("FILENAME" "€ report final\.pdf"\)\)/);
    // BODY: no extension data anywhere
    assert.equal(
      bs(raw, false),
      '((("TEXT" "PLAIN" ("CHARSET" "iso-8859-1") NIL NIL "QUOTED-PRINTABLE" 59 2)' +
        `("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "BASE64" ${htmlSize} 2) "ALTERNATIVE")` +
        '("APPLICATION" "PDF" ("NAME" "report.pdf") "<pdf1@example.org>" "The report" "BASE64" 64) "MIXED")',
    );
    // group with no members: start and end marker (RFC 9051 §7.5.2)
    assert.match(
      env(raw),
      / \(\(NIL NIL "Undisclosed recipients" NIL\)\(NIL NIL NIL NIL\)\) NIL NIL "<alt1@example.org>"\)$/,
    );
    // Subject is sent raw, encoded words not decoded
    assert.match(
      env(raw),
      /^\("Tue, 1 Mar 2022 10:00:00 \+0100" "=\?utf-8\?Q\?Gr=C3=BC=C3=9Fe\?= aus =\?iso-8859-1\?Q\?K=F6ln\?="/,
    );
  });

  it("message/rfc822 inside multipart inside message/rfc822 inside multipart", () => {
    const raw = fixture("nested.eml");
    const inner =
      '(NIL "innermost" ((NIL NIL "inner" "example.com")) ((NIL NIL "inner" "example.com")) ((NIL NIL "inner" "example.com")) NIL NIL NIL NIL NIL)';
    const middle =
      '(NIL "middle message" ((NIL NIL "middle" "example.com")) ((NIL NIL "middle" "example.com")) ((NIL NIL "middle" "example.com")) NIL NIL NIL NIL NIL)';
    const p = parseMessage(raw);
    const msgPart = p.root.children![1]!;
    const innerMsgPart = msgPart.message!.root.children![1]!;
    // innermost: "From: inner@example.com\r\nSubject: innermost\r\n\r\ninnermost body\r\nline two" = 5 lines
    assert.equal(
      text(raw, innerMsgPart),
      "From: inner@example.com\r\nSubject: innermost\r\n\r\ninnermost body\r\nline two",
    );
    const expected =
      '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 13 1)' +
      `("MESSAGE" "RFC822" NIL NIL NIL "7BIT" ${msgPart.size} ${middle} ` +
      '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 11 1)' +
      `("MESSAGE" "RFC822" NIL NIL NIL "7BIT" ${innerMsgPart.size} ${inner} ` +
      '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 24 2) 5) "ALTERNATIVE") ' +
      `${msgPart.lines}) "MIXED")`;
    assert.equal(bs(raw, false), expected);
    assert.equal(innerMsgPart.size, 71);
    assert.equal(msgPart.lines, 17);
  });

  it("group syntax, comments, obs-route, quoted names and folded values (RFC 5322 appendix A)", () => {
    const raw = fixture("groups.eml");
    const e = env(raw);
    assert.equal(
      e,
      '("Thu,      13        Feb          1969      23:32               -0330 (Newfoundland Time)" ' +
        '"Saying Hello \\\\ \\"quotes\\"" ' +
        '(("Pete" NIL "pete" "silly.test")) ' +
        // the obs-route is kept as addr-adl (RFC 3501 §7.4.2)
        '(("Mary Smith" "@node.test" "mary" "example.net")) ' +
        '(("Joe Q. Public" NIL "john.q.public" "example.com")) ' +
        '((NIL NIL "A Group" NIL)("Chris Jones" NIL "c" "public.example")(NIL NIL "joe" "example.org")("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL)) ' +
        '((NIL NIL "Hidden recipients" NIL)(NIL NIL NIL NIL)) ' +
        '((NIL NIL "bare-local" "")(NIL NIL "\\"quoted local\\"" "example.com")) ' +
        '"<1234@local.machine.example>" "<5678.21-Nov-1997@example.com>")',
    );
  });

  it("obs-route with several domains becomes the adl field (RFC 5322 §4.4, RFC 9051 §7.5.2)", () => {
    const raw = Buffer.from(
      "From: Joe <@route1,@route2:joe@example.com>\r\n" +
        "To: <@a.example, ,@b.example:x@y.example>, plain@example.org\r\nSubject: r\r\n\r\nbody\r\n",
    );
    const e = env(raw);
    assert.ok(e.includes('(("Joe" "@route1,@route2" "joe" "example.com"))'), e);
    assert.ok(
      e.includes('((NIL "@a.example,@b.example" "x" "y.example")(NIL NIL "plain" "example.org"))'),
      e,
    );
  });

  it("8-bit header text: literal without UTF-8, quoted with UTF-8", () => {
    const raw = fixture("8bit-headers.eml");
    const subj = "Grüße — raw UTF-8";
    const n = Buffer.byteLength(subj);
    assert.ok(
      env(raw, false).startsWith(`(NIL {${n}}\r\n${subj} (({15}\r\nJürgen Müller NIL "j" "example.de"))`),
    );
    assert.ok(env(raw, true).startsWith(`(NIL "${subj}" (("Jürgen Müller" NIL "j" "example.de"))`));
    // latin-1 header bytes are not valid UTF-8: read as ISO-8859-1
    const p = parseMessage(raw);
    assert.equal(p.envelope.subject, subj);
  });

  it("CR/LF force a literal, NUL (never allowed in a string) is left out; quotes and backslashes are escaped", () => {
    const e = {
      date: null,
      subject: 'a"b\\c',
      from: [{ name: "x\u0000y", mailbox: "m", host: "h" }],
      sender: null,
      replyTo: null,
      to: null,
      cc: null,
      bcc: null,
      inReplyTo: null,
      messageId: "line\r\nbreak",
    };
    const out = envelopeImap(e, true).toString("latin1");
    assert.equal(
      out,
      '(NIL "a\\"b\\\\c" (("xy" NIL "m" "h")) (("xy" NIL "m" "h")) (("xy" NIL "m" "h")) NIL NIL NIL NIL {11}\r\nline\r\nbreak)',
    );
  });

  it("multipart/digest parts default to message/rfc822 (RFC 2046 §5.1.5)", () => {
    const raw = fixture("digest.eml");
    const p = parseMessage(raw);
    const [a, b] = p.root.children!;
    assert.equal(p.root.children!.length, 2);
    assert.equal(a!.contentType.type, "message");
    assert.equal(a!.defaultType, true);
    assert.equal(a!.message!.envelope.subject, "first in digest");
    assert.equal(text(raw, a!.message!.root), "first");
    assert.equal(b!.contentType.subtype, "plain");
    assert.equal(text(raw, b!), "explicit text part");
  });
});

describe("multipart edge cases", () => {
  it("missing close delimiter: last part runs to the end", () => {
    const raw = fixture("missing-close.eml");
    const p = parseMessage(raw);
    assert.equal(p.root.children!.length, 2);
    assert.equal(text(raw, p.root.children![0]!), "first");
    assert.equal(text(raw, p.root.children![1]!), "second and last, no closing boundary\r\n");
  });

  it("no delimiter at all / no boundary parameter: one header-less part with the whole body", () => {
    for (const name of ["no-delimiters.eml", "no-boundary-param.eml"]) {
      const raw = fixture(name);
      const p = parseMessage(raw);
      assert.equal(p.root.children!.length, 1);
      const only = p.root.children![0]!;
      assert.equal(only.headerStart, p.root.bodyStart);
      assert.equal(only.bodyStart, p.root.bodyStart);
      assert.equal(only.bodyEnd, raw.length);
    }
    assert.match(
      bs(fixture("no-boundary-param.eml"), false),
      /^\(\("TEXT" "PLAIN" \("CHARSET" "us-ascii"\) NIL NIL "7BIT" 38 1\) "MIXED"\)$/,
    );
  });

  it("bare LF line ends", () => {
    const raw = fixture("bare-lf.eml");
    const p = parseMessage(raw);
    assert.equal(p.root.children!.length, 2);
    assert.equal(text(raw, p.root.children![0]!), "one\ntwo");
    assert.equal(p.root.children![0]!.lines, 2);
    assert.equal(text(raw, p.root.children![1]!), "three");
    assert.equal(p.envelope.subject, "bare LF");
  });

  it("boundary parameter and delimiter lines with trailing whitespace", () => {
    const raw = fixture("boundary-ws.eml");
    const p = parseMessage(raw);
    assert.equal(p.root.children!.length, 2);
    assert.equal(text(raw, p.root.children![0]!), "padded delimiter");
    assert.equal(text(raw, p.root.children![1]!), "second");
  });

  it("a boundary that is a prefix of the inner boundary does not split the inner part", () => {
    const raw = fixture("prefix-boundary.eml");
    const p = parseMessage(raw);
    assert.equal(p.root.children!.length, 2);
    const inner = p.root.children![0]!;
    assert.equal(inner.children!.length, 1);
    assert.equal(text(raw, inner.children![0]!), "inner one");
    assert.equal(text(raw, p.root.children![1]!), "outer two");
  });

  it("preamble and epilogue are not parts", () => {
    const raw = fixture("alternative.eml");
    const p = parseMessage(raw);
    assert.equal(p.root.children!.length, 2);
    assert.ok(p.root.children![0]!.headerStart > raw.indexOf("This is the preamble."));
    assert.ok(p.root.children![1]!.bodyEnd < raw.indexOf("--outer--"));
  });

  it("empty body, no header/body separator, empty input, garbage", () => {
    let raw = fixture("empty-body.eml");
    let p = parseMessage(raw);
    assert.equal(p.root.bodyStart, raw.length);
    assert.equal(p.root.size, 0);
    raw = fixture("no-separator.eml");
    p = parseMessage(raw);
    assert.equal(p.root.bodyStart, raw.length);
    assert.equal(p.envelope.subject, "only headers");
    assert.equal(p.envelope.from?.[0]?.host, "example.com");
    p = parseMessage(new Uint8Array(0));
    assert.equal(p.root.contentType.type, "text");
    assert.equal(
      bs(Buffer.alloc(0)),
      '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)',
    );
    p = parseMessage(fixture("garbage.bin"));
    assert.equal(p.root.contentType.type, "text");
  });

  it("part with only a blank line as header, and CRLF before a delimiter belongs to it", () => {
    const raw = Buffer.from(
      "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nA\r\n\r\n--x\r\n\r\n--x--",
    );
    const p = parseMessage(raw);
    assert.equal(p.root.children!.length, 2);
    assert.equal(text(raw, p.root.children![0]!), "A\r\n");
    assert.equal(p.root.children![0]!.lines, 1);
    assert.equal(text(raw, p.root.children![1]!), "");
    assert.equal(p.root.children![1]!.lines, 0);
  });
});

describe("limits", () => {
  it("100-level message/rfc822 nesting is capped at MAX_DEPTH and stays valid", () => {
    let msg = "Subject: level 100\r\n\r\ncore\r\n";
    for (let i = 99; i >= 1; i--) {
      msg =
        i % 2 === 0
          ? `Subject: level ${i}\r\nContent-Type: message/rfc822\r\n\r\n${msg}`
          : `Subject: level ${i}\r\nContent-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\nContent-Type: message/rfc822\r\n\r\n${msg}\r\n--b${i}--\r\n`;
    }
    const raw = Buffer.from(msg);
    const p = parseMessage(raw);
    assert.deepEqual(invariantErrors(raw, p), []);
    let depth = 0;
    let m: MimePart | undefined = p.root;
    while (m) {
      depth++;
      m = m.children?.[0] ?? m.message?.root;
    }
    assert.ok(depth <= MAX_DEPTH + 1, `depth ${depth}`);
    assert.ok(depth >= MAX_DEPTH - 1, `depth ${depth}`);
    const s = bodyStructureImap(p, true, false).toString();
    // balanced parentheses outside strings
    let bal = 0;
    for (const ch of s.replace(/"(?:[^"\\]|\\.)*"/g, "")) {
      if (ch === "(") bal++;
      else if (ch === ")") bal--;
      assert.ok(bal >= 0);
    }
    assert.equal(bal, 0);
  });

  it("1 MB header parses", () => {
    const line = "X-Filler: " + "y".repeat(60) + "\r\n";
    const raw = Buffer.from(
      "From: a@example.com\r\n" +
        line.repeat(Math.ceil((1024 * 1024) / line.length)) +
        "Subject: after\r\n\r\nbody",
    );
    const p = parseMessage(raw);
    assert.equal(p.envelope.subject, "after");
    assert.equal(text(raw, p.root), "body");
  });

  it("a single 1 MB folded header field", () => {
    const raw = Buffer.from("Subject: start" + "\r\n x".repeat(300_000) + "\r\n\r\nbody");
    const p = parseMessage(raw);
    assert.ok(p.envelope.subject!.startsWith("start x x"));
    assert.equal(text(raw, p.root), "body");
  });

  it("50 KB and 10 MB messages parse to the right structure", () => {
    const att = Buffer.alloc(36 * 1024, 7)
      .toString("base64")
      .replace(/.{76}/g, "$&\r\n");
    const raw = Buffer.from(
      "From: a@b.example\r\nSubject: perf\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n" +
        "Content-Type: text/plain\r\n\r\n" +
        "hello world line\r\n".repeat(100) +
        "--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        att +
        "\r\n--B--\r\n",
    );
    assert.ok(raw.length > 48 * 1024);
    const small = parseMessage(raw);
    assert.equal(small.root.children!.length, 2);

    const big = Buffer.from(
      "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n" +
        "line of text\r\n".repeat(400_000) +
        "--B\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        Buffer.alloc(4 * 1024 * 1024, 1).toString("base64") +
        "\r\n--B--\r\n",
    );
    const p = parseMessage(big);
    assert.equal(p.root.children!.length, 2);
    assert.equal(p.root.children![0]!.lines, 400_000);
  });
});
