import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { mutf7Decode, mutf7Encode } from "./mutf7.ts";

describe("modified UTF-7 (RFC 3501 §5.1.3)", () => {
  const vectors: Array<[string, string]> = [
    ["", ""],
    ["INBOX", "INBOX"],
    ["&", "&-"],
    ["a&b", "a&-b"],
    ["日本語", "&ZeVnLIqe-"],
    ["~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"],
    ["Entwürfe", "Entw&APw-rfe"],
    ["Gel&öscht", "Gel&-&APY-scht"],
    ["😀", "&2D3eAA-"],
    ["a\tb", "a&AAk-b"],
  ];
  for (const [plain, enc] of vectors) {
    it(`${JSON.stringify(plain)} ↔ ${enc}`, () => {
      assert.equal(mutf7Encode(plain), enc);
      assert.equal(mutf7Decode(enc), plain);
    });
  }
  it("rejects invalid input", () => {
    for (const bad of [
      "&",
      "&ZeVnLIqe",
      "&Jjo!",
      "&AGE-", // encoded "a" must be direct
      "&ACY-", // encoded "&" must be "&-"
      "&ZeVnLIqe-&ZeVnLIqe-", // two adjacent runs
      "&ZeV-", // partial code unit (leftover bits)
      "&APx-", // non-zero padding bits ("&APw-" is ü)
      "&2D0-", // lone high surrogate
      "&3gA-", // lone low surrogate
      "\u00e9", // 8-bit char must be encoded
      "a\u0001b", // control char must be encoded
      "&Ze/nLIqe-", // "/" is not in the modified alphabet
    ]) {
      assert.equal(mutf7Decode(bad), null, bad);
    }
  });
  it("property: decode(encode(s)) === s and the encoding is canonical 7-bit", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        const enc = mutf7Encode(s);
        assert.match(enc, /^[\x20-\x7e]*$/);
        assert.equal(mutf7Decode(enc), s);
        assert.equal(mutf7Encode(mutf7Decode(enc)!), enc);
      }),
      { numRuns: 1000 },
    );
  });
  it("property: any string that decodes re-encodes to itself (one encoding per name)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9+,&-]{0,12}$/), (s) => {
        const dec = mutf7Decode(s);
        if (dec !== null) assert.equal(mutf7Encode(dec), s);
      }),
      { numRuns: 3000 },
    );
  });
});
