/**
 * Backup and restore benchmark (store level, no server): fills a store with N distinct messages
 * (~4 KB, through Store.appendMany, so blobs are real files), then times
 *   - the first snapshot (metadata copy + every blob),
 *   - an incremental snapshot after 1% new mail (only the new blobs are copied),
 *   - `restore --mailbox` of a folder of R messages into Restored/<date>/… (the import driver).
 * Bounded by its arguments; prints one JSON line per measurement.
 *
 *   node bench/backup.ts [messages=20000] [restoreFolder=10000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restoreMessages } from "../src/backup/restore.ts";
import { takeSnapshot } from "../src/backup/snapshot.ts";
import { openStore } from "../src/store/index.ts";

const N = Math.min(Number(process.argv[2] ?? 20_000), 200_000);
const R = Math.min(Number(process.argv[3] ?? 10_000), N);
const BATCH = 500;

function msg(i: number): Buffer {
  const body = `Message ${i} body line with some text to index.\r\n`.repeat(60);
  return Buffer.from(
    `From: a@remote.test\r\nTo: u@example.com\r\nSubject: bench ${i}\r\nMessage-ID: <b${i}@remote.test>\r\n` +
      `Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\n${body}`,
  );
}

const dir = mkdtempSync(join(tmpdir(), "pk-bench-backup-"));
const dataDir = join(dir, "data");
const backups = join(dir, "backups");
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
try {
  const store = await openStore({
    dataDir,
    feedSocketPath: null,
    orphanScanDelayMs: null,
    pruneDelayMs: null,
  });
  await store.addDomain("example.com");
  const acc = await store.createAccount("u@example.com", "{PLAIN}pw");
  const big = await store.createMailbox(acc.id, "Big");
  const inbox = (await store.getMailbox(acc.id, "INBOX"))!;
  const fill = async (box: number, from: number, to: number) => {
    for (let i = from; i < to; i += BATCH) {
      const inputs = [];
      for (let j = i; j < Math.min(to, i + BATCH); j++)
        inputs.push({ raw: msg(j), flags: j % 3 ? ["\\Seen"] : [] });
      await store.appendMany(acc.id, box, inputs);
    }
  };
  let t = performance.now();
  await fill(big.id, 0, R);
  await fill(inbox.id, R, N);
  out({ step: "fill", messages: N, ms: Math.round(performance.now() - t) });

  t = performance.now();
  const first = await takeSnapshot({ dataDir, dir: backups, compress: false });
  const firstMs = performance.now() - t;
  out({
    step: "backup_first",
    messages: first.messages,
    copied: first.copied,
    mb: +(first.copiedBytes / 1e6).toFixed(1),
    ms: Math.round(firstMs),
    msgPerS: Math.round(first.messages / (firstMs / 1000)),
  });

  await fill(inbox.id, N, N + Math.ceil(N / 100));
  t = performance.now();
  const inc = await takeSnapshot({ dataDir, dir: backups, compress: false });
  out({
    step: "backup_incremental",
    messages: inc.messages,
    copied: inc.copied,
    ms: Math.round(performance.now() - t),
  });

  t = performance.now();
  const r = await restoreMessages(store, acc.id, "u@example.com", backups, inc.id, "Big");
  const restoreMs = performance.now() - t;
  out({
    step: "restore_folder",
    messages: r.imported,
    ms: Math.round(restoreMs),
    msgPerS: Math.round(r.imported / (restoreMs / 1000)),
  });
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
