import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createFileLocker } from "./lock.ts";

test("in-process: exclusive per account, released by the holder only", () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-lock-"));
  try {
    const a = createFileLocker(dir);
    const b = createFileLocker(dir);
    const l1 = a.acquire(1);
    assert.ok(l1);
    assert.equal(b.acquire(1), null);
    assert.equal(a.acquire(1), null);
    const other = b.acquire(2);
    assert.ok(other, "another account is independent");
    l1.release();
    const l2 = b.acquire(1);
    assert.ok(l2);
    l1.release(); // a second release of an old lock must not remove the new holder's file
    assert.ok(existsSync(join(dir, "1")));
    assert.equal(a.acquire(1), null);
    l2.release();
    other.release();
    assert.ok(!existsSync(join(dir, "1")) && !existsSync(join(dir, "2")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("garbage and dead-pid lock files are stale; another host's are respected", () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-lock-"));
  try {
    const l = createFileLocker(dir);
    writeFileSync(join(dir, "5"), "garbage");
    const a = l.acquire(5);
    assert.ok(a);
    a.release();
    writeFileSync(join(dir, "6"), `999999999 ${hostname()} abc`);
    const b = l.acquire(6);
    assert.ok(b);
    assert.match(readFileSync(join(dir, "6"), "utf8"), new RegExp(`^${process.pid} `));
    b.release();
    writeFileSync(join(dir, "7"), `1 some-other-host abc`);
    assert.equal(l.acquire(7), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("across processes: a live holder blocks; a killed holder's lock is taken over", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-lock-"));
  const lockTs = fileURLToPath(new URL("./lock.ts", import.meta.url));
  const code =
    `import { createFileLocker } from ${JSON.stringify(lockTs)};` +
    `const l = createFileLocker(${JSON.stringify(dir)}).acquire(42);` +
    `process.stdout.write(l ? "locked\\n" : "busy\\n"); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
      child.once("error", reject);
      setTimeout(() => reject(new Error("child did not answer")), 15_000).unref();
    });
    assert.equal(first, "locked");
    const l = createFileLocker(dir);
    assert.equal(l.acquire(42), null, "held by a live process");
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL"); // no cleanup: the file stays behind
    await exited;
    assert.ok(existsSync(join(dir, "42")));
    const mine = l.acquire(42);
    assert.ok(mine, "stale lock of a dead process is taken over");
    mine.release();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
