import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Account } from "../store/types.ts";
import {
  type AuthenticatorOptions,
  createAuthenticator,
  decodeSaslPlain,
  hashPassword,
  hashScheme,
  verifyHash,
} from "./index.ts";
import { shaCrypt } from "./sha-crypt.ts";

function account(address: string, passwordHash: string, version = 1): Account {
  return {
    id: 7,
    domainId: 1,
    address,
    passwordHash,
    quotaBytes: 0,
    quotaMessages: 0,
    usedBytes: 0,
    usedMessages: 0,
    settings: {
      imapEnabled: true,
      pop3Enabled: true,
      pop3Delete: "delete",
      pop3Scope: "all",
      pop3EnabledAt: null,
    },
    createdAt: new Date(0),
    credentialsVersion: version,
  };
}

/** A fake account table that counts lookups. */
function fakeStore(accounts: Account[]) {
  const rows = new Map(accounts.map((a) => [a.address, a]));
  return {
    rows,
    lookups: 0,
    async getAccount(address: string) {
      this.lookups++;
      return rows.get(address.toLowerCase()) ?? null;
    },
  };
}

function opts(over: Partial<AuthenticatorOptions> = {}): AuthenticatorOptions & { clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return {
    cacheTtlMs: 300_000,
    failureDelayMs: 0,
    maxFailuresPerIp: 0,
    maxFailuresPerUser: 0,
    failureWindowMs: 60_000,
    lockoutMs: 60_000,
    now: () => clock.t,
    clock,
    ...over,
  };
}

const ctx = { protocol: "imap" as const, remoteAddress: "192.0.2.1" };

describe("password hashes", () => {
  it("argon2id round trip with {ARGON2ID} prefix", async () => {
    const h = await hashPassword("correct horse");
    assert.match(h, /^\{ARGON2ID\}\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyHash(h, "correct horse"), true);
    assert.equal(await verifyHash(h, "correct horsf"), false);
    // bare PHC string accepted too
    assert.equal(await verifyHash(h.slice("{ARGON2ID}".length), "correct horse"), true);
  });

  it("PLAIN scheme, unknown schemes and garbage", async () => {
    assert.equal(await verifyHash("{PLAIN}sécret", "sécret"), true);
    assert.equal(await verifyHash("{PLAIN}sécret", "secret"), false);
    assert.equal(await verifyHash("{PLAIN}", ""), true);
    assert.equal(await verifyHash("{SHA512-CRYPT}$6$abc$def", "x"), false);
    assert.equal(
      await verifyHash("{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuuN1Ue0xkGmV5Ku6bWWrAfHnbmhU.VkW2", "x"),
      false,
    );
    assert.equal(await verifyHash("{ARGON2ID}not-a-hash", "x"), false);
    assert.equal(await verifyHash("{ARGON2ID}$argon2id$broken", "x"), false);
    assert.equal(await verifyHash("plaintext-without-scheme", "plaintext-without-scheme"), false);
    assert.deepEqual(hashScheme("{blf-crypt}$2y$x"), { scheme: "BLF-CRYPT", value: "$2y$x" });
  });
});

