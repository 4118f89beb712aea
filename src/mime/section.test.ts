import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeBase64, decodeQuotedPrintable } from "./bytes.ts";
import { binarySize, getBinary, getSection, parseMessage } from "./index.ts";
import { fixture } from "./test-helpers.ts";
import type { SectionSpec } from "./types.ts";

function sec(raw: Buffer, part: number[], kind: SectionSpec["kind"] = "", fields?: string[]): string | null {
  const p = parseMessage(raw);
  const spec: SectionSpec = fields ? { part, kind, fields } : { part, kind };
  const r = getSection(raw, p, spec);
  return r === null ? null : Buffer.from(r).toString("latin1");
}

describe("getSection (RFC 9051 §6.4.5)", () => {
  it("whole message, HEADER, TEXT of a single-part message; part 1 is the body", () => {
    const raw = fixture("simple.eml");
    assert.equal(sec(raw, []), raw.toString("latin1"));
    const hdrEnd = raw.indexOf("\r\n\r\n") + 4;
    assert.equal(sec(raw, [], "HEADER"), raw.subarray(0, hdrEnd).toString("latin1"));
    assert.ok(sec(raw, [], "HEADER")!.endsWith("CHARSET=US-ASCII\r\n\r\n"));
    assert.equal(sec(raw, [], "TEXT"), "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n");
    assert.equal(sec(raw, [1]), "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n");
    assert.equal(sec(raw, [2]), null);
    assert.equal(sec(raw, [1, 1]), null);
    assert.equal(sec(raw, [0]), null);
    assert.equal(sec(raw, [], "MIME"), null);
    // HEADER of a part that is not message/rfc822 does not exist
    assert.equal(sec(raw, [1], "HEADER"), null);
  });

  it("HEADER.FIELDS and HEADER.FIELDS.NOT: case-insensitive, byte-exact, blank line appended", () => {
    const raw = fixture("simple.eml");
    assert.equal(
      sec(raw, [], "HEADER.FIELDS", ["subject", "FROM", "x-absent"]),
      "From: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\n\r\n",
    );
    assert.equal(sec(raw, [], "HEADER.FIELDS", ["x-absent"]), "\r\n");
    const not = sec(raw, [], "HEADER.FIELDS.NOT", ["date", "message-id", "mime-version", "content-type"]);
    assert.equal(
      not,
      "From: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu.example\r\n\r\n",
    );
    // folded fields keep their folding
    const g = fixture("groups.eml");
    assert.equal(
      sec(g, [], "HEADER.FIELDS", ["Message-ID"]),
      "Message-ID:\r\n <5678.21-Nov-1997@example.com>\r\n\r\n",
    );
    // a message without a blank line: the last field still gets its line end
    const ns = fixture("no-separator.eml");
    assert.equal(sec(ns, [], "HEADER.FIELDS", ["from"]), "From: a@example.com\r\n\r\n");
  });

  it("nested parts, MIME headers, and HEADER/TEXT of encapsulated messages", () => {
    const raw = fixture("nested.eml");
    assert.equal(sec(raw, [1]), "See attached.");
    assert.equal(sec(raw, [1], "MIME"), "Content-Type: text/plain\r\n\r\n");
    assert.equal(sec(raw, [2], "MIME"), "Content-Type: message/rfc822\r\n\r\n");
    assert.ok(sec(raw, [2])!.startsWith("From: middle@example.com\r\n"));
    assert.ok(sec(raw, [2])!.endsWith("line two\r\n--b2--"));
    assert.equal(
      sec(raw, [2], "HEADER"),
      'From: middle@example.com\r\nSubject: middle message\r\nContent-Type: multipart/alternative; boundary="b2"\r\n\r\n',
    );
    assert.equal(sec(raw, [2], "HEADER.FIELDS", ["subject"]), "Subject: middle message\r\n\r\n");
    assert.ok(
      sec(raw, [2], "TEXT")!.startsWith("--b2\r\nContent-Type: text/plain\r\n\r\nmiddle text\r\n--b2"),
    );
    assert.equal(sec(raw, [2, 1]), "middle text");
    assert.equal(sec(raw, [2, 1], "MIME"), "Content-Type: text/plain\r\n\r\n");
    assert.equal(sec(raw, [2, 2], "HEADER"), "From: inner@example.com\r\nSubject: innermost\r\n\r\n");
    assert.equal(sec(raw, [2, 2], "TEXT"), "innermost body\r\nline two");
    // the innermost message is not multipart: its part 1 is its body
    assert.equal(sec(raw, [2, 2, 1]), "innermost body\r\nline two");
    assert.equal(sec(raw, [2, 2, 2]), null);
    assert.equal(sec(raw, [2, 3]), null);
    assert.equal(sec(raw, [1], "TEXT"), null);
  });

  it("top-level multipart numbering and MIME of the top-level single part", () => {
    const raw = fixture("alternative.eml");
    assert.ok(sec(raw, [1])!.startsWith("--inner\r\n"));
    assert.ok(sec(raw, [1])!.endsWith("--inner--"));
    assert.equal(
      sec(raw, [1, 1], "MIME"),
      "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
    );
    assert.equal(sec(raw, [2]), "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K");
    assert.equal(sec(raw, [3]), null);
    assert.equal(sec(raw, [1, 3]), null);
  });
});

