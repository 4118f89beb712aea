import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openStore } from "./index.ts";
import { fixture, msg, tempDir } from "./testing/helpers.ts";
import { StoreError } from "./types.ts";

/** blob files under <dataDir>/blobs (two directory levels) */
function blobFiles(dataDir: string): string[] {
  const root = join(dataDir, "blobs");
  const out: string[] = [];
  for (const a of readdirSync(root))
    for (const b of readdirSync(join(root, a))) for (const f of readdirSync(join(root, a, b))) out.push(f);
  return out;
}

test("concurrent appends and flag changes in one process keep uids and modseqs consistent", async () => {
  const f = await fixture({ smallBlobMaxBytes: 0 });
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

test("appends sharing one group commit: the ones past the quota fail alone, the others are durable", async () => {
  const f = await fixture({ smallBlobMaxBytes: 0 });
  try {
    await f.store.updateAccount("bob@example.com", { quotaMessages: 10 });
    // all 16 pass the check before the transaction (nothing stored yet); in the shared
    // transaction the 11th and later find the quota full and are rolled back to their savepoint
    const settled = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        f.store.append(f.accountId, f.inbox, { raw: msg({ body: `q${i}` }) }),
      ),
    );
    const ok = settled.filter((r) => r.status === "fulfilled");
    const failed = settled.filter((r) => r.status === "rejected");
    assert.equal(ok.length, 10);
    for (const r of failed) {
      assert.ok(r.reason instanceof StoreError, String(r.reason));
      assert.equal(r.reason.code, "OVERQUOTA");
    }
    assert.deepEqual(
      ok.map((r) => r.value.uid).sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    assert.equal(new Set(ok.map((r) => r.value.modseq)).size, 10, "one modseq per append");
    // committed: another connection (as another process would) sees exactly these
    const other = await openStore({ smallBlobMaxBytes: 0, dataDir: f.dir, feedSocketPath: null });
    try {
      const rows = await other.listMessages(f.inbox);
      assert.deepEqual(
        rows.map((r) => r.uid),
        ok.map((r) => r.value.uid).sort((a, b) => a - b),
      );
      assert.equal((await other.getAccountById(f.accountId))!.usedMessages, 10);
    } finally {
      await other.close();
    }
    // the refused messages' blob files were removed again
    assert.equal(blobFiles(f.dir).filter((n) => !n.startsWith(".")).length, 10);
  } finally {
    await f.close();
  }
});

test("an append that fails after its first writes is rolled back alone inside a shared commit", async () => {
  let db: import("better-sqlite3").Database | null = null;
  const f = await fixture({
    sqliteHook: (d) => {
      db = d;
    },
  });
  const { store, accountId, inbox } = f;
  try {
    const bad = msg({ subject: "poisoned", messageId: "<poisoned@example.org>" });
    // fault injection: the message row of `bad` is refused after its blob, search text and
    // thread rows were written in the same savepoint
    db!.exec(`CREATE TEMP TRIGGER poison BEFORE INSERT ON message WHEN NEW.size = ${bad.byteLength}
      BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    const goods = Array.from({ length: 6 }, (_, i) => msg({ body: `good ${i} ${"x".repeat(40 + i)}` }));
    assert.ok(goods.every((g) => g.byteLength !== bad.byteLength));
    const settled = await Promise.allSettled([
      ...goods.slice(0, 3).map((raw) => store.append(accountId, inbox, { raw })),
      store.append(accountId, inbox, { raw: bad }),
      ...goods.slice(3).map((raw) => store.append(accountId, inbox, { raw })),
    ]);
    assert.equal(settled[3]!.status, "rejected");
    assert.match(String((settled[3] as PromiseRejectedResult).reason), /injected failure/);
    const ok = settled.filter((r) => r.status === "fulfilled");
    assert.equal(ok.length, 6);
    // uids stay dense: the failed append took none
    assert.deepEqual(
      ok.map((r) => r.value.uid).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6],
    );
    const d = db!;
    const count = (q: string, ...args: unknown[]) => (d.prepare(q).get(...args) as { n: number }).n;
    const sha = createHash("sha256").update(bad).digest("hex");
    assert.equal(count("SELECT count(*) AS n FROM blob WHERE sha256 = ?", sha), 0);
    assert.equal(count("SELECT count(*) AS n FROM thread_ref WHERE msgid = ?", "<poisoned@example.org>"), 0);
    assert.equal(count("SELECT count(*) AS n FROM fts_text"), 6);
    assert.equal(count("SELECT count(*) AS n FROM message"), 6);
    const a = (await store.getAccountById(accountId))!;
    assert.equal(a.usedMessages, 6);
    assert.equal(
      a.usedBytes,
      goods.reduce((n, g) => n + g.byteLength, 0),
    );
    assert.equal((await store.getMailboxById(inbox))!.uidNext, 7);
  } finally {
    await f.close();
  }
});

test("appends from several processes at once get distinct uids and correct counters", async () => {
  const t = tempDir();
  const store = await openStore({ smallBlobMaxBytes: 0, dataDir: t.dir, feedSocketPath: null });
  try {
    await store.addDomain("example.com");
    const acct = await store.createAccount("u@example.com", "h");
    const inbox = (await store.getMailbox(acct.id, "INBOX"))!;
    const script = join(t.dir, "appender.ts");
    writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(new URL("./index.ts", import.meta.url).href)};
const [dataDir, accountId, mailboxId, tag] = process.argv.slice(2);
const store = await openStore({ smallBlobMaxBytes: 0, dataDir, feedSocketPath: null });
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
