import assert from "node:assert/strict";
import { test } from "node:test";
import type { FlagTextRow } from "../db/port.ts";
import type { MessageStates } from "../types.ts";
import { applyChanges, StateCache } from "./state-cache.ts";

function statesOf(rows: Map<number, { flags: string; modseq: bigint }>, hm: bigint): MessageStates {
  const uids = [...rows.keys()].sort((a, b) => a - b);
  return {
    uids: Uint32Array.from(uids),
    flags: uids.map((u) => rows.get(u)!.flags),
    modseqs: BigUint64Array.from(uids.map((u) => rows.get(u)!.modseq)),
    highestModseq: hm,
  };
}

test("applyChanges equals the states rebuilt from scratch (random appends, flag changes, expunges)", () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const rows = new Map<number, { flags: string; modseq: bigint }>();
  let modseq = 1n;
  let nextUid = 1;
  let states = statesOf(rows, modseq);
  for (let round = 0; round < 300; round++) {
    modseq++;
    const changed = new Map<number, FlagTextRow>();
    const expunged: number[] = [];
    for (let k = rnd(6); k > 0; k--) {
      const op = rnd(3);
      const live = [...rows.keys()];
      if (op === 0 || live.length === 0) {
        const uid = nextUid++;
        rows.set(uid, { flags: rnd(2) ? "\\Seen" : "", modseq });
        changed.set(uid, { uid, ...rows.get(uid)! });
      } else if (op === 1) {
        const uid = live[rnd(live.length)]!;
        rows.set(uid, { flags: `$k${rnd(4)}`, modseq });
        changed.set(uid, { uid, ...rows.get(uid)! });
      } else {
        const uid = live[rnd(live.length)]!;
        rows.delete(uid);
        changed.delete(uid);
        expunged.push(uid);
      }
    }
    const ch = [...changed.values()].sort((a, b) => a.uid - b.uid);
    const next = applyChanges(
      states,
      ch,
      expunged.sort((a, b) => a - b),
      modseq,
    );
    assert.deepEqual(next, statesOf(rows, modseq), `round ${round}`);
    states = next;
  }
});

test("StateCache keeps at most its bound of messages, least recently used dropped first", () => {
  const s = (n: number): MessageStates => ({
    uids: new Uint32Array(n),
    flags: new Array(n).fill(""),
    modseqs: new BigUint64Array(n),
    highestModseq: 1n,
  });
  const c = new StateCache(10);
  c.put(1, s(4));
  c.put(2, s(4));
  c.get(1); // 2 is now the least recently used
  c.put(3, s(4));
  assert.equal(c.get(2), undefined);
  assert.ok(c.get(1) && c.get(3));
  assert.equal(c.size, 8);
  c.put(4, s(11)); // larger than the bound: not kept
  assert.equal(c.get(4), undefined);
  assert.equal(c.size, 8);
  c.drop(1);
  assert.equal(c.size, 4);
  const none = new StateCache(0);
  none.put(1, s(1));
  assert.equal(none.get(1), undefined);
});