describe("getBinary / binarySize (RFC 3516)", () => {
  it("decodes quoted-printable and base64 parts", () => {
    const raw = fixture("alternative.eml");
    const p = parseMessage(raw);
    const qp = getBinary(raw, p, [1, 1]);
    assert.ok(qp instanceof Uint8Array);
    assert.equal(Buffer.from(qp).toString("latin1"), "Schöne Grüße aus Köln, this line is soft-broken.");
    assert.equal(binarySize(raw, p, [1, 1]), 48);
    const html = getBinary(raw, p, [1, 2]);
    assert.ok(html instanceof Uint8Array);
    assert.ok(Buffer.from(html).toString("utf8").startsWith("<html><body><p>Schöne Grüße &amp; more</p>"));
    assert.equal(binarySize(raw, p, [1, 2]), html.length);
    const pdf = getBinary(raw, p, [2]);
    assert.ok(pdf instanceof Uint8Array);
    assert.ok(Buffer.from(pdf).toString("latin1").startsWith("%PDF-1.4\n"));
    assert.equal(binarySize(raw, p, [2]), 48);
    assert.equal(getBinary(raw, p, [9]), null);
    assert.equal(binarySize(raw, p, [9]), null);
    assert.equal(getBinary(raw, p, [])?.length, raw.length);
  });

  it("7bit/8bit/binary pass through; unknown encodings report unknown-cte", () => {
    const raw = Buffer.from(
      "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r\n" +
        "--q\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n--q--\r\n",
      "latin1",
    );
    const p = parseMessage(raw);
    assert.equal(Buffer.from(getBinary(raw, p, [1]) as Uint8Array).toString("latin1"), "caf\xe9");
    assert.equal(getBinary(raw, p, [2]), "unknown-cte");
    assert.equal(binarySize(raw, p, [2]), "unknown-cte");
  });

  it("base64 decoding tolerates whitespace, garbage and inner padding", () => {
    assert.equal(decodeBase64(Buffer.from("aGVs bG8=*!\r\nd29y\tbGQ=")).toString(), "helloworld");
    assert.equal(decodeBase64(Buffer.from("aGk=aGk=")).toString(), "hihi");
    assert.equal(decodeBase64(Buffer.from("")).length, 0);
  });

  it("quoted-printable: soft breaks, trailing whitespace, malformed escapes", () => {
    const d = (s: string) => decodeQuotedPrintable(Buffer.from(s, "latin1")).toString("latin1");
    assert.equal(d("a=3Db=\r\nc"), "a=bc");
    assert.equal(d("a=\nb"), "ab");
    assert.equal(d("trailing   \r\nnext"), "trailing\r\nnext");
    assert.equal(d("soft=  \r\nbreak"), "softbreak");
    assert.equal(d("bad=ZZ and =4"), "bad=ZZ and =4");
    assert.equal(d("lower=e9"), "lower\xe9");
    assert.equal(d("end="), "end");
  });
});
