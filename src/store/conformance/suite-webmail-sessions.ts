/**
 * Store conformance, webmail sessions (run by suite.ts's runStoreConformance for every adapter):
 * create and look up by the cookie value, logout, expiry by idle time and by lifetime, pruning,
 * the renewal over a password change, and rows going with the account. Public Store interface only.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Account } from "../types.ts";
import type { ConformanceStore } from "./suite.ts";

const TIMES = { idleMs: 60_000, lifetimeMs: 3_600_000 };

export function runWebmailSessionConformance(name: string, openFresh: () => Promise<ConformanceStore>): void {
  describe(`store conformance (${name}): webmail sessions`, () => {
    async function withAccount(fn: (h: ConformanceStore, a: Account) => Promise<void>): Promise<void> {
      const h = await openFresh();
      try {
        await h.store.addDomain("example.com");
        await fn(h, await h.store.createAccount("bob@example.com", "hash"));
      } finally {
        await h.close();
      }
    }

    test("create → get by the cookie value; delete ends it; rows go with the account", () =>
      withAccount(async (h, acct) => {
        const s = h.store;
        const { token, session } = await s.createWebmailSession(acct, TIMES);
        assert.match(token, /^[A-Za-z0-9_-]{43}$/);
        assert.equal(session.accountId, acct.id);
        assert.equal(session.credentialsVersion, acct.credentialsVersion);
        assert.equal(session.expiresAt.getTime() - session.createdAt.getTime(), TIMES.idleMs);
        const got = await s.getWebmailSession(token, TIMES);
        assert.equal(got?.csrf, session.csrf);
        assert.equal(
          await s.getWebmailSession(`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`, TIMES),
          null,
        );
        assert.equal(await s.deleteWebmailSession(token), true);
        assert.equal(await s.getWebmailSession(token, TIMES), null);
        assert.equal(await s.deleteWebmailSession(token), false);
        const again = await s.createWebmailSession(acct, TIMES);
        await s.deleteAccount(acct.address);
        assert.equal(await s.getWebmailSession(again.token, TIMES), null);
      }));

    test("the idle timeout and the lifetime end a session; pruning removes expired rows", () =>
      withAccount(async (h, acct) => {
        const s = h.store;
        const idle = { idleMs: 200, lifetimeMs: 3_600_000 };
        const a = await s.createWebmailSession(acct, idle);
        const short = { idleMs: 3_600_000, lifetimeMs: 200 };
        const b = await s.createWebmailSession(acct, short);
        const kept = await s.createWebmailSession(acct, TIMES);
        await sleep(300);
        assert.equal(await s.getWebmailSession(a.token, idle), null, "idle too long (the row goes)");
        assert.equal(await s.expireWebmailSessions(new Date()), 1, "b's row is past its expiry");
        assert.equal(await s.getWebmailSession(b.token, short), null);
        assert.ok(await s.getWebmailSession(kept.token, TIMES));
      }));

    test("a password change renews the kept session (same CSRF, new value) and ends the rest", () =>
      withAccount(async (h, acct) => {
        const s = h.store;
        const keep = await s.createWebmailSession(acct, TIMES);
        const other = await s.createWebmailSession(acct, TIMES);
        const r = await s.endWebmailSessions(acct.id, { keepToken: keep.token, credentialsVersion: 7 });
        assert.equal(r.ended, 1);
        assert.ok(r.renewed && r.renewed !== keep.token);
        const renewed = await s.getWebmailSession(r.renewed, TIMES);
        assert.equal(renewed?.csrf, keep.session.csrf);
        assert.equal(renewed?.credentialsVersion, 7);
        assert.equal(await s.getWebmailSession(keep.token, TIMES), null);
        assert.equal(await s.getWebmailSession(other.token, TIMES), null);
        assert.deepEqual(await s.endWebmailSessions(acct.id, { credentialsVersion: 8 }), {
          ended: 1,
          renewed: null,
        });
      }));
  });
}
