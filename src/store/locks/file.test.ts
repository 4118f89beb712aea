import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FileLocks } from "./file.ts";

const TTL = 60_000;

test("in-process: exclusive per name, released by the holder only", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-lock-"));
  try {
    const a = new FileLocks(dir);
    const b = new FileLocks(dir);
    const l1 = await a.acquire("pop3/1", "a", TTL);
    assert.ok(l1);
    assert.equal(await b.acquire("pop3/1", "b", TTL), null);
    assert.equal(await a.acquire("pop3/1", "a", TTL), null);
    const other = await b.acquire("pop3/2", "b", TTL);
    assert.ok(other, "another name is independent");
    await l1.release();
    const l2 = await b.acquire("pop3/1", "b", TTL);
    assert.ok(l2);
    await l1.release(); // a second release of an old lock must not remove the new holder's file
    assert.ok(existsSync(join(dir, "pop3", "1")));
    assert.equal(await a.acquire("pop3/1", "a", TTL), null);
    assert.equal(await l1.renew(TTL), false, "a released lease cannot be renewed");
    await l2.release();
    await other.release();
    assert.ok(!existsSync(join(dir, "pop3", "1")) && !existsSync(join(dir, "pop3", "2")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("garbage and dead-pid lock files are stale; another host's are respected until they expire", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-lock-"));
  try {
    const l = new FileLocks(dir);
    writeFileSync(join(dir, "5"), "garbage");
    const a = await l.acquire("5", "me", TTL);
    assert.ok(a);
    await a.release();
    writeFileSync(join(dir, "6"), `999999999 ${hostname()} abc`);
    const b = await l.acquire("6", "me", TTL);
    assert.ok(b);
    assert.ok(readFileSync(join(dir, "6"), "utf8").startsWith(`${process.pid} `));
    await b.release();
    writeFileSync(join(dir, "7"), `1 some-other-host abc`);
    assert.equal(await l.acquire("7", "me", TTL), null);
    writeFileSync(join(dir, "8"), `1 some-other-host abc ${Date.now() + TTL} other`);
    assert.equal(await l.acquire("8", "me", TTL), null);
    writeFileSync(join(dir, "9"), `1 some-other-host abc ${Date.now() - 1} other`);
    const c = await l.acquire("9", "me", TTL);
    assert.ok(c, "an expired lease of another host is free");
    await c.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a lease expires unless renewed; renew extends it; a lost lease reports false", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-lock-"));
  try {
    const l = new FileLocks(dir);
    const a = await l.acquire("x/y", "first", 150);
    assert.ok(a);
    assert.equal(await l.acquire("x/y", "second", TTL), null);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await a.renew(300), true);
    assert.ok(a.expiresAt > Date.now() + 200);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await l.acquire("x/y", "second", TTL), null, "renewed: still held");
    await new Promise((r) => setTimeout(r, 250));
    const b = await l.acquire("x/y", "second", TTL);
    assert.ok(b, "expired: taken over");
    assert.equal(await a.renew(TTL), false);
    await a.release(); // must not remove b's file
    assert.equal(await l.acquire("x/y", "third", TTL), null);
    await b.release();
    assert.throws(() => l.acquireSync("../escape", "x", TTL), /invalid lease name/);
    assert.throws(() => l.acquireSync("a//b", "x", TTL), /invalid lease name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("across processes: a live holder blocks; a killed holder's lock is taken over", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-lock-"));
  const lockTs = fileURLToPath(new URL("./file.ts", import.meta.url));
  const code =
    `import { FileLocks } from ${JSON.stringify(lockTs)};` +
    `const l = await new FileLocks(${JSON.stringify(dir)}).acquire("pop3/42", "child", 600000);` +
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
    const l = new FileLocks(dir);
    assert.equal(await l.acquire("pop3/42", "me", TTL), null, "held by a live process");
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL"); // no cleanup: the file stays behind
    await exited;
    assert.ok(existsSync(join(dir, "pop3", "42")));
    const mine = await l.acquire("pop3/42", "me", TTL);
    assert.ok(mine, "stale lock of a dead process is taken over");
    await mine.release();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
