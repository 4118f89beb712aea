import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openStore } from "./index.ts";
import { fixture, msg, tempDir } from "./testing/helpers.ts";

test("concurrent appends and flag changes in one process keep uids and modseqs consistent", async () => {
  const f = await fixture();
  try {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        f.store.append(f.accountId, f.inbox, { raw: msg({ body: `c${i}` }) }),
      ),
    );
    const uids = results.map((r) => r.uid).sort((a, b) => a - b);
    assert.deepEqual(
      uids,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.equal(new Set(results.map((r) => r.modseq)).size, 40, "one modseq per transaction");
    const flagOps = await Promise.all(uids.map((u) => f.store.storeFlags(f.inbox, [u], "add", ["\\Seen"])));
    assert.equal(new Set(flagOps.map((r) => r.updated[0]!.modseq)).size, 40);
    const counts = await f.store.mailboxCounts(f.inbox);
    assert.equal(counts.messages, 40);
    assert.equal(counts.unseen, 0);
    const acct = (await f.store.getAccountById(f.accountId))!;
    assert.equal(acct.usedMessages, 40);
    assert.equal(acct.usedBytes, counts.size);
  } finally {
    await f.close();
  }
});

test("appends from several processes at once get distinct uids and correct counters", async () => {
  const t = tempDir();
  const store = await openStore({ dataDir: t.dir, feedSocketPath: null });
  try {
    await store.addDomain("example.com");
    const acct = await store.createAccount("u@example.com", "h");
    const inbox = (await store.getMailbox(acct.id, "INBOX"))!;
    const script = join(t.dir, "appender.ts");
    writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(new URL("./index.ts", import.meta.url).href)};
const [dataDir, accountId, mailboxId, tag] = process.argv.slice(2);
const store = await openStore({ dataDir, feedSocketPath: null });
for (let i = 0; i < 25; i++) {
  await store.append(Number(accountId), Number(mailboxId), {
    raw: Buffer.from(\`Subject: \${tag} \${i}\\r\\n\\r\\nbody \${tag} \${i}\\r\\n\`),
  });
}
await store.close();
`,
    );
    const runs = ["a", "b", "c"].map((tag) => {
      const child = spawn(process.execPath, [script, t.dir, String(acct.id), String(inbox.id), tag], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      return new Promise<{ code: number | null; err: string }>((resolve) =>
        child.on("close", (code) => resolve({ code, err })),
      );
    });
    // the parent appends at the same time
    for (let i = 0; i < 10; i++) await store.append(acct.id, inbox.id, { raw: msg({ body: `parent ${i}` }) });
    for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.err);
    const rows = await store.listMessages(inbox.id);
    assert.deepEqual(
      rows.map((r) => r.uid),
      Array.from({ length: 85 }, (_, i) => i + 1),
    );
    const mb = (await store.getMailboxById(inbox.id))!;
    assert.equal(mb.uidNext, 86);
    let maxModseq = 0n;
    for (const r of rows) if (r.modseq > maxModseq) maxModseq = r.modseq;
    assert.equal(mb.highestModseq, maxModseq);
    const a = (await store.getAccountById(acct.id))!;
    assert.equal(a.usedMessages, 85);
    assert.equal(a.usedBytes, (await store.mailboxCounts(inbox.id)).size);
    assert.equal((await store.searchText(inbox.id, { field: "body", value: "body b 2" })).length, 6);
  } finally {
    await store.close();
    t.cleanup();
  }
});
