/**
 * Issue 9 audit: MTA-STS policy lines (remote input, up to 64 KiB) are split by hand; the former
 * RegExp `^([A-Za-z0-9_]+):[ \t]*(.*?)[ \t]*$` was quadratic on a long run of blanks in a value.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicy } from "../../src/smtp/queue/index.ts";

test("policy lines: blanks around values trimmed, keys checked, hostile blank runs parse", () => {
  const p = parsePolicy("version:STSv1\nmode: \t testing \t\nmx:  mx.example.com.  \nmax_age:\t600\n");
  assert.deepEqual(p, { mode: "testing", mx: ["mx.example.com"], maxAge: 600, id: "" });
  // a key with characters outside [A-Za-z0-9_] or an empty key is not a policy line
  assert.equal(parsePolicy("version: STSv1\nmode: none\nmax-age: 5\n"), null);
  assert.equal(parsePolicy("version: STSv1\nmode: none\n: 5\nmax_age: 5\n")?.maxAge, 5);
  // a value's inner blanks are kept (so this mode is not "enforce")
  assert.equal(parsePolicy("version: STSv1\nmode: en force\nmx: a\nmax_age: 5\n"), null);
  // 64 KiB of blanks inside one value (about two seconds of backtracking with the RegExp)
  const blanks = " ".repeat(65_000);
  const q = parsePolicy(`version: STSv1\nmode: none\nmx: a${blanks}b\nmax_age: 5\n`);
  assert.equal(q?.mx[0], `a${blanks}b`);
});
