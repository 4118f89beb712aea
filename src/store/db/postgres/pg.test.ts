/**
 * Deferred writes of a transaction's Exec (pg.ts execOn) over a recording stand-in for a
 * node-postgres client: what goes out, in which order, merged how; no database needed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type pg from "pg";
import { deferredText, execOn } from "./pg.ts";

interface Sent {
  text: string;
  values: unknown[];
}

function fakeClient(fail?: (text: string) => boolean): { client: pg.ClientBase; sent: Sent[] } {
  const sent: Sent[] = [];
  const client = {
    query: async (q: { text: string; values?: unknown[] }) => {
      sent.push({ text: q.text, values: q.values ?? [] });
      if (fail?.(q.text)) throw Object.assign(new Error("boom"), { code: "23503" });
      return { rows: [[1]], rowCount: 1 };
    },
  };
  return { client: client as unknown as pg.ClientBase, sent };
}

test("deferredText: one statement keeps its text; several become WITH parts, parameters renumbered", () => {
  assert.deepEqual(deferredText([{ table: "a", text: "UPDATE a SET x = $1", values: [1] }]), {
    text: "UPDATE a SET x = $1",
    values: [1],
  });
  const m = deferredText([
    { table: "a", text: "UPDATE a SET x = $1 WHERE id = $2", values: [1, 2] },
    { table: "b", text: "INSERT INTO b VALUES ($1, $2::bigint[], $1)", values: ["p", [3]] },
  ]);
  assert.equal(
    m.text,
    "WITH w0 AS (UPDATE a SET x = $1 WHERE id = $2), w1 AS (INSERT INTO b VALUES ($3, $4::bigint[], $3)) SELECT 1",
  );
  assert.deepEqual(m.values, [1, 2, "p", [3]]);
  const withMain = deferredText([{ table: "a", text: "UPDATE a SET x = $1", values: [1] }], {
    text: "SELECT y FROM c WHERE id = $1",
    values: [9],
  });
  assert.equal(withMain.text, "WITH w0 AS (UPDATE a SET x = $1) SELECT y FROM c WHERE id = $2");
  assert.deepEqual(withMain.values, [1, 9]);
});

test("queued writes go out before the next statement, one statement per run of distinct tables", async () => {
  const { client, sent } = fakeClient();
  const x = execOn(client);
  x.defer?.("a", "UPDATE a SET v = $1", [1]);
  x.defer?.("b", "UPDATE b SET v = $1", [2]);
  // the same table again: a second statement (a row updated twice in one statement is undefined)
  x.defer?.("a", "UPDATE a SET w = $1", [3]);
  assert.equal(sent.length, 0, "nothing sent while only writes are queued");
  assert.equal(x.statements, 3);
  await x("SELECT 1 FROM a", []);
  assert.deepEqual(
    sent.map((s) => s.text),
    [
      "WITH w0 AS (UPDATE a SET v = $1), w1 AS (UPDATE b SET v = $2) SELECT 1",
      "UPDATE a SET w = $1",
      "SELECT 1 FROM a",
    ],
  );
  x.defer?.("c", "DELETE FROM c WHERE id = $1", [4]);
  await x.flush?.();
  assert.equal(sent.at(-1)?.text, "DELETE FROM c WHERE id = $1");
  await x.flush?.();
  assert.equal(sent.length, 4, "an empty queue sends nothing");
});

test("along: queued writes ride in front of a statement that reads none of their tables", async () => {
  const { client, sent } = fakeClient();
  const x = execOn(client);
  x.defer?.("a", "INSERT INTO a VALUES ($1)", [1]);
  x.defer?.("b", "INSERT INTO b VALUES ($1)", [2]);
  await x.along?.(["m"], "SELECT id FROM m WHERE id = $1", [7]);
  assert.deepEqual(sent, [
    {
      text: "WITH w0 AS (INSERT INTO a VALUES ($1)), w1 AS (INSERT INTO b VALUES ($2)) SELECT id FROM m WHERE id = $3",
      values: [1, 2, 7],
    },
  ]);
  // a statement that reads a queued table waits for the writes in a statement of their own
  x.defer?.("m", "UPDATE m SET v = $1", [3]);
  await x.along?.(["m"], "SELECT v FROM m", []);
  assert.deepEqual(
    sent.slice(1).map((s) => s.text),
    ["UPDATE m SET v = $1", "SELECT v FROM m"],
  );
});

test("a queued write's failure is what the next statement reports", async () => {
  const { client, sent } = fakeClient((t) => t.startsWith("INSERT INTO bad"));
  const x = execOn(client);
  x.defer?.("bad", "INSERT INTO bad VALUES ($1)", [1]);
  await assert.rejects(x("SELECT 2", []), /boom/);
  assert.deepEqual(
    sent.map((s) => s.text),
    ["INSERT INTO bad VALUES ($1)", "SELECT 2"],
  );
  x.defer?.("bad", "INSERT INTO bad VALUES ($1)", [1]);
  await assert.rejects(x.flush?.() ?? Promise.resolve(), /boom/);
});
