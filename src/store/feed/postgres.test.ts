// The PostgreSQL feed's pure parts (the adapter itself: test/pg/feed.test.ts, on a real cluster).
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { beacon } from "./contract.ts";
import { coalesce, MAX_PAYLOAD, PgFeed, payloadOf } from "./postgres.ts";

test("payloadOf stays under the NOTIFY limit: METADATA names degrade to []", () => {
  const p = payloadOf("o", { ...beacon(1, null, 1), metadata: ["x".repeat(20_000)] });
  assert.ok(Buffer.byteLength(p) <= MAX_PAYLOAD);
  assert.deepEqual(JSON.parse(p), { o: "o", b: { ...beacon(1, null, 1), metadata: [] } });
  assert.deepEqual(JSON.parse(payloadOf("o", beacon(1, 2, 3))), { o: "o", b: beacon(1, 2, 3) });
});

test("coalesce keeps the newest beacon per mailbox and merges METADATA names", () => {
  const q = [
    beacon(1, 10, 5),
    beacon(1, 11, 6),
    { ...beacon(1, 10, 7), metadata: ["/a"] },
    beacon(1, 10, 8),
    beacon(2, 10, 3),
    { ...beacon(1, 10, 9), metadata: ["/b", "/a"] },
    { ...beacon(1, null, 9), metadata: ["/s"] },
    { ...beacon(1, null, 10), metadata: [] },
    beacon(1, null, 11),
  ];
  assert.deepEqual(coalesce(q), [
    beacon(1, 11, 6),
    beacon(1, 10, 8),
    beacon(2, 10, 3),
    { ...beacon(1, 10, 9), metadata: ["/a", "/b"] },
    { ...beacon(1, null, 10), metadata: [] },
    beacon(1, null, 11),
  ]);
});

test("a pool of one connection is refused (the listener keeps one)", () => {
  const pool = new pg.Pool({ max: 1 });
  assert.throws(() => new PgFeed(pool), /at least 2 connections/);
  void pool.end();
});