describe("SHA-crypt (imported Dovecot hashes)", () => {
  // vectors produced by OpenSSL (`openssl passwd -5/-6 -salt …`) and the Drepper spec
  const vectors: Array<[string, string]> = [
    ["Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"],
    [
      "Hello world!",
      "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    ],
    ["Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"],
    [
      "Hello world!",
      "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    ],
    ["pässword", "$5$abc$SBW/q3xGsmBeeQeQlRsZf5ffKUqPQLf7cPOsqBr8VS/"],
    [
      "pässword",
      "$6$abcdefgh$iiBW30h6MQUpgkXT9F87NVy6FIbloKXQmfPH87w2UkYa6T8cikoVXkyDCmOccwyrz69xvCZIs4Q.UiGV4ZRkv.",
    ],
  ];
  it("computes the reference hashes", () => {
    for (const [pw, hash] of vectors) {
      const setting = hash.slice(0, hash.lastIndexOf("$"));
      assert.equal(shaCrypt(pw, setting), hash);
    }
  });
  it("verifies through verifyHash with and without the scheme prefix", async () => {
    const h6 = vectors[5]![1];
    assert.equal(await verifyHash(`{SHA512-CRYPT}${h6}`, "pässword"), true);
    assert.equal(await verifyHash(`{SHA512-CRYPT}${h6}`, "password"), false);
    assert.equal(await verifyHash(`{CRYPT}${h6}`, "pässword"), true);
    assert.equal(await verifyHash(h6, "pässword"), true);
    assert.equal(await verifyHash(`{SHA256-CRYPT}${vectors[4]![1]}`, "pässword"), true);
    assert.equal(
      await verifyHash("{SHA512-CRYPT}$6$rounds=99999999$x$y", "x"),
      false,
      "absurd rounds refused",
    );
  });
});

describe("decodeSaslPlain (RFC 4616)", () => {
  it("decodes with and without authzid", () => {
    assert.deepEqual(decodeSaslPlain(Buffer.from("\0alice@example.com\0pw")), {
      authzid: "",
      authcid: "alice@example.com",
      password: "pw",
    });
    assert.deepEqual(decodeSaslPlain(Buffer.from("admin\0alice\0pässwörd")), {
      authzid: "admin",
      authcid: "alice",
      password: "pässwörd",
    });
  });

  it("rejects malformed messages", () => {
    assert.equal(decodeSaslPlain(Buffer.from("alice")), null);
    assert.equal(decodeSaslPlain(Buffer.from("\0alice")), null);
    assert.equal(decodeSaslPlain(Buffer.from("\0\0pw")), null);
    assert.equal(decodeSaslPlain(Buffer.from("\0alice\0")), null);
    assert.equal(decodeSaslPlain(Buffer.from("\0alice\0pw\0x")), null);
    assert.equal(decodeSaslPlain(Buffer.from([0, 0x61, 0, 0xff, 0xfe])), null); // invalid UTF-8
  });

  it("property: round trips any NUL-free non-empty fields", () => {
    const field = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes("\0"));
    fc.assert(
      fc.property(fc.oneof(fc.constant(""), field), field, field, (authzid, authcid, password) => {
        const buf = Buffer.from(`${authzid}\0${authcid}\0${password}`, "utf8");
        assert.deepEqual(decodeSaslPlain(buf), { authzid, authcid, password });
      }),
    );
  });
});

describe("createAuthenticator", () => {
  it("verifies, is case-insensitive on the username, and refuses wrong passwords", async () => {
    const store = fakeStore([account("alice@example.com", "{PLAIN}pw1")]);
    const auth = createAuthenticator(store, opts());
    const a = await auth.verifyPassword("Alice@Example.COM", "pw1", ctx);
    assert.equal(a?.address, "alice@example.com");
    assert.equal(await auth.verifyPassword("alice@example.com", "pw2", ctx), null);
    assert.equal(await auth.verifyPassword("bob@example.com", "pw1", ctx), null);
    assert.equal(await auth.verifyPassword("alice@example.com", "", ctx), null);
  });

  it("caches successes only, and a credentialsVersion bump invalidates at once", async () => {
    const hash = await hashPassword("pw1");
    const store = fakeStore([account("alice@example.com", hash, 1)]);
    const auth = createAuthenticator(store, opts());
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx));
    // Replace the hash with one that cannot verify: a cache hit is the only way to succeed now.
    store.rows.set("alice@example.com", account("alice@example.com", "{UNKNOWN}x", 1));
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx), "served from cache");
    assert.equal(await auth.verifyPassword("alice@example.com", "wrong", ctx), null, "failure not cached");
    // Password change: version bump → old cached entry no longer matches.
    store.rows.set("alice@example.com", account("alice@example.com", "{PLAIN}pw2", 2));
    assert.equal(await auth.verifyPassword("alice@example.com", "pw1", ctx), null);
    assert.ok(await auth.verifyPassword("alice@example.com", "pw2", ctx));
    assert.ok(store.lookups >= 5, "the account row is read on every login");
  });

  it("cache entries expire after the TTL", async () => {
    const o = opts({ cacheTtlMs: 1000 });
    const store = fakeStore([account("alice@example.com", "{PLAIN}pw1")]);
    const auth = createAuthenticator(store, o);
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx));
    store.rows.set("alice@example.com", account("alice@example.com", "{UNKNOWN}x"));
    o.clock.t += 500;
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx));
    o.clock.t += 600;
    assert.equal(await auth.verifyPassword("alice@example.com", "pw1", ctx), null);
  });

  it("locks out an IP for one username, then lets through after the lockout", async () => {
    // Rule changed (issue 9): failures for a username lock out the IP they come from for that
    // username; other IPs are delayed, not refused (a flood cannot lock the owner out).
    const o = opts({ maxFailuresPerUser: 3, lockoutMs: 10_000 });
    const store = fakeStore([account("alice@example.com", "{PLAIN}pw1")]);
    const auth = createAuthenticator(store, o);
    const attacker = { protocol: "imap" as const, remoteAddress: "203.0.113.5" };
    for (let i = 0; i < 3; i++) {
      assert.equal(await auth.verifyPassword("alice@example.com", "bad", attacker), null);
    }
    // locked from that IP: even the right password is refused
    assert.equal(await auth.verifyPassword("alice@example.com", "pw1", attacker), null);
    // the same username from another IP still logs in
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx));
    o.clock.t += 10_001;
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", attacker));
  });

  it("failures for a username from many IPs delay its logins (growing, capped), never refuse", async () => {
    const delays: number[] = [];
    const o = opts({
      maxFailuresPerUser: 3,
      maxUserDelayMs: 1000,
      sleep: async (ms) => void delays.push(ms),
    });
    const store = fakeStore([account("alice@example.com", "{PLAIN}pw1")]);
    const auth = createAuthenticator(store, o);
    const from = (i: number) => ({ protocol: "imap" as const, remoteAddress: `198.51.100.${i}` });
    for (let i = 0; i < 3; i++)
      assert.equal(await auth.verifyPassword("alice@example.com", "bad", from(i)), null);
    assert.deepEqual(delays, [], "below the threshold: no delay");
    // at the threshold: every attempt waits, the right password too, and still succeeds
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx));
    assert.deepEqual(delays, [200]);
    for (let i = 3; i < 8; i++) await auth.verifyPassword("alice@example.com", "bad", from(i));
    delays.length = 0;
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx), "never refused");
    assert.deepEqual(delays, [1000], "doubled per failure, capped at maxUserDelayMs");
    // another username is not affected
    delays.length = 0;
    await auth.verifyPassword("bob@example.com", "x", ctx);
    assert.deepEqual(delays, []);
    // the window ends: no delay any more
    o.clock.t += 60_001;
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx));
    assert.deepEqual(delays, []);
  });

  it("throttles per IP across usernames", async () => {
    const o = opts({ maxFailuresPerIp: 2, lockoutMs: 5_000 });
    const store = fakeStore([account("alice@example.com", "{PLAIN}pw1")]);
    const auth = createAuthenticator(store, o);
    await auth.verifyPassword("x@example.com", "bad", ctx);
    await auth.verifyPassword("y@example.com", "bad", ctx);
    assert.equal(await auth.verifyPassword("alice@example.com", "pw1", ctx), null);
    const other = { protocol: "imap" as const, remoteAddress: "198.51.100.9" };
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", other));
  });

  it("applies the failure delay", async () => {
    const delays: number[] = [];
    const store = fakeStore([account("alice@example.com", "{PLAIN}pw1")]);
    const auth = createAuthenticator(
      store,
      opts({ failureDelayMs: 250, sleep: async (ms) => void delays.push(ms) }),
    );
    await auth.verifyPassword("alice@example.com", "bad", ctx);
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx));
    assert.deepEqual(delays, [250]);
  });

  it("refuses a protocol disabled for the account", async () => {
    const a = account("alice@example.com", "{PLAIN}pw1");
    a.settings.pop3Enabled = false;
    const auth = createAuthenticator(fakeStore([a]), opts());
    assert.equal(await auth.verifyPassword("alice@example.com", "pw1", { ...ctx, protocol: "pop3" }), null);
    assert.ok(await auth.verifyPassword("alice@example.com", "pw1", ctx));
  });
});
