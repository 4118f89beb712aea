import assert from "node:assert/strict";
import { test } from "node:test";
import { newObjectId } from "./object-ids.ts";

test("new object ids: base64url characters, unique, and later ones sort later as strings", () => {
  const ids: string[] = [];
  // clock values spread over the whole 48-bit range and neighbours differing in one millisecond
  const clocks = [
    0,
    1,
    2,
    63,
    64,
    65,
    4095,
    4096,
    1_700_000_000_000,
    1_700_000_000_001,
    2 ** 47,
    2 ** 48 - 1,
  ];
  for (const now of clocks) for (let k = 0; k < 200; k++) ids.push(newObjectId("M", now));
  for (const id of ids) assert.match(id, /^M[A-Za-z0-9_-]{16}$/);
  assert.equal(new Set(ids).size, ids.length);
  for (let i = 0; i < clocks.length - 1; i++) {
    const a = ids.slice(i * 200, (i + 1) * 200);
    const b = ids.slice((i + 1) * 200, (i + 2) * 200);
    const lastA = a.toSorted().at(-1)!;
    const firstB = b.toSorted()[0]!;
    assert.ok(lastA < firstB, `${clocks[i]} ms: ${lastA} sorts before ${clocks[i + 1]} ms: ${firstB}`);
  }
  // the byte-wise order PostgreSQL's COLLATE "C" and SQLite's BINARY use
  assert.deepEqual(
    ids.toSorted((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
    ids.toSorted(),
  );
});

test("new object ids made at the same millisecond differ in their random half", () => {
  const a = newObjectId("M", 1_800_000_000_000);
  const b = newObjectId("M", 1_800_000_000_000);
  assert.notEqual(a, b);
  // 48 bits of clock are the first 8 characters
  assert.equal(a.slice(1, 9), b.slice(1, 9));
});
