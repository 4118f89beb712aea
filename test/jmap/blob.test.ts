/** JMAP binary data (RFC 8620 §6): upload, download (whole message streamed, decoded parts), Blob/copy. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type JmapServer, message, startJmap } from "./helpers.ts";

describe("JMAP upload, download, Blob/copy", () => {
  let t: JmapServer;
  before(async () => {
    t = await startJmap({ max_size_upload: 1000, max_concurrent_upload: 1 });
  });
  after(() => t.close());

  const up = (body: string | Buffer, accountId = t.accountId) =>
    fetch(`${t.base}/jmap/upload/${accountId}/`, {
      method: "POST",
      headers: { authorization: t.auth(), "content-type": "text/plain" },
      body,
    });

  it("upload then download; limits, wrong account, unknown blob", async () => {
    const r = await up("hello blob");
    assert.equal(r.status, 201);
    const u = (await r.json()) as { blobId: string; size: number; type: string; accountId: string };
    assert.equal(u.size, 10);
    assert.equal(u.type, "text/plain");
    assert.equal(u.accountId, t.accountId);
    const d = await fetch(
      `${t.base}/jmap/download/${t.accountId}/${u.blobId}/h%C3%A9llo.txt?accept=text/x-test`,
      {
        headers: { authorization: t.auth() },
      },
    );
    assert.equal(d.status, 200);
    assert.equal(await d.text(), "hello blob");
    assert.equal(d.headers.get("content-type"), "text/x-test");
    assert.equal(d.headers.get("content-disposition"), "attachment; filename*=UTF-8''h%C3%A9llo.txt");
    const big = await up(Buffer.alloc(1001, 65));
    assert.equal(big.status, 400);
    assert.equal(((await big.json()) as { limit: string }).limit, "maxSizeUpload");
    assert.equal((await up("x", "A999999")).status, 404);
    const nf = await fetch(`${t.base}/jmap/download/${t.accountId}/Unope/x`, {
      headers: { authorization: t.auth() },
    });
    assert.equal(nf.status, 404);
    const anon = await fetch(`${t.base}/jmap/download/${t.accountId}/${u.blobId}/x`);
    assert.equal(anon.status, 401);
  });

  it("an Email's blobId downloads the stored message; a part's blobId its decoded content", async () => {
    const inbox = (await t.imap.store.getMailbox(t.imap.accountId, "INBOX"))!;
    const raw =
      "From: a@example.org\r\nSubject: att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
      "--B\r\nContent-Type: text/plain\r\n\r\nbody\r\n--B\r\nContent-Type: application/octet-stream\r\n" +
      "Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--B--\r\n";
    await t.imap.store.append(t.imap.accountId, inbox.id, { raw: Buffer.from(raw) });
    await t.imap.store.append(t.imap.accountId, inbox.id, { raw: Buffer.from(message("plain")) });
    const [[, q], [, g]] = await t.call([
      ["Email/query", { accountId: t.accountId, filter: { subject: "att" } }, "q"],
      [
        "Email/get",
        {
          accountId: t.accountId,
          "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
          properties: ["blobId", "attachments", "size"],
        },
        "g",
      ],
    ]);
    assert.equal(q.ids.length, 1);
    const e = g.list[0];
    const whole = await fetch(`${t.base}/jmap/download/${t.accountId}/${e.blobId}/m.eml`, {
      headers: { authorization: t.auth() },
    });
    assert.equal(whole.headers.get("content-type"), "message/rfc822");
    assert.equal(await whole.text(), raw);
    const att = e.attachments[0];
    const part = await fetch(`${t.base}/jmap/download/${t.accountId}/${att.blobId}/a.bin`, {
      headers: { authorization: t.auth() },
    });
    assert.deepEqual([...new Uint8Array(await part.arrayBuffer())], [0, 1, 2, 3]);
    const [[, c], [, wrong]] = await t.call([
      [
        "Blob/copy",
        { fromAccountId: t.accountId, accountId: t.accountId, blobIds: [att.blobId, "Unope"] },
        "c",
      ],
      ["Blob/copy", { fromAccountId: "A999999", accountId: t.accountId, blobIds: [] }, "w"],
    ]);
    assert.deepEqual(c.copied, { [att.blobId]: att.blobId });
    assert.equal(c.notCopied.Unope.type, "blobNotFound");
    assert.equal(wrong.type, "fromAccountNotFound");
  });
});
