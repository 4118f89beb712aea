/**
 * CLI for `import ADDRESS SOURCE…` (mbox, Maildir, another IMAP server) and `export ADDRESS`
 * (src/import/). Both go through the store API like the other admin commands, so they run while
 * `serve` runs and its sessions see imported mail through the change feed. Registered by
 * commands.ts.
 *
 * import exit codes: 0 all stored (or already there), 1 some messages failed (listed), 75 stopped
 * at the account's quota, 64 bad arguments, 67 no such account.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { type Command, Option } from "commander";
import { runExport } from "../import/export.ts";
import { imapSource } from "../import/imap-source.ts";
import { maildirFolders, maildirSource } from "../import/maildir.ts";
import { MBOX_VARIANTS, type MboxVariant, mboxSource } from "../import/mbox.ts";
import { type ImportSummary, runImport } from "../import/run.ts";
import type { ImportSource } from "../import/source.ts";
import { readNewPassword, UsageError } from "./io.ts";
import type { CliHelpers } from "./outbound.ts";

interface ImportOpts {
  config?: string;
  format?: "auto" | "mbox" | "maildir";
  mboxVariant?: MboxVariant;
  imapHost?: string;
  imapPort?: string;
  imapUser?: string;
  imapTls?: boolean;
  imapStarttls?: boolean;
  imapInsecure?: boolean;
  passwordFile?: string;
  batch?: number;
}

/** A path's kind: a Maildir tree (cur/ or new/ in it or below) or mbox (a file, or a directory of them). */
function sourceOf(path: string, o: ImportOpts, h: CliHelpers): ImportSource {
  if (!existsSync(path)) h.usage(`no such file or directory: ${path}`);
  const fmt = o.format ?? "auto";
  const isDir = statSync(path).isDirectory();
  const maildir = fmt === "maildir" || (fmt === "auto" && isDir && maildirFolders(path).length > 0);
  return maildir ? maildirSource(path) : mboxSource(path, { variant: o.mboxVariant ?? "auto" });
}

