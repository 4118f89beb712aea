import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Command, PartialRange } from "../commands.ts";
import { parseCommandText } from "../parser.ts";
import { partialRangeString, partialSlice } from "./partial.ts";

function ok(text: string): Command {
  const r = parseCommandText(text);
  if (!r.ok) assert.fail(`${JSON.stringify(text)} → BAD ${r.message}`);
  return r.command;
}

function bad(text: string, re?: RegExp): void {
  const r = parseCommandText(text);
  if (r.ok) assert.fail(`${JSON.stringify(text)} parsed: ${JSON.stringify(r.command)}`);
  if (re) assert.match(r.message, re);
}

describe("parser: RETURN (PARTIAL …) (RFC 9394 §5)", () => {
  it("SEARCH and UID SEARCH with a first-range and a last-range", () => {
    const s = ok("a SEARCH RETURN (PARTIAL 1:100) ALL");
    assert.ok(s.name === "SEARCH");
    assert.deepStrictEqual(s.returnOpts, []);
    assert.deepStrictEqual(s.partial, { fromEnd: false, first: 1, second: 100 });
    const u = ok("a UID SEARCH RETURN (COUNT PARTIAL -1:-100 MIN) UNSEEN");
    assert.ok(u.name === "SEARCH" && u.uid);
    assert.deepStrictEqual(u.returnOpts, ["COUNT", "MIN"]);
    assert.deepStrictEqual(u.partial, { fromEnd: true, first: 1, second: 100 });
    const rev = ok("a SEARCH RETURN (partial 500:400) ALL");
    assert.deepStrictEqual(rev.name === "SEARCH" && rev.partial, { fromEnd: false, first: 500, second: 400 });
    const big = ok("a SEARCH RETURN (PARTIAL -4294967295:-1) ALL");
    assert.deepStrictEqual(big.name === "SEARCH" && big.partial, {
      fromEnd: true,
      first: 4294967295,
      second: 1,
    });
  });

  it("SORT and UID SORT (ESORT)", () => {
    const s = ok("a UID SORT RETURN (MIN MAX PARTIAL 2:3) (SUBJECT) UTF-8 ALL");
    assert.ok(s.name === "SORT" && s.uid);
    assert.deepStrictEqual(s.returnOpts, ["MIN", "MAX"]);
    assert.deepStrictEqual(s.partial, { fromEnd: false, first: 2, second: 3 });
    const plain = ok("a SORT (SUBJECT) UTF-8 ALL");
    assert.ok(plain.name === "SORT" && plain.returnOpts === null && plain.partial === undefined);
    const all = ok("a SORT RETURN (ALL COUNT) (ARRIVAL) UTF-8 ALL");
    assert.ok(all.name === "SORT" && !("partial" in all));
  });

  it("zero, mixed signs, missing or extra parts, PARTIAL with ALL or twice, unknown options: BAD", () => {
    for (const q of [
      "a SEARCH RETURN (PARTIAL 0:1) ALL",
      "a SEARCH RETURN (PARTIAL 1:0) ALL",
      "a SEARCH RETURN (PARTIAL -0:-1) ALL",
      "a SEARCH RETURN (PARTIAL -1:0) ALL",
      "a SEARCH RETURN (PARTIAL 1:-5) ALL",
      "a SEARCH RETURN (PARTIAL -1:5) ALL",
      "a SEARCH RETURN (PARTIAL 1) ALL",
      "a SEARCH RETURN (PARTIAL 1:) ALL",
      "a SEARCH RETURN (PARTIAL :5) ALL",
      "a SEARCH RETURN (PARTIAL) ALL",
      "a SEARCH RETURN (PARTIAL 1:*) ALL",
      "a SEARCH RETURN (PARTIAL 1,3:5) ALL",
      "a SEARCH RETURN (PARTIAL --1:-5) ALL",
      "a SEARCH RETURN (PARTIAL 1:4294967296) ALL",
      "a SEARCH RETURN (PARTIAL  1:5) ALL",
      "a SORT RETURN (PARTIAL -1:2) (SUBJECT) UTF-8 ALL",
    ]) {
      bad(q);
    }
    bad("a SEARCH RETURN (ALL PARTIAL 1:5) ALL", /mutually exclusive/);
    bad("a SEARCH RETURN (PARTIAL 1:5 ALL) ALL", /mutually exclusive/);
    bad("a SORT RETURN (PARTIAL 1:5 PARTIAL 1:5) (SUBJECT) UTF-8 ALL", /twice/);
    bad("a SEARCH RETURN (UPDATES) ALL", /return option UPDATES/);
    bad("a SORT RETURN (CONTEXTS) (SUBJECT) UTF-8 ALL", /return option CONTEXTS/);
  });
});

