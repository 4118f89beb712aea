import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { dkimVerify } from "mailauth";
import { fixtureResolver } from "../queue/resolver.ts";
import { activeDkimKeys, dkimTxtRecord, ensureDkimKeys, loadDkimKeys, signMessage } from "./index.ts";

test("domain keys: ed25519 + rsa created once with 0600; both signatures verify; tampering fails", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-dkim-"));
  try {
    const keys = ensureDkimKeys(dir, "Example.ORG", new Date(Date.UTC(2026, 10, 1)));
    assert.deepEqual(keys.map((k) => [k.selector, k.algorithm]).sort(), [
      ["pk202611e", "ed25519"],
      ["pk202611r", "rsa"],
    ]);
    for (const k of keys) {
      const st = statSync(join(dir, "dkim", "example.org", `${k.selector}.pem`));
      assert.equal(st.mode & 0o777, 0o600);
    }
    // idempotent: no second pair
    ensureDkimKeys(dir, "example.org");
    assert.equal(loadDkimKeys(dir, "example.org").length, 2);
    const txt: Record<string, string[]> = {};
    for (const k of activeDkimKeys(dir, "example.org"))
      txt[`${k.selector}._domainkey.example.org`] = [dkimTxtRecord(k)];
    assert.match(txt["pk202611e._domainkey.example.org"]![0]!, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    const resolver = fixtureResolver({ TXT: txt });
    const msg = Buffer.from(
      "From: A <a@example.org>\r\nTo: b@remote.test\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nbody \u00e4\r\n",
      "utf8",
    );
    const signed = await signMessage(msg, keys);
    assert.deepEqual(signed.errors, []);
    const v = await dkimVerify(Buffer.from(signed.message), { resolver: resolver as never });
    const results = v.results.map((r) => [r.signingDomain, r.status.result, r.algo]);
    assert.equal(results.length, 2);
    for (const r of results) assert.equal(r[1], "pass", JSON.stringify(v.results));
    assert.deepEqual(results.map((r) => r[2]).sort(), ["ed25519-sha256", "rsa-sha256"]);
    // the signed bytes end with the original message, unchanged
    assert.deepEqual(Buffer.from(signed.message).subarray(-msg.length), msg);
    const tampered = Buffer.from(
      Buffer.from(signed.message).toString("utf8").replace("body", "bodx"),
      "utf8",
    );
    const v2 = await dkimVerify(tampered, { resolver: resolver as never });
    assert.equal(v2.results.length, 2);
    for (const r of v2.results) assert.notEqual(r.status.result, "pass");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("no keys: message unchanged", async () => {
  const m = Buffer.from("From: a@b\r\n\r\nx\r\n");
  assert.equal((await signMessage(m, [])).message, m);
});
