/**
 * DKIM keys in the store (keys port): `domain add` / `domain dkim` / `dns` go through the store,
 * and key files of an older version (<data_dir>/dkim/<domain>/<selector>.pem) are imported once
 * at open, kept on disk, and logged.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { activeDkimKeys, dkimTxtRecord } from "../../src/smtp/dkim/index.ts";
import { openStore } from "../../src/store/index.ts";
import { run, tempEnv } from "./helpers.ts";

test("domain add creates the keys in the store, not as files; dns prints them; domain dkim keeps them", async () => {
  const env = tempEnv();
  try {
    const add = await run(["domain", "add", "example.org", "-c", env.config]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(existsSync(join(env.dataDir, "dkim")), false, "no key files on this host");
    const dkim = await run(["domain", "dkim", "example.org", "-c", env.config]);
    assert.equal(dkim.code, 0, dkim.stderr);
    const selectors = dkim.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t")[0]!);
    assert.equal(selectors.length, 2);
    const dns = await run(["dns", "example.org", "-c", env.config]);
    assert.equal(dns.code, 0, dns.stderr);
    for (const s of selectors) assert.ok(dns.stdout.includes(`${s}._domainkey.example.org.`), dns.stdout);
    // the same pair on a second run (never a new key under a published selector)
    const again = await run(["domain", "dkim", "example.org", "-c", env.config]);
    assert.equal(again.stdout, dkim.stdout);
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test("key files of an older version are imported once at open; the files stay", async () => {
  const env = tempEnv();
  try {
    const add = await run(["domain", "add", "example.net", "-c", env.config]);
    assert.equal(add.code, 0, add.stderr);
    // as an older version left them: a domain that has no key in the store yet
    const dir = join(env.dataDir, "dkim", "legacy.test");
    mkdirSync(dir, { recursive: true });
    const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    writeFileSync(join(dir, "pk202401e.pem"), ed, { mode: 0o600 });
    writeFileSync(join(dir, "notes.txt"), "not a key");
    const addLegacy = await run(["domain", "add", "legacy.test", "-c", env.config]);
    assert.equal(addLegacy.code, 0, addLegacy.stderr);
    assert.match(addLegacy.stderr, /imported DKIM key files into the store/);
    assert.match(addLegacy.stderr, /legacy\.test\/pk202401e/);
    assert.ok(existsSync(join(dir, "pk202401e.pem")), "the file is kept");
    const dns = await run(["dns", "legacy.test", "-c", env.config]);
    assert.equal(dns.code, 0, dns.stderr);
    assert.doesNotMatch(dns.stderr, /imported/, "imported once only");
    // the imported key is the one published (and domain add created the missing rsa key only)
    const store = await openStore({ dataDir: env.dataDir, feedSocketPath: null, blobWriterThreads: 0 });
    try {
      const keys = await activeDkimKeys(store.keys, "legacy.test");
      const imported = keys.find((k) => k.selector === "pk202401e");
      assert.ok(imported);
      assert.equal(imported.privateKeyPem, ed);
      assert.deepEqual(keys.map((k) => k.algorithm).sort(), ["ed25519", "rsa"]);
      assert.ok(dns.stdout.includes(dkimTxtRecord(imported).slice(0, 40)));
    } finally {
      await store.close();
    }
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});
