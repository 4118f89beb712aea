/**
 * Mailbox ACLs in the store (RFC 4314): canonical rights (obsolete c/d expanded), the owner's
 * implicit rights, anyone, the union of a grantee's rows, and rows going with the mailbox and
 * with the grantee account.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fixture } from "../testing/helpers.ts";
import { ALL_RIGHTS, canonicalRights, rightsForDisplay, StoreError } from "../types.ts";

describe("mailbox ACLs", () => {
  test("canonicalRights orders, dedupes, expands c and d, refuses unknown letters", () => {
    assert.equal(canonicalRights("srl"), "lrs");
    assert.equal(canonicalRights("llrr"), "lr");
    assert.equal(canonicalRights("c"), "kx");
    assert.equal(canonicalRights("d"), "te");
    assert.equal(canonicalRights(""), "");
    assert.equal(canonicalRights("lrz"), null);
    assert.equal(canonicalRights("L"), null);
    assert.equal(rightsForDisplay("lrk"), "lrkc");
    assert.equal(rightsForDisplay("lre"), "lred");
    assert.equal(rightsForDisplay("lr"), "lr");
  });

  test("grants, rights, sharedWith; owner implicit; rows go with mailbox and grantee", async () => {
    const f = await fixture();
    try {
      const s = f.store;
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
      await f.close();
    }
  });
});
