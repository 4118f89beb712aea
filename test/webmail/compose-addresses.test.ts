/** The compose view's recipient-field parsing (webmail/src/compose/addresses.ts), in Node. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  completeToken,
  currentToken,
  dedupe,
  formatAddress,
  formatField,
  isEmail,
  parseAddress,
  parseField,
  splitField,
} from "../../webmail/src/compose/addresses.ts";

describe("webmail compose addresses", () => {
  it("splits at commas and semicolons outside quotes and angle brackets", () => {
    assert.deepEqual(splitField('"Doe, Jane" <jane@x.test>, bob@y.test; <c,d@z.test>'), [
      '"Doe, Jane" <jane@x.test>',
      "bob@y.test",
      "<c,d@z.test>",
    ]);
    assert.deepEqual(splitField(" , ,"), []);
  });

  it("parses Name <email> and bare addresses; the rest is reported, not guessed", () => {
    assert.deepEqual(parseAddress('"Doe, Jane" <jane@x.test>'), { name: "Doe, Jane", email: "jane@x.test" });
    assert.deepEqual(parseAddress("Bob <bob@y.test>"), { name: "Bob", email: "bob@y.test" });
    assert.deepEqual(parseAddress("bob@y.test"), { name: null, email: "bob@y.test" });
    assert.equal(parseAddress("Bob"), null);
    assert.equal(parseAddress("a@b@c"), null);
    assert.equal(parseAddress("<a b@c.test>"), null);
    const f = parseField("Ann <ann@x.test>, nonsense, bob@y.test");
    assert.deepEqual(
      f.list.map((a) => a.email),
      ["ann@x.test", "bob@y.test"],
    );
    assert.deepEqual(f.bad, ["nonsense"]);
    assert.equal(isEmail("x@"), false);
    assert.equal(isEmail("@x"), false);
  });

  it("formats back (quoting names with separators) and round-trips", () => {
    const list = [
      { name: "Doe, Jane", email: "jane@x.test" },
      { name: null, email: "bob@y.test" },
      { name: "Åsa Öberg", email: "asa@z.test" },
    ];
    const text = formatField(list);
    assert.equal(text, '"Doe, Jane" <jane@x.test>, bob@y.test, Åsa Öberg <asa@z.test>');
    assert.deepEqual(parseField(text).list, list);
    assert.equal(formatAddress({ name: 'Say "hi", ok', email: "q@x.test" }), '"Say hi, ok" <q@x.test>');
  });

  it("finds and completes the address being typed", () => {
    assert.equal(currentToken("Ann <ann@x.test>, bo"), "bo");
    assert.equal(currentToken("Ann <ann@x.test>, "), "");
    assert.equal(currentToken('"Doe, Ja'), '"Doe, Ja');
    assert.equal(
      completeToken("Ann <ann@x.test>, bo", { name: "Bob", email: "bob@y.test" }),
      "Ann <ann@x.test>, Bob <bob@y.test>, ",
    );
    assert.equal(completeToken("zed", { name: null, email: "zed@x.test" }), "zed@x.test, ");
  });

  it("deduplicates ignoring case, leaving out the excluded addresses", () => {
    const out = dedupe(
      [
        { name: "A", email: "A@x.test" },
        { name: null, email: "a@x.test" },
        { name: "Me", email: "me@x.test" },
        { name: "B", email: "b@x.test" },
      ],
      new Set(["me@x.test"]),
    );
    assert.deepEqual(
      out.map((a) => a.email),
      ["A@x.test", "b@x.test"],
    );
  });
});