function printSummary(s: ImportSummary, tty: boolean): void {
  if (tty) process.stderr.write("\r\x1b[K");
  const out = [
    `imported: ${s.imported}`,
    `skipped as duplicate: ${s.duplicates}`,
    `failed: ${s.failed.length}`,
    ...(s.created.length ? [`folders created: ${s.created.join(", ")}`] : []),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  for (const f of s.failed) process.stdout.write(`  failed ${f.where}: ${f.reason}\n`);
  if (s.aborted) process.stderr.write(`postkontor: import stopped: ${s.aborted}\n`);
  if (s.quotaStopped) process.stderr.write(`postkontor: import stopped at the quota: ${s.quotaStopped}\n`);
}

export function addImportCommands(program: Command, h: CliHelpers): void {
  h.configOption(program.command("import <address> [source...]"))
    .description(
      "import mail into an account from mbox files (a file or a directory tree), Maildir (Maildir++ folders, " +
        "dovecot-keywords) or another IMAP server (--imap-host); re-running imports nothing twice",
    )
    .addOption(
      new Option("--format <format>", "what the SOURCE paths are").choices(["auto", "mbox", "maildir"]),
    )
    .addOption(
      new Option(
        "--mbox-variant <variant>",
        "From_ quoting of the mbox files (auto: mboxrd unquoting, Content-Length when it fits)",
      ).choices(MBOX_VARIANTS as string[]),
    )
    .addOption(
      new Option("--batch <n>", "messages per transaction (default 50)").argParser((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 10_000)
          throw new UsageError(`--batch expects 1…10000, got "${v}"`);
        return n;
      }),
    )
    .option("--imap-host <host>", "import from this IMAP server")
    .option("--imap-port <port>", "its port (default 993 with --imap-tls, else 143)")
    .option("--imap-user <user>", "the login name there")
    .option("--imap-tls", "implicit TLS (imaps)")
    .option("--imap-starttls", "require STARTTLS (the default for any host but loopback)")
    .option("--imap-insecure", "do not verify the server's certificate")
    .option(
      "--password-file <file>",
      "read the IMAP password from the first line of this file (else stdin or a prompt)",
    )
    .action(async (address: string, paths: string[], o: ImportOpts) => {
      const config = h.load(o);
      const sources: ImportSource[] = [];
      if (o.imapHost) {
        if (!o.imapUser) h.usage("--imap-host needs --imap-user");
        if (o.imapTls && o.imapStarttls) h.usage("--imap-tls and --imap-starttls exclude each other");
        const port = o.imapPort ? Number(o.imapPort) : o.imapTls ? 993 : 143;
        if (!Number.isInteger(port) || port < 1 || port > 65535) h.usage(`not a port: ${o.imapPort}`);
        const password = o.passwordFile
          ? (readFileSync(o.passwordFile, "utf8").split(/\r?\n/)[0] ?? "")
          : await readNewPassword({ confirm: false });
        if (!password) h.usage("empty IMAP password");
        sources.push(
          imapSource({
            host: o.imapHost,
            port,
            user: o.imapUser!,
            password,
            tls: o.imapTls === true,
            starttls: o.imapStarttls === true,
            insecure: o.imapInsecure === true,
          }),
        );
      }
      for (const p of paths) sources.push(sourceOf(p, o, h));
      if (sources.length === 0) h.usage("nothing to import: give mbox/Maildir paths or --imap-host");
      const tty = process.stderr.isTTY === true;
      const total: ImportSummary = {
        imported: 0,
        duplicates: 0,
        failed: [],
        quotaStopped: null,
        aborted: null,
        created: [],
      };
      await h
        .withStore(
          config,
          async (s) => {
            const account = await s.getAccount(address);
            if (!account) h.notFound(`no such account: ${address}`);
            for (const src of sources) {
              const base = { ...total, failed: [...total.failed], created: [...total.created] };
              const r = await runImport(s, account.id, src, {
                ...(o.batch ? { batchMessages: o.batch } : {}),
                progress: tty
                  ? (p, folder) =>
                      process.stderr.write(
                        `\r\x1b[K${folder}: ${base.imported + p.imported} imported, ${base.duplicates + p.duplicates} duplicates, ${base.failed.length + p.failed.length} failed`,
                      )
                  : undefined,
              });
              total.imported += r.imported;
              total.duplicates += r.duplicates;
              total.failed.push(...r.failed);
              total.created.push(...r.created);
              if (r.aborted) {
                total.aborted = `${src.id}: ${r.aborted}`;
                break;
              }
              if (r.quotaStopped) {
                total.quotaStopped = r.quotaStopped;
                break;
              }
            }
          },
          true,
        )
        .catch(h.storeExit);
      printSummary(total, tty);
      if (total.quotaStopped) process.exitCode = 75;
      else if (total.aborted) process.exitCode = 1;
      else if (total.failed.length > 0) process.exitCode = 1;
    });

  h.configOption(program.command("export <address> <dir>"))
    .description(
      "export an account's mail: mbox (mboxrd, DIR/<folder>.mbox) or Maildir (DIR = INBOX, DIR/.A.B = folder A/B), " +
        "octets as stored, flags, keywords and internal dates",
    )
    .addOption(
      new Option("--format <format>", "output format").choices(["mbox", "maildir"]).makeOptionMandatory(),
    )
    .option("--mailbox <name>", "only this folder")
    .action(
      async (
        address: string,
        dir: string,
        o: { config?: string; format: "mbox" | "maildir"; mailbox?: string },
      ) => {
        const r = await h
          .withStore(h.load(o), async (s) => {
            const account = await s.getAccount(address);
            if (!account) h.notFound(`no such account: ${address}`);
            if (o.mailbox !== undefined && !(await s.getMailbox(account.id, o.mailbox)))
              h.notFound(`no such mailbox: ${o.mailbox}`);
            return runExport(s, account.id, {
              format: o.format,
              dir,
              ...(o.mailbox !== undefined ? { mailbox: o.mailbox } : {}),
            });
          })
          .catch(h.storeExit);
        process.stdout.write(`exported: ${r.messages} messages in ${r.folders} folders\n`);
        if (r.lostKeywords.length)
          process.stderr.write(
            `postkontor: keywords beyond Maildir's 26 letters not kept: ${r.lostKeywords.join(" ")}\n`,
          );
      },
    );
}
