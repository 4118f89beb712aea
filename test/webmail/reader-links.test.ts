/**
 * The reader's plain-text link finder (webmail/src/reader/links.ts, pure code run here in Node):
 * which links it finds and where they end, what it refuses, and that hostile input of many
 * near-links is scanned once (no backtracking: a megabyte of it finishes). Also: the reader's
 * English and Swedish strings have the same keys.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { findLinks, safeHref } from "../../webmail/src/reader/links.ts";

function hrefs(text: string): string[] {
  return findLinks(text).map((f) => f.href);
}

test("links in text: schemes, www., trailing punctuation, brackets", () => {
  assert.deepEqual(hrefs("see https://example.com/a?b=1, then http://x.test/p."), [
    "https://example.com/a?b=1",
    "http://x.test/p",
  ]);
  assert.deepEqual(hrefs("(https://en.wikipedia.org/wiki/Foo_(bar)) and www.example.org!"), [
    "https://en.wikipedia.org/wiki/Foo_(bar)",
    "https://www.example.org",
  ]);
  assert.deepEqual(hrefs("mail mailto:a@example.test now"), ["mailto:a@example.test"]);
  assert.deepEqual(hrefs("<https://example.com/x>"), ["https://example.com/x"]);
  const t = "xx https://example.com/é yy";
  const [f] = findLinks(t);
  assert.equal(t.slice(f!.start, f!.end), "https://example.com/é");
});

test("not links: other schemes, scheme inside a word, bare scheme", () => {
  assert.deepEqual(hrefs("javascript:alert(1) data:text/html,x file:///etc/passwd vbscript:x"), []);
  assert.deepEqual(hrefs("xhttps://example.com awww.example.com"), []);
  assert.deepEqual(hrefs("https:// and www. alone"), []);
  assert.equal(safeHref("javascript:alert(1)"), false);
  assert.equal(safeHref("https://example.com"), true);
});

test("a megabyte of near-links is scanned once", () => {
  const hostile = "www.".repeat(100_000) + "http:/".repeat(50_000) + "(".repeat(100_000);
  const found = findLinks(hostile);
  assert.equal(found.length, 1, "one run of www. is one (odd) link");
  const many = "https://a.test/ ".repeat(50_000);
  assert.equal(findLinks(many).length, 50_000);
});

test("the reader's strings: the same keys in English and Swedish", () => {
  const src = readFileSync(new URL("../../webmail/src/reader/strings-reader.ts", import.meta.url), "utf8");
  const en = src.slice(src.indexOf("en: {"), src.indexOf("sv: {"));
  const sv = src.slice(src.indexOf("sv: {"));
  const keys = (block: string) =>
    block
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith('"reader.'))
      .map((l) => l.slice(1, l.indexOf('"', 1)))
      .sort();
  assert.ok(keys(en).length > 20);
  assert.deepEqual(keys(sv), keys(en));
});
