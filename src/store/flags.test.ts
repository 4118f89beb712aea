import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  applyFlagOp,
  FLAG_DELETED,
  FLAG_SEEN,
  flagBits,
  flagText,
  normalizeFlags,
  parseFlagText,
  sameFlags,
} from "./flags.ts";
import { normalizeAddress, normalizeDomain, normalizeMailboxName, parentNames } from "./names.ts";
import { StoreError } from "./types.ts";

test("normalizeFlags: canonical system flags, case-insensitive dedupe, no \\Recent", () => {
  assert.deepEqual(normalizeFlags(["\\SEEN", "\\seen", "$Work", "$work", "\\Recent", "\\deleted", ""]), [
    "\\Seen",
    "$Work",
    "\\Deleted",
  ]);
  assert.equal(flagBits(["\\Seen", "\\Deleted", "$x"]), FLAG_SEEN | FLAG_DELETED);
});

test("applyFlagOp set/add/remove", () => {
  assert.deepEqual(applyFlagOp(["\\Seen", "$A"], "add", ["$b", "\\seen"]), ["\\Seen", "$A", "$b"]);
  assert.deepEqual(applyFlagOp(["\\Seen", "$A"], "remove", ["$a"]), ["\\Seen"]);
  assert.deepEqual(applyFlagOp(["\\Seen", "$A"], "set", ["\\Draft"]), ["\\Draft"]);
});

const flagArb = fc.oneof(
  fc.constantFrom("\\Seen", "\\seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent"),
  fc.stringMatching(/^\$?[A-Za-z]{1,6}$/),
);

test("property: text round trip and op algebra", () => {
  fc.assert(
    fc.property(fc.array(flagArb), fc.array(flagArb), (cur0, given) => {
      const cur = normalizeFlags(cur0);
      assert.deepEqual(parseFlagText(flagText(cur)), cur);
      const added = applyFlagOp(cur, "add", given);
      for (const g of normalizeFlags(given))
        assert.ok(added.some((f) => f.toLowerCase() === g.toLowerCase()));
      const removed = applyFlagOp(added, "remove", given);
      for (const g of normalizeFlags(given))
        assert.ok(!removed.some((f) => f.toLowerCase() === g.toLowerCase()));
      assert.ok(sameFlags(applyFlagOp(cur, "set", cur), cur));
      assert.equal(new Set(added.map((f) => f.toLowerCase())).size, added.length, "no duplicates");
    }),
  );
});

test("mailbox names", () => {
  assert.equal(normalizeMailboxName("inbox"), "INBOX");
  assert.equal(normalizeMailboxName("Inbox/Sub/"), "INBOX/Sub");
  assert.equal(normalizeMailboxName("Inboxes"), "Inboxes");
  for (const bad of ["", "/", "a//b", "/a", "a\u0001b", "a%", "a*"]) {
    assert.throws(() => normalizeMailboxName(bad), StoreError, bad);
  }
  assert.deepEqual(parentNames("a/b/c"), ["a", "a/b"]);
});

test("domains and addresses", () => {
  assert.equal(normalizeDomain("Example.COM."), "example.com");
  assert.throws(() => normalizeDomain("-bad.com"), StoreError);
  assert.deepEqual(normalizeAddress("John.Doe@Example.com"), {
    address: "john.doe@example.com",
    local: "john.doe",
    domain: "example.com",
  });
  assert.throws(() => normalizeAddress("a b@example.com"), StoreError);
  assert.throws(() => normalizeAddress("@example.com"), StoreError);
});
