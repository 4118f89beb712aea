/** Vacation settings and the once-per-sender record through the Store API (domain/vacation.ts). */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Fixture, fixture } from "../testing/helpers.ts";
import { StoreError } from "../types.ts";

describe("store: vacation responses", () => {
  let t: Fixture;
  let id: number;
  before(async () => {
    t = await fixture();
    id = t.accountId;
  });
  after(async () => {
    await t.close();
  });

  test("defaults, patches keep the other properties, bad input refused", async () => {
    assert.deepEqual(await t.store.getVacationResponse(id), {
      isEnabled: false,
      fromDate: null,
      toDate: null,
      subject: null,
      textBody: null,
      htmlBody: null,
    });
    const from = new Date("2026-12-20T00:00:00Z");
    await t.store.setVacationResponse(id, { isEnabled: true, textBody: "away", fromDate: from });
    const v = await t.store.setVacationResponse(id, { subject: "Away" });
    assert.equal(v.isEnabled, true);
    assert.equal(v.textBody, "away");
    assert.equal(v.fromDate?.getTime(), from.getTime());
    assert.deepEqual(await t.store.getVacationResponse(id), v);
    await assert.rejects(
      t.store.setVacationResponse(id, { toDate: new Date("2026-12-01T00:00:00Z") }),
      (e: unknown) => e instanceof StoreError && e.code === "INVALID",
    );
    await assert.rejects(
      t.store.setVacationResponse(id, { subject: "a\r\nBcc: x@y" }),
      (e: unknown) => e instanceof StoreError && e.code === "INVALID",
    );
    await assert.rejects(
      t.store.getVacationResponse(99999),
      (e: unknown) => e instanceof StoreError && e.code === "NONEXISTENT",
    );
  });

  test("a change is a VacationResponse update in the account change log", async () => {
    const state = await t.store.currentState(id);
    await t.store.setVacationResponse(id, { isEnabled: false });
    const after = await t.store.currentState(id);
    assert.notEqual(after, state);
    const ch = await t.store.changesSinceState(id, "vacationResponse", state);
    assert.ok(ch !== "cannotCalculateChanges");
    assert.deepEqual([ch.created, ch.updated, ch.destroyed], [[], ["singleton"], []]);
    const none = await t.store.changesSinceState(id, "email", state);
    assert.ok(none !== "cannotCalculateChanges");
    assert.deepEqual(none.updated, []);
  });

  test("once per sender per interval; a settings change resets; pruning", async () => {
    const day = 86_400_000;
    const t0 = Date.now();
    assert.equal(await t.store.claimVacationReply(id, "A@remote.example", 7 * day, t0), true);
    assert.equal(await t.store.claimVacationReply(id, "a@remote.example", 7 * day, t0 + day), false);
    assert.equal(await t.store.claimVacationReply(id, "b@remote.example", 7 * day, t0 + day), true);
    assert.equal(await t.store.claimVacationReply(id, "a@remote.example", 7 * day, t0 + 7 * day), true);
    // records older than the cutoff go: a (t0 + 7d) stays, b (t0 + 1d) goes
    assert.equal(await t.store.pruneVacationReplies(new Date(t0 + 2 * day)), 1);
    assert.equal(await t.store.claimVacationReply(id, "b@remote.example", 7 * day, t0 + 3 * day), true);
    assert.equal(await t.store.claimVacationReply(id, "a@remote.example", 7 * day, t0 + 8 * day), false);
    await t.store.setVacationResponse(id, { isEnabled: true });
    assert.equal(await t.store.claimVacationReply(id, "a@remote.example", 7 * day, t0 + 8 * day), true);
  });
});
