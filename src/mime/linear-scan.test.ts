/**
 * Issue 9 audit: RegExps over message content that were quadratic were replaced by linear scans
 * (parse.ts withoutComments for Content-Language, trimEndBlanks for the multipart boundary).
 * The helpers must behave exactly like the RegExps they replace, and huge hostile headers must
 * parse (with the RegExps these inputs took tens of minutes).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseMessage, trimEndBlanks, withoutComments } from "./parse.ts";

describe("linear replacements of quadratic RegExps (mime/parse.ts)", () => {
  it("withoutComments and trimEndBlanks equal the RegExps on random inputs", () => {
    let seed = 7;
    const rnd = (k: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % k;
    };
    for (let i = 0; i < 5000; i++) {
      let s = "";
      for (let k = rnd(12); k > 0; k--) s += "()a \t,"[rnd(6)];
      assert.equal(withoutComments(s), s.replace(/\([^)]*\)/g, ""), JSON.stringify(s));
      assert.equal(trimEndBlanks(s), s.replace(/[ \t]+$/, ""), JSON.stringify(s));
    }
  });

  it("a Content-Language of 2 MB of '(' and a boundary with 1 MB of inner blanks parse", () => {
    const lang = "(".repeat(2_000_000);
    const boundary = `b${" ".repeat(1_000_000)}x`;
    const raw = Buffer.from(
      `Content-Type: multipart/mixed; boundary="${boundary}"\r\nContent-Language: en, ${lang}\r\n\r\n` +
        `--${boundary}\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`,
    );
    const m = parseMessage(raw);
    assert.deepEqual(m.root.language, ["en", lang]);
    assert.equal(m.root.children?.length, 1);
    assert.equal(m.root.children?.[0]?.size, 5);
  });
});
