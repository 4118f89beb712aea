/**
 * Store conformance, ACL part (run by suite.ts's runStoreConformance for every adapter): mailbox
 * ACLs (RFC 4314) — the owner's implicit rights, grants to accounts and to anyone (a grantee's
 * rights are the union), what sharedWith lists, inheritance by new children, and rows going with
 * the mailbox and with the grantee account. Public Store interface only.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ALL_RIGHTS, StoreError } from "../types.ts";
import type { ConformanceStore } from "./suite.ts";

export function runAclConformance(name: string, openFresh: () => Promise<ConformanceStore>): void {
  describe(`store conformance (${name}): mailbox ACLs`, () => {
    test("grants, rights, sharedWith; owner implicit; rows go with mailbox and grantee", async () => {
      const h = await openFresh();
      try {
        const s = h.store;
        await s.addDomain("example.com");
        const f = { accountId: (await s.createAccount("bob@example.com", "hash")).id };
        const carol = await s.createAccount("carol@example.com", "hash");
        const dave = await s.createAccount("dave@example.com", "hash");
        const team = await s.createMailbox(f.accountId, "Team");
        assert.equal(await s.rightsOf(f.accountId, team), ALL_RIGHTS);
        assert.equal(await s.rightsOf(carol.id, team), "");
        assert.deepEqual(await s.sharedWith(carol.id), []);

        await s.setAcl(team.id, "Carol@Example.com", "lrs");
        await s.setAcl(team.id, "anyone", "lw");
        assert.deepEqual(await s.getAcl(team.id), [
          { grantee: "anyone", rights: "lw" },
          { grantee: "carol@example.com", rights: "lrs" },
        ]);
        assert.equal(await s.rightsOf(carol.id, team), "lrsw"); // own row ∪ anyone
        assert.equal(await s.rightsOf(dave.id, team), "lw");
        const shared = await s.sharedWith(carol.id);
        assert.equal(shared.length, 1);
        assert.equal(shared[0]!.ownerAddress, "bob@example.com");
        assert.equal(shared[0]!.mailbox.name, "Team");
        assert.equal(shared[0]!.rights, "lrsw");
        // the owner never sees its own mailboxes as shared, even through anyone
        assert.deepEqual(await s.sharedWith(f.accountId), []);

        await assert.rejects(s.setAcl(team.id, "bob@example.com", "lr"), (e: unknown) => {
          return e instanceof StoreError && e.code === "CANNOT";
        });
        await assert.rejects(s.setAcl(team.id, "nobody@example.com", "lr"), (e: unknown) => {
          return e instanceof StoreError && e.code === "NOTFOUND";
        });
        await assert.rejects(s.setAcl(team.id, "not an address", "lr"), (e: unknown) => {
          return e instanceof StoreError && e.code === "NOTFOUND";
        });

        // a new child starts with its parent's ACL (and its own rows afterwards)
        const sub = await s.createMailbox(f.accountId, "Team/Sub/Deeper");
        assert.deepEqual(await s.getAcl(sub.id), await s.getAcl(team.id));
        await s.setAcl(sub.id, "anyone", "");
        assert.equal(await s.rightsOf(dave.id, sub), "");
        assert.equal(await s.rightsOf(dave.id, team), "lw");
        await s.deleteMailbox(f.accountId, "Team/Sub/Deeper");
        await s.deleteMailbox(f.accountId, "Team/Sub");

        // replacing and removing
        await s.setAcl(team.id, "carol@example.com", "l");
        assert.equal(await s.rightsOf(carol.id, team), "lw");
        await s.setAcl(team.id, "anyone", "");
        assert.equal(await s.rightsOf(carol.id, team), "l");

        // deleting the grantee account removes its rows; deleting the mailbox removes the rest
        await s.setAcl(team.id, "dave@example.com", "lr");
        await s.deleteAccount("carol@example.com");
        assert.deepEqual(await s.getAcl(team.id), [{ grantee: "dave@example.com", rights: "lr" }]);
        await s.deleteMailbox(f.accountId, "Team");
        assert.deepEqual(await s.getAcl(team.id), []);
        assert.deepEqual(await s.sharedWith(dave.id), []);
      } finally {
        await h.close();
      }
    });
  });
}
