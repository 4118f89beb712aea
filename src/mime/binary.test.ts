import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bodyStructureImap } from "../imap/protocol/body-structure.ts";
import { binaryForm, encodeNulParts, getBinary, getSection, parseMessage } from "./index.ts";

const bytes = Buffer.from([0, 1, 2, 0xff, 0, 13, 10, 0x41, 0]);

describe("encodeNulParts (stored form of binary content, RFC 3516 §4.4)", () => {
  it("no NUL: nothing to do", () => {
    assert.equal(encodeNulParts(Buffer.from("Subject: x\r\n\r\nbody\r\n")), null);
  });

  it("single part: body base64, CTE field replaced, BINARY[1] gives the original octets back", () => {
    const raw = Buffer.concat([
      Buffer.from("Subject: x\r\nContent-Transfer-Encoding: binary\r\nX-After: 1\r\n\r\n"),
      bytes,
      Buffer.from("\r\n"),
    ]);
    const enc = encodeNulParts(raw)!;
    assert.equal(enc.indexOf(0), -1);
    const text = enc.toString("latin1");
    assert.equal(
      text,
      "Subject: x\r\nX-After: 1\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        Buffer.concat([bytes, Buffer.from("\r\n")]).toString("base64") +
        "\r\n",
    );
    const p = parseMessage(enc);
    assert.deepEqual(getBinary(enc, p, [1]), Buffer.concat([bytes, Buffer.from("\r\n")]));
    assert.match(bodyStructureImap(p, false, false).toString(), /"BASE64"/);
    // BINARY[] of the whole message: the original again, labelled binary
    assert.equal(
      binaryForm(enc, p).toString("latin1"),
      "Subject: x\r\nX-After: 1\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
        Buffer.concat([bytes, Buffer.from("\r\n")]).toString("latin1"),
    );
  });

  it("multipart: only the part with a NUL changes; bare-LF headers keep LF; long data wraps at 76", () => {
    const big = Buffer.alloc(200, 0);
    const raw = Buffer.concat([
      Buffer.from('Content-Type: multipart/mixed; boundary="b"\n\n--b\n\ntext\n--b\nContent-Type: a/b\n\n'),
      big,
      Buffer.from("\n--b--\n"),
    ]);
    const enc = encodeNulParts(raw)!;
    assert.equal(enc.indexOf(0), -1);
    const p = parseMessage(enc);
    assert.equal(getSection(enc, p, { part: [1], kind: "" })!.toString(), "text");
    assert.equal(
      getSection(enc, p, { part: [2], kind: "MIME" })!.toString(),
      "Content-Type: a/b\nContent-Transfer-Encoding: base64\n\n",
    );
    const b64 = getSection(enc, p, { part: [2], kind: "" })!.toString();
    assert.ok(b64.split("\n").every((l) => l.length <= 76));
    assert.deepEqual(getBinary(enc, p, [2]), big);
  });

  it("quoted-printable with a NUL becomes base64 of the decoded data; unknown encodings stay", () => {
    const qp = Buffer.from("Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\x00c\r\n", "latin1");
    const enc = encodeNulParts(qp)!;
    assert.deepEqual(getBinary(enc, parseMessage(enc), [1]), Buffer.from("a=b\x00c\r\n", "latin1"));
    const odd = Buffer.from("Content-Transfer-Encoding: x-uuencode\r\n\r\na\x00b\r\n", "latin1");
    assert.equal(encodeNulParts(odd), null);
    const hdr = Buffer.from("Subject: a\x00b\r\n\r\nbody\r\n", "latin1");
    assert.equal(encodeNulParts(hdr), null, "a NUL in a header is no part body");
  });

  it("binaryForm leaves 7bit parts and messages without encoded parts as they are", () => {
    const raw = Buffer.from("Subject: x\r\n\r\nplain\r\n");
    assert.equal(binaryForm(raw, parseMessage(raw)), raw);
  });
});
