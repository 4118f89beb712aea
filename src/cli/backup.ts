/**
 * CLI for `backup run|list|verify|prune` and `restore` (src/backup/, docs/backup.md). Registered
 * by commands.ts. `backup run` works while `serve` runs (online snapshot; SQLite or PostgreSQL
 * store, by the configuration); `restore ADDRESS` goes through the store API, so a running server's
 * sessions (every node's, on PostgreSQL) see the restored folders at once; `restore --all` fills an
 * empty data directory (no server on it), or with `--to` an empty PostgreSQL database.
 *
 * Exit codes: 0 done, 1 failed (verify: a problem found), 64 bad arguments, 67 no such account.
 */
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { findSnapshot, listSnapshots, readManifest } from "../backup/manifest.ts";
import { replaceAccount, restoreAll, restoreMessages } from "../backup/restore.ts";
import { pruneSnapshots, takeSnapshot, verifySnapshot } from "../backup/snapshot.ts";
import { parseDuration, type ResolvedConfig } from "../config/index.ts";
import { MigrateRefused, migrateToPostgres } from "../store/migrate/index.ts";
import { formatBytes } from "./io.ts";
import type { CliHelpers } from "./outbound.ts";

interface DirOpts {
  config?: string;
  backupDir?: string;
}

function backupDir(config: ResolvedConfig, o: DirOpts): string {
  return o.backupDir ? resolve(o.backupDir) : config.backup.dir;
}

/** what takeSnapshot needs of the configuration: the data directory, or the PostgreSQL store */
function snapshotOf(config: ResolvedConfig, dir: string) {
  return {
    dataDir: config.data_dir,
    dir,
    compress: config.backup.compress,
    ...(config.store.backend === "postgres" ? { postgresUrl: config.store.url } : {}),
  };
}

function dirOption(cmd: Command): Command {
  return cmd.option("--backup-dir <dir>", "backup directory (default: [backup] dir of the configuration)");
}

/**
 * `restore --all --to postgres://…`: disaster recovery of a cluster — the snapshot into a scratch
 * data directory (restoreAll), then that SQLite store into the empty database by the copy and
 * verification of `postkontor migrate` (same ids, UIDVALIDITY, UIDs, modseqs); the scratch
 * directory is removed once verified.
 */
