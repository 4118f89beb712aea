/** The db port on SQLite: write rules (rollback, afterCommit) and the group commit's failure handling. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../testing/helpers.ts";
import { DbConflict } from "../port.ts";
import { SqliteDb } from "./db.ts";
import { openSqlite } from "./sqlite.ts";

function open(dir: string): SqliteDb {
  return new SqliteDb(openSqlite(join(dir, "store.sqlite")));
}

test("write: a throwing fn keeps nothing and runs no afterCommit hook; a kept one runs its hooks after commit", async () => {
  const t = tempDir();
  const db = open(t.dir);
  try {
    const seen: string[] = [];
    await assert.rejects(
      db.write(async (tx) => {
        await tx.domains.insert("a.example", 1);
        tx.afterCommit(() => seen.push("a"));
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(await db.read((q) => q.domains.byName("a.example")), null);
    const id = await db.write(async (tx) => {
      tx.afterCommit(() => seen.push("b"));
      return tx.domains.insert("b.example", 2);
    });
    assert.deepEqual(seen, ["b"]);
    assert.equal((await db.read((q) => q.domains.byName("b.example")))?.id, id);
    await assert.rejects(
      db.write((tx) => tx.domains.insert("b.example", 3)),
      (err) => err instanceof DbConflict,
    );
  } finally {
    await db.close();
    t.cleanup();
  }
});

test("group: a throwing item rolls its batch back; the others run again (at most twice) and commit", async () => {
  const t = tempDir();
  const db = open(t.dir);
  try {
    // six items queued at once form one batch; 2 and 4 throw after a write of their own
    const runs = [0, 0, 0, 0, 0, 0];
    const hooks: number[] = [];
    const results = await Promise.allSettled(
      runs.map((_, i) =>
        db.write(
          async (tx) => {
            runs[i]!++;
            await tx.domains.insert(`r${i}.example`, i);
            if (i === 2 || i === 4) throw new Error(`item ${i}`);
            tx.afterCommit(() => hooks.push(i));
            return i;
          },
          { group: true },
        ),
      ),
    );
    assert.deepEqual(
      results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
      [0, 1, "item 2", 3, "item 4", 5],
    );
    // the bare batch ran 0, 1 and failed at 2 (answered); 0, 1, 3, 4, 5 then ran in one batch
    // with a savepoint each, where 4 was rolled back alone
    assert.deepEqual(runs, [2, 2, 1, 1, 1, 1]);
    assert.deepEqual(
      hooks.sort((a, b) => a - b),
      [0, 1, 3, 5],
    );
    const all = (await db.read((q) => q.domains.list())).map((d) => d.name);
    assert.deepEqual(all, ["r0.example", "r1.example", "r3.example", "r5.example"]);
  } finally {
    await db.close();
    t.cleanup();
  }
});

test("group: items share a commit, a failing item is rolled back alone, hooks run only for kept items", async () => {
  const t = tempDir();
  const db = open(t.dir);
  try {
    const hooks: string[] = [];
    const names = ["g1.example", "g2.example", "g1.example", "g3.example"];
    const results = await Promise.allSettled(
      names.map((n, i) =>
        db.write(
          async (tx) => {
            // the duplicate (third) item fails on its unique key after a first insert of its own
            await tx.domains.insert(`extra${i}.example`, i);
            const id = await tx.domains.insert(n, i);
            tx.afterCommit(() => hooks.push(`${i}`));
            return id;
          },
          { group: true },
        ),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled", "rejected", "fulfilled"],
    );
    assert.deepEqual(hooks.sort(), ["0", "1", "3"]);
    const all = (await db.read((q) => q.domains.list())).map((d) => d.name);
    // the failed item's first insert was rolled back with it, the others kept
    assert.deepEqual(all, [
      "extra0.example",
      "extra1.example",
      "extra3.example",
      "g1.example",
      "g2.example",
      "g3.example",
    ]);
    // one modseq per call, strictly increasing
    const acct = await db.write(async (tx) => {
      const d = await tx.domains.byName("g1.example");
      return tx.accounts.insert({
        domainId: d!.id,
        address: "u@g1.example",
        passwordHash: "x",
        settings: "{}",
        createdAt: 0,
      });
    });
    const m1 = await db.write((tx) => tx.accounts.nextModseq(acct));
    const m2 = await db.write((tx) => tx.accounts.nextModseq(acct));
    assert.equal(typeof m1, "bigint");
    assert.equal(m2, m1 + 1n);
  } finally {
    await db.close();
    t.cleanup();
  }
});
