import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture, msg } from "../store/testing/helpers.ts";
import { runImport } from "./run.ts";
import type { ImportSource, SourceItem } from "./source.ts";

function source(id: string, items: SourceItem[], failAfter?: string): ImportSource {
  return {
    id,
    async *items() {
      yield* items;
      if (failAfter) throw new Error(failAfter);
    },
  };
}

const m = (folder: string, body: string, flags: string[] = []): SourceItem => ({
  kind: "message",
  folder: { name: folder, specialUse: null },
  raw: msg({ body, subject: body.slice(0, 20), messageId: `<${body.slice(0, 20)}@t>` }),
  flags,
  where: `${folder}:${body.slice(0, 20)}`,
});

test("runImport: folders mapped and created, duplicates, failures with reasons, a failing source", async () => {
  const f = await fixture({ maxMessageSize: 2000 });
  try {
    const items: SourceItem[] = [
      m("INBOX", "one", ["\\Seen"]),
      m("INBOX", "one", ["\\Seen"]), // the same octets again in one folder
      m("Sent Items", "sent"),
      m("Lists/node", "list"),
      m("INBOX", "x".repeat(3000)), // over max_message_size
      { kind: "failed", where: "file@12", reason: "unreadable" },
    ];
    const s1 = await runImport(f.store, f.accountId, source("s", items, "connection lost"), {
      batchMessages: 2,
    });
    assert.equal(s1.imported, 3);
    assert.equal(s1.duplicates, 1);
    assert.deepEqual(s1.failed.map((x) => x.where).sort(), ["INBOX:" + "x".repeat(20), "file@12"].sort());
    assert.match(s1.failed.find((x) => x.where.startsWith("INBOX"))?.reason ?? "", /size limit/);
    assert.equal(s1.aborted, "connection lost");
    assert.deepEqual(s1.created, ["Lists/node"]);
    const sent = await f.store.getMailbox(f.accountId, "Sent");
    assert.equal((await f.store.listMessages(sent!.id)).length, 1, "Sent Items → Sent");
    const s2 = await runImport(f.store, f.accountId, source("s", items));
    assert.equal(s2.imported, 0);
    assert.equal(s2.duplicates, 4);
    // quota: stops at the first message that does not fit, keeps the rest of the batch before it
    await f.store.updateAccount("bob@example.com", { quotaMessages: 5 });
    const more = [m("INBOX", "a"), m("INBOX", "b"), m("INBOX", "c")];
    const s3 = await runImport(f.store, f.accountId, source("t", more), { batchMessages: 10 });
    assert.equal(s3.imported, 2);
    assert.match(s3.quotaStopped ?? "", /INBOX:c/);
  } finally {
    await f.close();
  }
});
