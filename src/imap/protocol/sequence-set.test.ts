import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { SequenceSet } from "./commands.ts";
import { parseCommandText } from "./parser.ts";
import {
  formatIntervals,
  formatSequenceSet,
  intervalsContain,
  intervalsSize,
  iterateIntervals,
  resolveSequenceSet,
  sequenceSetContains,
  sequenceSetExceeds,
} from "./sequence-set.ts";

function parseSet(text: string): SequenceSet {
  const r = parseCommandText(`a UID EXPUNGE ${text}`);
  if (!r.ok || r.command.name !== "EXPUNGE" || !r.command.uidSet) assert.fail(`bad set ${text}`);
  return r.command.uidSet;
}

describe("sequence sets", () => {
  it("formatSequenceSet compresses", () => {
    assert.equal(formatSequenceSet([1, 2, 3, 4, 5, 7, 9, 10]), "1:5,7,9:10");
    assert.equal(formatSequenceSet([10, 9, 7, 7, 1]), "1,7,9:10");
    assert.equal(formatSequenceSet([]), "");
    assert.equal(formatSequenceSet([42]), "42");
  });
  it("resolves * and reversed ranges without materialising", () => {
    assert.deepStrictEqual(resolveSequenceSet(parseSet("1:*"), 100000), [{ lo: 1, hi: 100000 }]);
    assert.deepStrictEqual(resolveSequenceSet(parseSet("*:4,2,3"), 10), [{ lo: 2, hi: 10 }]);
    // RFC 9051 §6.4.8: 10:* with max 5 contains 5 (UID case, not clamped)
    assert.deepStrictEqual(resolveSequenceSet(parseSet("10:*"), 5), [{ lo: 5, hi: 10 }]);
    assert.deepStrictEqual(resolveSequenceSet(parseSet("10:*"), 5, true), [{ lo: 5, hi: 5 }]);
    assert.deepStrictEqual(resolveSequenceSet(parseSet("*"), 0), []);
    assert.equal(intervalsSize(resolveSequenceSet(parseSet("1:*"), 1e6)), 1e6);
    assert.throws(() => resolveSequenceSet({ type: "saved" }, 3));
  });
  it("containment and bounds", () => {
    const s = parseSet("2:4,9:*");
    assert.equal(sequenceSetContains(s, 3, 20), true);
    assert.equal(sequenceSetContains(s, 5, 20), false);
    assert.equal(sequenceSetContains(s, 20, 20), true);
    assert.equal(sequenceSetExceeds(s, 8), true);
    assert.equal(sequenceSetExceeds(s, 9), false);
    assert.equal(sequenceSetExceeds(parseSet("*"), 0), true);
  });
  it("property: format → parse → resolve gives the same numbers", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { maxLength: 60 }), (nums) => {
        fc.pre(nums.length > 0);
        const text = formatSequenceSet(nums);
        assert.match(text, /^\d+(:\d+)?(,\d+(:\d+)?)*$/);
        const ivs = resolveSequenceSet(parseSet(text), 1000);
        assert.deepStrictEqual(
          [...iterateIntervals(ivs)],
          [...nums].sort((a, b) => a - b),
        );
        assert.equal(formatIntervals(ivs), text);
        for (let n = 1; n <= 501; n++) assert.equal(intervalsContain(ivs, n), nums.includes(n));
      }),
    );
  });
  it("property: formatted sets are minimal (no adjacent ranges)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1 }), (nums) => {
        const parts = formatSequenceSet(nums).split(",");
        const ends = parts.map((p) => p.split(":").map(Number));
        for (let i = 1; i < ends.length; i++) assert.ok(ends[i]![0]! > ends[i - 1]!.at(-1)! + 1);
      }),
    );
  });
});
