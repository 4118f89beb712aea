/** The store's per-account JMAP objects (jmap_object): states, /changes paging, tombstones, accounts apart. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openPostgresStore } from "../../src/store/postgres.ts";
import type { Store } from "../../src/store/types.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { openTestStore } from "../kit/store.ts";
import { tempDir } from "../kit/temp.ts";

interface Opened {
  store: Store;
  close(): Promise<void>;
}

const sqlite = async (): Promise<Opened> => openTestStore({});

let cluster: PgCluster | undefined;
const postgres = async (): Promise<Opened> => {
  cluster ??= await startPostgres();
  const url = await cluster.createDatabase();
  const t = tempDir("pk-pg-jmap-");
  const store = await openPostgresStore({
    url,
    dataDir: t.dir,
    poolSize: 4,
    pruneDelayMs: null,
    create: true,
  });
  await store.addDomain("example.com");
  return {
    store,
    close: async () => {
      await store.close();
      t.cleanup();
    },
  };
};

after(async () => {
  await cluster?.stop();
});

for (const [name, open, skip] of [
  ["SQLite", sqlite, false],
  ["PostgreSQL", postgres, !postgresAvailable() && "PostgreSQL binaries missing"],
] as const)
  describe(`store JMAP objects (${name})`, { skip }, () => {
    let t: Opened;
    let a: number;
    let b: number;
    before(async () => {
      t = await open();
      if (!(await t.store.getDomain("example.com"))) await t.store.addDomain("example.com");
      a = (await t.store.createAccount("a@example.com", "{PLAIN}x")).id;
      b = (await t.store.createAccount("b@example.com", "{PLAIN}x")).id;
    });
    after(() => t.close());

    it("writes move the state; changes are created / updated / destroyed relative to the state asked", async () => {
      const s = t.store;
      assert.equal(await s.jmapObjectState(a, "T"), "0");
      const s1 = await s.writeJmapObjects(
        a,
        "T",
        [
          { id: "x", data: '{"v":1}' },
          { id: "y", data: '{"v":1}' },
        ],
        [],
      );
      const s2 = await s.writeJmapObjects(
        a,
        "T",
        [
          { id: "x", data: '{"v":2}' },
          { id: "z", data: "{}" },
        ],
        ["y"],
      );
      const s3 = await s.writeJmapObjects(a, "T", [], ["z"]);
      assert.deepEqual([s1, s2, s3], ["1", "2", "3"]);
      assert.deepEqual(
        (await s.listJmapObjects(a, "T")).map((o) => [o.id, o.data]),
        [["x", '{"v":2}']],
      );
      // other accounts and other types are apart
      assert.deepEqual(await s.listJmapObjects(b, "T"), []);
      assert.equal(await s.jmapObjectState(a, "U"), "0");

      const c0 = await s.jmapObjectChanges(a, "T", "0", 100);
      assert.ok(c0 !== "cannotCalculateChanges");
      // z was created and destroyed after state 0: not mentioned
      assert.deepEqual([c0.created, c0.updated, c0.destroyed], [["x"], [], []]);
      assert.equal(c0.newState, "3");
      const c1 = await s.jmapObjectChanges(a, "T", "1", 100);
      assert.ok(c1 !== "cannotCalculateChanges");
      assert.deepEqual([c1.created, c1.updated, c1.destroyed], [[], ["x"], ["y"]]);
      const c3 = await s.jmapObjectChanges(a, "T", "3", 100);
      assert.ok(c3 !== "cannotCalculateChanges");
      assert.deepEqual([c3.created, c3.updated, c3.destroyed, c3.hasMoreChanges], [[], [], [], false]);
      assert.equal(await s.jmapObjectChanges(a, "T", "4", 100), "cannotCalculateChanges");
      assert.equal(await s.jmapObjectChanges(a, "T", "x1", 100), "cannotCalculateChanges");
    });

    it("maxChanges pages without splitting one state", async () => {
      const s = t.store;
      await s.writeJmapObjects(b, "P", [{ id: "1", data: "{}" }], []);
      await s.writeJmapObjects(
        b,
        "P",
        [
          { id: "2", data: "{}" },
          { id: "3", data: "{}" },
        ],
        [],
      );
      await s.writeJmapObjects(b, "P", [{ id: "4", data: "{}" }], []);
      const p1 = await s.jmapObjectChanges(b, "P", "0", 2);
      assert.ok(p1 !== "cannotCalculateChanges");
      assert.deepEqual([p1.created, p1.newState, p1.hasMoreChanges], [["1"], "1", true]);
      const p2 = await s.jmapObjectChanges(b, "P", p1.newState, 2);
      assert.ok(p2 !== "cannotCalculateChanges");
      assert.deepEqual([p2.created, p2.newState, p2.hasMoreChanges], [["2", "3"], "2", true]);
      const p3 = await s.jmapObjectChanges(b, "P", p2.newState, 2);
      assert.ok(p3 !== "cannotCalculateChanges");
      assert.deepEqual([p3.created, p3.newState, p3.hasMoreChanges], [["4"], "3", false]);
    });
  });
