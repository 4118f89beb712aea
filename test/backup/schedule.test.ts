/**
 * The server's daily backup job (src/backup/schedule.ts): a run on its worker thread takes a
 * snapshot and applies the retention; a failing run is logged and scheduled again (backoff).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { listSnapshots } from "../../src/backup/manifest.ts";
import { localDay, msUntil, recheckIn, startBackupSchedule } from "../../src/backup/schedule.ts";
import type { ResolvedConfig } from "../../src/config/index.ts";
import { metricKey, snapshot } from "../../src/net/metrics.ts";
import type { Logger } from "../../src/server/index.ts";
import { captureLogger } from "../kit/logs.ts";
import { message, openTestStore } from "../kit/store.ts";

function configFor(dataDir: string, dir: string): ResolvedConfig {
  return {
    data_dir: dataDir,
    backup: {
      enabled: false,
      dir,
      time: "03:30",
      keep_daily: 7,
      keep_weekly: 0,
      compress: false,
      retry: 60_000,
    },
  } as unknown as ResolvedConfig;
}

describe("backup schedule", () => {
  it("runs a snapshot on a worker thread; a failure is logged and retried later", async () => {
    const t = await openTestStore({ accounts: [["u@example.com", "pw"]] });
    const { logs, logger } = captureLogger();
    const log = { ...logger, child: () => log } as unknown as Logger;
    try {
      const acc = t.ids["u@example.com"]!;
      const inbox = (await t.store.getMailbox(acc, "INBOX"))!;
      await t.store.append(acc, inbox.id, { raw: Buffer.from(message("scheduled")) });
      const dir = path.join(t.dir, "backups");
      const s = startBackupSchedule(configFor(t.dir, dir), log);
      try {
        assert.equal(await s.runNow(), true);
        assert.equal(listSnapshots(dir).length, 1);
        assert.ok(
          logs.some(
            (l) => l.msg === "backup snapshot taken" && (l.o as { messages?: number }).messages === 1,
          ),
        );
      } finally {
        await s.stop();
      }
      // a backup directory that cannot be created: logged, retried
      const blocked = path.join(t.dir, "not-a-dir");
      fs.writeFileSync(blocked, "");
      const f = startBackupSchedule(configFor(t.dir, path.join(blocked, "b")), log);
      try {
        assert.equal(await f.runNow(), false);
        assert.ok(logs.some((l) => l.level === "error" && l.msg === "backup failed"));
        assert.equal(snapshot()[metricKey("postkontor_backups_total", { result: "failed" })], 1);
        assert.ok(
          logs.some((l) => l.level === "warn" && (l.o as { retryInMs?: number }).retryInMs === 60_000),
        );
      } finally {
        await f.stop();
      }
    } finally {
      await t.close();
    }
  });

  it("msUntil: the next HH:MM, tomorrow once today's has passed", () => {
    const now = new Date(2026, 11, 4, 10, 0, 0);
    assert.equal(msUntil("10:30", now), 30 * 60_000);
    assert.equal(msUntil("09:00", now), 23 * 3_600_000);
  });

  it("recheckIn: a skipped node looks again later the same day, doubling, never past the next run", () => {
    const now = new Date(2026, 11, 4, 3, 30, 5);
    const day = localDay(now);
    assert.equal(day, "2026-12-04");
    assert.equal(recheckIn(1, 5 * 60_000, "03:30", day, now), 5 * 60_000);
    assert.equal(recheckIn(3, 5 * 60_000, "03:30", day, now), 20 * 60_000);
    assert.equal(recheckIn(20, 5 * 60_000, "03:30", day, now), 6 * 3_600_000, "at most 6 h");
    // late in the day: the look would fall on the next day
    assert.equal(recheckIn(8, 5 * 60_000, "21:00", "2026-12-04", new Date(2026, 11, 4, 21, 0, 5)), null);
    // the daily run comes before the look
    assert.equal(recheckIn(1, 60 * 60_000, "04:00", day, now), null);
  });
});
