import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { normalise, SelectedMailbox, uidSetString } from "./selected-mailbox.ts";

const row = (uid: number, flags: string[] = [], modseq = 1n) => ({ uid, flags, modseq });

function view(uids: number[]): SelectedMailbox {
  return new SelectedMailbox(
    1,
    "INBOX",
    false,
    7,
    (uids.at(-1) ?? 0) + 1,
    10n,
    uids.map((u) => row(u)),
  );
}

describe("SelectedMailbox", () => {
  it("maps sequence numbers and uids", () => {
    const v = view([3, 5, 9]);
    assert.equal(v.exists, 3);
    assert.equal(v.uidAt(2), 5);
    assert.equal(v.seqOf(9), 3);
    assert.equal(v.seqOf(4), 0);
    assert.deepEqual(v.uidsForSeqRanges([[2, 3]]), [5, 9]);
    assert.deepEqual(v.uidsForUidRanges([[4, 100]]), [5, 9]);
  });

  it("defers expunges and keeps sequence numbers until allowed", () => {
    const v = view([1, 2, 3, 4]);
    v.applyChanges({
      changed: [row(4, ["\\Seen"], 12n), row(5, [], 13n)],
      expunged: [2],
      highestModseq: 13n,
      uidNext: 6,
    });
    // during FETCH: no EXPUNGE, but EXISTS and FETCH are fine
    let ups = v.takeUpdates(false, false);
    assert.deepEqual(ups, [
      { type: "exists", count: 5 },
      { type: "fetch", seq: 4, uid: 4, flags: ["\\Seen"], modseq: 12n },
    ]);
    assert.equal(v.seqOf(3), 3);
    assert.ok(v.isPendingExpunge(2));
    ups = v.takeUpdates(true, false);
    assert.deepEqual(ups, [{ type: "expunge", seq: 2 }]);
    assert.equal(v.seqOf(3), 2);
    assert.equal(v.exists, 4);
    assert.equal(v.knownModseq, 13n);
  });

  it("expunges go out highest sequence first; VANISHED with QRESYNC", () => {
    const v = view([1, 2, 3, 4, 5]);
    v.applyChanges({ changed: [], expunged: [1, 3, 5], highestModseq: 11n, uidNext: 6 });
    assert.deepEqual(
      v.takeUpdates(true, false).map((u) => (u.type === "expunge" ? u.seq : -1)),
      [5, 3, 1],
    );
    const q = view([1, 2, 3, 4, 5]);
    q.applyChanges({ changed: [], expunged: [2, 3], highestModseq: 11n, uidNext: 6 });
    assert.deepEqual(q.takeUpdates(true, true), [{ type: "vanished", uids: [2, 3] }]);
    assert.equal(q.exists, 3);
  });

  it("a message added and expunged before being announced is never announced", () => {
    const v = view([1]);
    v.applyChanges({ changed: [row(2)], expunged: [], highestModseq: 11n, uidNext: 3 });
    v.applyChanges({ changed: [], expunged: [2], highestModseq: 12n, uidNext: 3 });
    assert.deepEqual(v.takeUpdates(true, false), []);
    assert.equal(v.exists, 1);
  });

  it("suppresses flag changes this session already reported", () => {
    const v = view([1, 2]);
    v.noteSelfReported([row(1, ["\\Seen"], 11n)]);
    v.applyChanges({
      changed: [row(1, ["\\Seen"], 11n), row(2, ["\\Flagged"], 12n)],
      expunged: [],
      highestModseq: 12n,
      uidNext: 3,
    });
    assert.deepEqual(v.takeUpdates(true, false), [
      { type: "fetch", seq: 2, uid: 2, flags: ["\\Flagged"], modseq: 12n },
    ]);
  });

  it("handles 100k messages with 1000 incremental changes", () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => row(i * 2 + 1));
    const v = new SelectedMailbox(1, "INBOX", false, 1, 200_001, 1n, rows);
    for (let i = 0; i < 1000; i++)
      v.applyChanges({
        changed: [row(200_001 + i * 2)],
        expunged: [i * 2 + 1],
        highestModseq: BigInt(i + 2),
        uidNext: 200_002 + i * 2,
      });
    v.takeUpdates(true, false);
    assert.equal(v.exists, 100_000);
  });

  it("property: after takeUpdates(true) the view equals the store's uid list", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 60 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 300 })), { maxLength: 40 }),
        (initial, ops) => {
          const start = [...initial].sort((a, b) => a - b);
          const v = view(start);
          const live = new Set(start);
          let next = 301;
          let ms = 11n;
          for (const [add, u] of ops) {
            ms++;
            if (add) {
              live.add(next);
              v.applyChanges({
                changed: [row(next, [], ms)],
                expunged: [],
                highestModseq: ms,
                uidNext: next + 1,
              });
              next++;
            } else if (live.has(u)) {
              live.delete(u);
              v.applyChanges({ changed: [], expunged: [u], highestModseq: ms, uidNext: next });
            }
            if (u % 3 === 0) v.takeUpdates(u % 2 === 0, false);
          }
          v.takeUpdates(true, false);
          assert.deepEqual(
            v.allUids(),
            [...live].sort((a, b) => a - b),
          );
        },
      ),
    );
  });

  it("formats uid sets and merges ranges", () => {
    assert.equal(uidSetString([1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
    assert.deepEqual(
      normalise([
        [5, 3],
        [1, 2],
        [7, 9],
      ]),
      [
        [1, 5],
        [7, 9],
      ],
    );
  });
});