async function restoreAllToPostgres(
  h: CliHelpers,
  dir: string,
  id: string,
  url: string,
  scratch: string | undefined,
): Promise<void> {
  if (!/^postgres(ql)?:\/\//.test(url)) h.usage("--to must be a postgres:// URL");
  const tmp = resolve(scratch ?? join(dir, `restore-${id}-${process.pid}`));
  const r = restoreAll(dir, id, tmp);
  process.stdout.write(`restored snapshot ${id}: ${r.messages} messages, ${r.blobs} blobs into ${tmp}\n`);
  let m: Awaited<ReturnType<typeof migrateToPostgres>>;
  try {
    m = await migrateToPostgres({ dataDir: tmp, url });
  } catch (e) {
    if (!(e instanceof MigrateRefused)) throw e;
    process.stderr.write(`postkontor: ${e.message} (the restored store stays in ${tmp})\n`);
    process.exitCode = 1;
    return;
  }
  for (const p of m.verify.problems) process.stdout.write(`MISMATCH ${p}\n`);
  if (m.verify.problems.length > 0) {
    process.stderr.write(
      `postkontor: verification failed (${m.verify.problems.length} problems); the restored store stays in ${tmp}\n`,
    );
    process.exitCode = 1;
    return;
  }
  rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(
    `copied into ${url.replace(/\/\/[^@/]*@/, "//")}: ${m.verify.accounts} accounts, verified\n`,
  );
}

export function addBackupCommands(program: Command, h: CliHelpers): void {
  const backup = program.command("backup").description("snapshots of the whole store (docs/backup.md)");

  dirOption(h.configOption(backup.command("run")))
    .description("take a snapshot now (online), then apply the retention ([backup] keep_daily, keep_weekly)")
    .option("--no-prune", "keep every snapshot")
    .action(async (o: DirOpts & { prune: boolean }) => {
      const config = h.load(o);
      const dir = backupDir(config, o);
      const m = await takeSnapshot(snapshotOf(config, dir));
      process.stdout.write(
        `snapshot ${m.id}: ${m.accounts} accounts, ${m.messages} messages, ${m.blobs.length} blobs ` +
          `(${m.copied} new, ${formatBytes(m.copiedBytes)}) in ${dir}\n`,
      );
      if (o.prune) {
        const p = pruneSnapshots(dir, config.backup.keep_daily, config.backup.keep_weekly);
        if (p.removed.length)
          process.stdout.write(`pruned: ${p.removed.join(" ")} (${p.blobsRemoved} blobs)\n`);
      }
    });

  dirOption(h.configOption(backup.command("list")))
    .description("list the snapshots")
    .action((o: DirOpts) => {
      const dir = backupDir(h.load(o), o);
      for (const id of listSnapshots(dir)) {
        const m = readManifest(dir, id);
        process.stdout.write(
          `${id}\t${m.accounts} accounts\t${m.messages} messages\t${m.blobs.length} blobs\t${m.copied} new (${formatBytes(m.copiedBytes)})\n`,
        );
      }
    });

  dirOption(h.configOption(backup.command("verify [snapshot]")))
    .description(
      "recheck every blob's SHA-256 and the metadata copy (checksum, integrity_check); default all",
    )
    .action((sel: string | undefined, o: DirOpts) => {
      const dir = backupDir(h.load(o), o);
      const ids = sel ? [findSnapshot(dir, sel)] : listSnapshots(dir);
      const checked = new Set<string>();
      let bad = 0;
      for (const id of ids) {
        const r = verifySnapshot(dir, id, checked);
        if (r.problems.length === 0) process.stdout.write(`${id}: ok (${r.blobs} blobs)\n`);
        for (const p of r.problems) process.stdout.write(`${id}: ${p}\n`);
        if (r.problems.length) bad++;
      }
      if (bad) {
        process.stderr.write(`postkontor: ${bad} of ${ids.length} snapshots failed verification\n`);
        process.exitCode = 1;
      }
    });

  dirOption(h.configOption(backup.command("prune")))
    .description("remove snapshots outside the retention and the blobs only they used")
    .action((o: DirOpts) => {
      const config = h.load(o);
      const p = pruneSnapshots(backupDir(config, o), config.backup.keep_daily, config.backup.keep_weekly);
      process.stdout.write(
        `kept: ${p.kept.join(" ") || "-"}\nremoved: ${p.removed.join(" ") || "-"} (${p.blobsRemoved} blobs)\n`,
      );
    });

  dirOption(h.configOption(program.command("restore [address]")))
    .description(
      "restore an account's folders from a snapshot into Restored/<date>/<folder> (new UIDs; duplicates " +
        "skipped), or with --all a whole server into an empty data directory (same UIDVALIDITY and UIDs)",
    )
    .addOption(
      new Option(
        "--snapshot <id>",
        'snapshot id, or a date "YYYY-MM-DD" (its latest), or "latest"',
      ).makeOptionMandatory(),
    )
    .option("--mailbox <name>", "only this folder")
    .option(
      "--replace",
      "replace the account's folders and messages by the snapshot's (a snapshot of the current state is taken first)",
    )
    .option("--all", "disaster recovery: every account, into the empty --data-dir (or --to)")
    .option("--data-dir <dir>", "with --all: the data directory to fill (with --to: a scratch directory)")
    .option(
      "--to <url>",
      "with --all: into this empty PostgreSQL database instead (restored into a scratch data directory, " +
        "then copied as `postkontor migrate --to` does)",
    )
    .action(
      async (
        address: string | undefined,
        o: DirOpts & {
          snapshot: string;
          mailbox?: string;
          all?: boolean;
          dataDir?: string;
          to?: string;
          replace?: boolean;
        },
      ) => {
        const config = h.load(o);
        const dir = backupDir(config, o);
        let id: string;
        try {
          id = findSnapshot(dir, o.snapshot);
        } catch (e) {
          return h.usage((e as Error).message);
        }
        if (o.all) {
          if (address !== undefined || o.mailbox !== undefined)
            h.usage("--all restores everything: no ADDRESS or --mailbox");
          if (o.to !== undefined) return restoreAllToPostgres(h, dir, id, o.to, o.dataDir);
          if (!o.dataDir) h.usage("--all needs --data-dir DIR (an empty data directory) or --to URL");
          const r = restoreAll(dir, id, resolve(o.dataDir));
          process.stdout.write(
            `restored snapshot ${id}: ${r.messages} messages, ${r.blobs} blobs into ${resolve(o.dataDir)}\n`,
          );
          return;
        }
        if (o.to !== undefined) h.usage("--to goes with --all");
        if (address === undefined) h.usage("give the ADDRESS to restore into (or --all)");
        if (o.replace && o.mailbox !== undefined)
          h.usage("--replace restores the whole account: no --mailbox");
        const sum = await h
          .withStore(
            config,
            async (s) => {
              const account = await s.getAccount(address);
              if (!account) h.notFound(`no such account: ${address}`);
              if (!o.replace) return restoreMessages(s, account.id, account.address, dir, id, o.mailbox);
              // the current state first, so the replacement can itself be undone
              const before = await takeSnapshot(snapshotOf(config, dir));
              process.stdout.write(`snapshot of the current state: ${before.id}\n`);
              return replaceAccount(s, account.id, account.address, dir, id, before.id);
            },
            true,
          )
          .catch(h.storeExit);
        process.stdout.write(
          `restored from ${id}: ${sum.imported}, skipped as duplicate: ${sum.duplicates}, failed: ${sum.failed.length}` +
            (sum.created.length ? `\nfolders created: ${sum.created.join(", ")}` : "") +
            "\n",
        );
        for (const f of sum.failed) process.stdout.write(`  failed ${f.where}: ${f.reason}\n`);
        if (sum.aborted) process.stderr.write(`postkontor: restore stopped: ${sum.aborted}\n`);
        if (sum.quotaStopped)
          process.stderr.write(`postkontor: restore stopped at the quota: ${sum.quotaStopped}\n`);
        if (sum.failed.length || sum.aborted || sum.quotaStopped) process.exitCode = 1;
      },
    );

  h.configOption(program.command("undelete <address>"))
    .description(
      "bring back messages expunged inside the undelete window ([store] undelete_window): into their folder " +
        "(new UIDs), or Restored/<date>/<folder> when the folder is gone",
    )
    .option(
      "--since <when>",
      'only those expunged since: a time ("2026-12-04T08:00Z") or a duration ago ("3h", "2d")',
    )
    .option("--mailbox <name>", "only those expunged from this folder")
    .action(async (address: string, o: { config?: string; since?: string; mailbox?: string }) => {
      let since: Date | undefined;
      if (o.since !== undefined) {
        const t = Date.parse(o.since);
        if (!Number.isNaN(t) && /^\d{4}-/.test(o.since)) since = new Date(t);
        else {
          let ms: number;
          try {
            ms = parseDuration(o.since);
          } catch {
            return h.usage(`--since expects a time or a duration, got "${o.since}"`);
          }
          since = new Date(Date.now() - ms);
        }
      }
      const r = await h
        .withStore(
          h.load(o),
          async (s) => {
            const account = await s.getAccount(address);
            if (!account) h.notFound(`no such account: ${address}`);
            return s.undelete(account.id, {
              ...(since ? { since } : {}),
              ...(o.mailbox !== undefined ? { mailbox: o.mailbox } : {}),
            });
          },
          true,
        )
        .catch(h.storeExit);
      process.stdout.write(
        `undeleted: ${r.restored}${r.folders.length ? ` into ${r.folders.join(", ")}` : ""}\n`,
      );
    });
}
