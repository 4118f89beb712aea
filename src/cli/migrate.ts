/**
 * CLI for `migrate --to postgres://…` (src/store/migrate/): copies this node's SQLite store into a
 * PostgreSQL database, resumably, and verifies it. Registered by commands.ts.
 *
 * Exit codes: 0 copied and verified, 1 refused or a verification mismatch, 64 bad arguments.
 */
import { type Command, Option } from "commander";
import { MigrateRefused, migrateToPostgres } from "../store/migrate/index.ts";
import type { CliHelpers } from "./outbound.ts";

interface MigrateOpts {
  config?: string;
  to: string;
  batchRows: string;
  verifyOnly?: boolean;
  progress?: boolean;
}

export function addMigrateCommand(program: Command, h: CliHelpers): void {
  h.configOption(program.command("migrate"))
    .description(
      "copy this node's SQLite store into PostgreSQL (same ids, UIDs, modseqs); works while serve runs, " +
        "resumes after an interruption, verifies row counts and per-account content hashes",
    )
    .addOption(
      new Option("--to <url>", "the target database, postgres://user@host:port/db").makeOptionMandatory(),
    )
    .option("--batch-rows <n>", "rows per committed batch", "500")
    .option("--verify-only", "only compare the store with a finished migration")
    .option("--progress", "print a line after each committed batch")
    .action(async (o: MigrateOpts) => {
      const config = h.load(o);
      if (!/^postgres(ql)?:\/\//.test(o.to)) h.usage("--to must be a postgres:// URL");
      const batchRows = Number(o.batchRows);
      if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 100_000)
        h.usage("--batch-rows must be an integer from 1 to 100000");
      let r: Awaited<ReturnType<typeof migrateToPostgres>>;
      try {
        r = await migrateToPostgres({
          dataDir: config.data_dir,
          url: o.to,
          batchRows,
          verifyOnly: o.verifyOnly === true,
          ...(o.progress ? { onBatch: (p) => process.stdout.write(`copied ${p.table} ${p.rows}\n`) } : {}),
        });
      } catch (e) {
        if (!(e instanceof MigrateRefused)) throw e;
        process.stderr.write(`postkontor: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`snapshot ${r.snapshot}${r.resumed ? " (resumed)" : ""}\n`);
      for (const t of r.verify.tables) {
        const c = r.copied[t.table];
        process.stdout.write(`${t.table}\t${t.source}\t${t.target}${c !== undefined ? `\t+${c}` : ""}\n`);
      }
      process.stdout.write(`${r.verify.accounts} accounts compared\n`);
      for (const p of r.verify.problems) process.stdout.write(`MISMATCH ${p}\n`);
      if (r.verify.problems.length > 0) {
        process.stderr.write(`postkontor: verification failed (${r.verify.problems.length} problems)\n`);
        process.exitCode = 1;
      } else process.stdout.write("verified: counts and content hashes match\n");
    });
}
