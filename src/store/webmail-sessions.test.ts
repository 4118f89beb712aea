/**
 * Webmail sessions on SQLite beyond the conformance suite (conformance/suite-webmail-sessions.ts):
 * the database holds the hash of the cookie value, never the value.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { fixture } from "./testing/helpers.ts";

describe("webmail sessions (SQLite)", () => {
  it("only the SHA-256 of the cookie value is stored", async () => {
    const f = await fixture();
    try {
      const acct = (await f.store.getAccountById(f.accountId))!;
      const { token } = await f.store.createWebmailSession(acct, { idleMs: 60_000, lifetimeMs: 3_600_000 });
      const db = new Database(join(f.dir, "store.sqlite"), { readonly: true });
      try {
        const rows = db.prepare("SELECT id FROM webmail_session").all() as Array<{ id: string }>;
        assert.equal(rows.length, 1);
        assert.match(rows[0]!.id, /^[0-9a-f]{64}$/);
        assert.ok(!JSON.stringify(db.prepare("SELECT * FROM webmail_session").all()).includes(token));
      } finally {
        db.close();
      }
    } finally {
      await f.close();
    }
  });
});
