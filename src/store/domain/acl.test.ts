/**
 * RFC 4314 rights strings (api/acl.ts): canonical order, obsolete c/d expanded on input and shown
 * beside their members. The store's ACL behaviour is in conformance/suite-acl.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { canonicalRights, rightsForDisplay } from "../types.ts";

describe("ACL rights strings", () => {
  test("canonicalRights orders, dedupes, expands c and d, refuses unknown letters", () => {
    assert.equal(canonicalRights("srl"), "lrs");
    assert.equal(canonicalRights("llrr"), "lr");
    assert.equal(canonicalRights("c"), "kx");
    assert.equal(canonicalRights("d"), "te");
    assert.equal(canonicalRights(""), "");
    assert.equal(canonicalRights("lrz"), null);
    assert.equal(canonicalRights("L"), null);
    assert.equal(rightsForDisplay("lrk"), "lrkc");
    assert.equal(rightsForDisplay("lre"), "lred");
    assert.equal(rightsForDisplay("lr"), "lr");
  });
});
