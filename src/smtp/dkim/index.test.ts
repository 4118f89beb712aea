import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { dkimVerify } from "mailauth";
import { fixture } from "../../store/testing/helpers.ts";
import { fixtureResolver } from "../queue/resolver.ts";
import {
  activeDkimKeys,
  DKIM_KEY_KIND,
  dkimTxtRecord,
  ensureDkimKeys,
  loadDkimKeys,
  signMessage,
} from "./index.ts";

test("domain keys: ed25519 + rsa created once in the store; both signatures verify; tampering fails", async () => {
  const f = await fixture();
  const store = f.store.keys;
  try {
    const keys = await ensureDkimKeys(store, "Example.ORG", new Date(Date.UTC(2026, 10, 1)));
    assert.deepEqual(keys.map((k) => [k.selector, k.algorithm]).sort(), [
      ["pk202611e", "ed25519"],
      ["pk202611r", "rsa"],
    ]);
    // kept in the store (keys port), not as files on this host
    for (const k of keys) assert.ok(await store.get(DKIM_KEY_KIND, `example.org/${k.selector}`));
    assert.equal(existsSync(join(f.dir, "dkim")), false);
    // idempotent: no second pair
    await ensureDkimKeys(store, "example.org");
    assert.equal((await loadDkimKeys(store, "example.org")).length, 2);
    const txt: Record<string, string[]> = {};
    for (const k of await activeDkimKeys(store, "example.org"))
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
    await f.close();
  }
});

test("no keys: message unchanged", async () => {
  const m = Buffer.from("From: a@b\r\n\r\nx\r\n");
  assert.equal((await signMessage(m, [])).message, m);
});
