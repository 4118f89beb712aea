import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { tempDir } from "../../testing/helpers.ts";
import { MIGRATIONS, migrateSqlite } from "./migrations.ts";

test("migrations apply once, in order, and record their versions", () => {
  const t = tempDir();
  try {
    const db = new Database(join(t.dir, "m.sqlite"));
    const released = MIGRATIONS.map((m) => m.version);
    assert.deepEqual(migrateSqlite(db), released);
    assert.deepEqual(migrateSqlite(db), []);
    const extra = [
      ...MIGRATIONS,
      { version: 1003, name: "third", sqlite: ["ALTER TABLE t2 ADD COLUMN b INTEGER"] },
      { version: 1002, name: "second", sqlite: ["CREATE TABLE t2 (a INTEGER)"] },
    ];
    assert.deepEqual(migrateSqlite(db, extra), [1002, 1003]);
    assert.deepEqual(migrateSqlite(db, extra), []);
    const rows = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all();
    assert.deepEqual(rows, [
      ...MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
      { version: 1002, name: "second" },
      { version: 1003, name: "third" },
    ]);
    // a failing migration rolls back entirely
    const bad = [...extra, { version: 1004, name: "bad", sqlite: ["CREATE TABLE t4 (a)", "SYNTAX ERROR"] }];
    assert.throws(() => migrateSqlite(db, bad));
    assert.deepEqual(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 't4'").get(), { n: 0 });
    db.close();
  } finally {
    t.cleanup();
  }
});

test("concurrent openers in separate processes migrate exactly once", async () => {
  const t = tempDir();
  try {
    const script = join(t.dir, "open.ts");
    const indexUrl = new URL("../../index.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(indexUrl)};
const store = await openStore({ dataDir: process.argv[2], feedSocketPath: null });
await store.listDomains();
await store.close();
`,
    );
    const runs = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, [script, t.dir], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      return new Promise<{ code: number | null; err: string }>((resolve) =>
        child.on("close", (code) => resolve({ code, err })),
      );
    });
    for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.err);
    const db = new Database(join(t.dir, "store.sqlite"));
    assert.deepEqual(
      db.prepare("SELECT version FROM schema_migrations ORDER BY version").all(),
      MIGRATIONS.map((m) => ({ version: m.version })),
    );
    db.close();
  } finally {
    t.cleanup();
  }
});

test("migration 27 parks the queued texts of blobs already marked for the sweeper", () => {
  const t = tempDir();
  try {
    const db = new Database(join(t.dir, "m.sqlite"));
    migrateSqlite(
      db,
      MIGRATIONS.filter((m) => m.version < 27),
    );
    const blob = db.prepare("INSERT INTO blob (sha256, size, created_at, gc_pending) VALUES (?, 1, 0, ?)");
    const marked = Number(blob.run("a".repeat(64), 1).lastInsertRowid);
    const live = Number(blob.run("b".repeat(64), 0).lastInsertRowid);
    const queue = db.prepare("INSERT INTO fts_pending (id) VALUES (?)");
    queue.run(marked);
    queue.run(live);
    assert.ok(migrateSqlite(db).includes(27));
    const ids = (table: string) =>
      (db.prepare(`SELECT id FROM ${table} ORDER BY id`).raw().all() as unknown[][]).map((r) => Number(r[0]));
    assert.deepEqual(ids("fts_parked"), [marked]);
    assert.deepEqual(ids("fts_pending"), [live]);
    db.close();
  } finally {
    t.cleanup();
  }
});
