/**
 * SearchContexts (RFC 5267 §4.3.2–§4.3.4): the ADDTO/REMOVEFROM it writes, applied the way a client
 * applies them, turn the old result into the new one — for random changes of SORT-ordered results.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SearchContexts } from "./search-context.ts";
import { SelectedMailbox } from "./selected-mailbox.ts";

/** deterministic PRNG (mulberry32) */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expand(set: string): number[] {
  const out: number[] = [];
  for (const part of set.split(",")) {
    const [a, b] = part.split(":").map(Number);
    if (b === undefined) out.push(a!);
    else for (let i = a!; i <= b; i++) out.push(i);
  }
  return out;
}

/** applies ESEARCH ADDTO/REMOVEFROM lines to a client's list (positions are 1-based, 0 = anywhere) */
function apply(list: number[], text: string): number[] {
  let l = [...list];
  for (const m of text.matchAll(/ (ADDTO|REMOVEFROM) \(([^)]*)\)/g)) {
    const w = m[2]!.split(" ");
    for (let i = 0; i < w.length; i += 2) {
      const pos = Number(w[i]);
      const set = expand(w[i + 1]!);
      if (m[1] === "ADDTO") {
        if (pos === 0) l = [...l, ...set].sort((a, b) => a - b);
        else l.splice(pos - 1, 0, ...set);
      } else if (pos === 0) l = l.filter((x) => !set.includes(x));
      else {
        assert.deepEqual(l.slice(pos - 1, pos - 1 + set.length), set);
        l.splice(pos - 1, set.length);
      }
    }
  }
  return l;
}

describe("SearchContexts updates", () => {
  const view = new SelectedMailbox(
    1,
    "INBOX",
    false,
    1,
    1000,
    1n,
    Uint32Array.from({ length: 999 }, (_, i) => i + 1),
  );

  for (const sort of [true, false]) {
    it(`${sort ? "SORT" : "SEARCH"}: random removals and insertions round-trip`, async () => {
      const r = rng(sort ? 7 : 11);
      for (let round = 0; round < 300; round++) {
        // a fixed "sort order" over uids 1..60; results are a subset in that order
        const order = Array.from({ length: 60 }, (_, i) => i + 1);
        if (sort) order.sort(() => r() - 0.5);
        const pick = () => order.filter(() => r() < 0.5);
        const old = sort ? pick() : pick().sort((a, b) => a - b);
        let next = sort ? pick() : pick().sort((a, b) => a - b);
        const cx = new SearchContexts();
        cx.add("T1", true, sort, old, async () => next);
        const up = await cx.update(view, (e) => assert.fail(String(e)));
        if (!up) {
          assert.deepEqual(old, next);
          continue;
        }
        let client = apply(old, up.before);
        client = apply(client, up.after(view));
        assert.deepEqual(client, next, `round ${round}: ${up.before}`);
        // a second update with nothing changed says nothing
        next = [...next];
        assert.equal(await cx.update(view, () => {}), null);
      }
    });
  }

  it("removed(): the session's own expunge, numbered by sequence before it", () => {
    const cx = new SearchContexts();
    cx.add("S1", false, false, [2, 5, 9], async () => []);
    cx.add("S2", true, true, [9, 2, 5], async () => []);
    const out = cx.removed(view, [5, 9, 100]);
    assert.equal(
      out,
      '* ESEARCH (TAG "S1") REMOVEFROM (0 5,9)\r\n* ESEARCH (TAG "S2") UID REMOVEFROM (1 9 2 5)\r\n',
    );
    assert.equal(cx.removed(view, [5]), "");
  });

  it("cancel(): all or nothing", () => {
    const cx = new SearchContexts();
    cx.add("A", true, false, [], async () => []);
    cx.add("B", true, false, [], async () => []);
    assert.equal(cx.cancel(["A", "C"]), false);
    assert.equal(cx.size, 2);
    assert.equal(cx.cancel(["A", "B"]), true);
    assert.equal(cx.size, 0);
  });
});