describe("parser: UID FETCH (PARTIAL …) (RFC 9394 §3.3) and CONTEXT (RFC 5267 §5)", () => {
  it("the FETCH modifier, alone or with CHANGEDSINCE in either order", () => {
    const f = ok("a UID FETCH 25900:26600 (UID FLAGS) (PARTIAL -1:-3)");
    assert.ok(f.name === "FETCH" && f.uid);
    assert.deepStrictEqual(f.partial, { fromEnd: true, first: 1, second: 3 });
    const c = ok("a UID FETCH 1:* FLAGS (partial 1:100 CHANGEDSINCE 5)");
    assert.ok(c.name === "FETCH" && c.changedSince === 5n);
    assert.deepStrictEqual(c.partial, { fromEnd: false, first: 1, second: 100 });
    const plain = ok("a UID FETCH 1:* FLAGS");
    assert.ok(plain.name === "FETCH" && !("partial" in plain));
    bad("a FETCH 1:* FLAGS (PARTIAL 1:2)", /requires UID FETCH/);
    bad("a UID FETCH 1:* FLAGS (PARTIAL 1:2 PARTIAL 3:4)", /twice/);
    bad("a UID FETCH 1:* FLAGS (PARTIAL 1:-2)");
  });

  it("RETURN (CONTEXT UPDATE) and CANCELUPDATE", () => {
    const s = ok("a UID SEARCH RETURN (UPDATE CONTEXT COUNT) UNSEEN");
    assert.ok(s.name === "SEARCH");
    assert.deepStrictEqual(s.returnOpts, ["UPDATE", "CONTEXT", "COUNT"]);
    const o = ok("a SORT RETURN (update) (DATE) UTF-8 ALL");
    assert.ok(o.name === "SORT");
    assert.deepStrictEqual(o.returnOpts, ["UPDATE"]);
    assert.deepStrictEqual(ok('a CANCELUPDATE "B01" "x"'), { name: "CANCELUPDATE", tags: ["B01", "x"] });
    bad("a CANCELUPDATE");
    bad("a CANCELUPDATE B01");
    bad('a CANCELUPDATE "B01" ');
  });
});

describe("partialSlice / partialRangeString", () => {
  const r = (fromEnd: boolean, first: number, second: number): PartialRange => ({ fromEnd, first, second });
  const all = [10, 20, 30, 40, 50];
  it("counts from the first result, or from the last with a minus", () => {
    assert.deepStrictEqual(partialSlice(all, r(false, 1, 2)), [10, 20]);
    assert.deepStrictEqual(partialSlice(all, r(false, 4, 100)), [40, 50]);
    assert.deepStrictEqual(partialSlice(all, r(false, 6, 10)), []);
    assert.deepStrictEqual(partialSlice(all, r(true, 1, 2)), [40, 50]);
    assert.deepStrictEqual(partialSlice(all, r(true, 5, 100)), [10]);
    assert.deepStrictEqual(partialSlice(all, r(true, 6, 9)), []);
    assert.deepStrictEqual(partialSlice([], r(true, 1, 100)), []);
    assert.equal(partialRangeString(r(true, 1, 100)), "-1:-100");
    assert.equal(partialRangeString(r(false, 500, 400)), "500:400");
  });
  it("matches a direct definition for every range (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer(), { maxLength: 30 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        (xs, fromEnd, a, b) => {
          const lo = Math.min(a, b);
          const hi = Math.max(a, b);
          const n = xs.length;
          // position p (1-based) is in range when lo ≤ p ≤ hi, or for -lo:-hi when lo ≤ n-p+1 ≤ hi
          const want = xs.filter((_x, i) => {
            const p = fromEnd ? n - i : i + 1;
            return p >= lo && p <= hi;
          });
          assert.deepStrictEqual(partialSlice(xs, r(fromEnd, a, b)), want);
        },
      ),
    );
  });
});
