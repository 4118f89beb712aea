/**
 * Pending JMAP uploads are quota-counted (RFC 8620 §6.1): capped per account by
 * `max_pending_uploads` and counted against the account quota; the same content again adds
 * nothing; an upload survives in the store (seen by a fresh store read, as another worker would).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type JmapServer, startJmap } from "./helpers.ts";

describe("JMAP upload quota", () => {
  let t: JmapServer;
  before(async () => {
    t = await startJmap({ max_pending_uploads: 150 });
  });
  after(() => t.close());

  const up = (body: string) =>
    fetch(`${t.base}/jmap/upload/${t.accountId}/`, {
      method: "POST",
      headers: { authorization: t.auth(), "content-type": "text/plain" },
      body,
    });

  it("caps the pending total, lets the same content again, counts the account quota", async () => {
    const a = await up("a".repeat(60));
    assert.equal(a.status, 201);
    const { blobId } = (await a.json()) as { blobId: string };
    const b = await up("b".repeat(100));
    assert.equal(b.status, 413);
    assert.equal(((await b.json()) as { type: string }).type, "urn:ietf:params:jmap:error:overQuota");
    assert.equal((await up("a".repeat(60))).status, 201, "the same content adds nothing");
    assert.equal(await t.imap.store.pendingUploadBytes(t.imap.accountId), 60);
    const kept = await t.imap.store.getUpload(t.imap.accountId, blobId);
    assert.equal(kept?.size, 60);

    // the account quota (room for 80 octets beyond the mail): 60 + 15 pending fit, 10 more do not,
    // although max_pending_uploads would allow them
    const acc = (await t.imap.store.getAccountById(t.imap.accountId))!;
    await t.imap.store.updateAccount(acc.address, { quotaBytes: acc.usedBytes + 80 });
    assert.equal((await up("c".repeat(15))).status, 201);
    const d = await up("d".repeat(10));
    assert.equal(d.status, 413);
    assert.match(((await d.json()) as { detail: string }).detail, /quota/);
  });
});
