/**
 * The postkontor commands (commander). Admin commands open the store directly (SQLite WAL allows
 * that while the server runs); their change beacons reach a running server through the feed hub,
 * so sessions see the effect at once.
 *
 * Every command finds its configuration the same way (src/config/index.ts: --config, then
 * $POSTKONTOR_CONFIG, then ./postkontor.toml, then /etc/postkontor/postkontor.toml). Only `serve`
 * creates the store; the other commands refuse to run on a data directory without one.
 *
 * Exit codes: program.ts (EXIT).
 */
import { existsSync } from "node:fs";
import { type Command, CommanderError } from "commander";
import { hashPassword, hashScheme } from "../auth/index.ts";
import { ConfigError, configHint, loadConfig, parseSize, type ResolvedConfig } from "../config/index.ts";
import { renderDefaultsToml } from "../config/render.ts";
import { openConfiguredStore } from "../server/store.ts";
import { DeliveryError, deliverAll } from "../smtp/deliver.ts";
import { ensureDkimKeys } from "../smtp/dkim/index.ts";
import { autoRepliesSettled } from "../smtp/vacation.ts";
import { returnPath } from "../smtp/vacation-rules.ts";
import { storeDatabasePath } from "../store/index.ts";
import { type Account, type AccountSettings, type Store, StoreError } from "../store/types.ts";
import { addBackupCommands } from "./backup.ts";
import { addImportCommands } from "./import.ts";
import { confirm, formatBytes, normalizeDelivery, readNewPassword, readStdin, UsageError } from "./io.ts";
import { addMigrateCommand } from "./migrate.ts";
import { addDnsCommand, addQueueCommands, type CliHelpers } from "./outbound.ts";
import { hostedDomainProblem, passwordProblem } from "./policy.ts";
import {
  type ConfigOpts,
  type ConfigOverride,
  configExit,
  configOption,
  EXIT,
  ExitError,
  intArg,
  newProgram,
  runProgram,
} from "./program.ts";
import { addServeCommand } from "./serve.ts";
import { addShareCommand } from "./share.ts";
import { addUserImportCommand } from "./user-import.ts";
import { addVacationCommand } from "./vacation.ts";

export { EXIT } from "./program.ts";

/** the configuration of an admin command (in-process; `serve` loads it on a thread, program.ts) */
export function load(opts: ConfigOpts, overrides: ConfigOverride[] = []): ResolvedConfig {
  try {
    return loadConfig(opts.config, { overrides });
  } catch (e) {
    throw configExit(e);
  }
}

/**
 * The store must exist: only `serve` creates one. An admin command run from another directory, or
 * without the server's --config, would otherwise create an empty store and report "no such account".
 */
function requireStore(config: ResolvedConfig): void {
  // PostgreSQL: openConfiguredStore refuses a database without the schema (store/postgres.ts)
  if (config.store.backend === "postgres") return;
  const file = storeDatabasePath(config.data_dir);
  if (existsSync(file)) return;
  throw new ExitError(
    EXIT.CONFIG,
    `no store at ${file} (data_dir: ${config.dataDirOrigin ?? config.source ?? "built-in default"}).\n` +
      "Only `postkontor serve` creates the store. Start it once with this configuration, or point " +
      `this command at the server's configuration: ${configHint()}.`,
  );
}

/**
 * Opens the store as a feed client (so a running server hears about changes), runs fn, closes.
 * `bulk` (import, restore) starts the blob writer threads, as `serve` does, so that thousands of
 * new messages are not written and fsynced one at a time on this thread.
 */
async function withStore<T>(
  config: ResolvedConfig,
  fn: (store: Store) => Promise<T>,
  bulk = false,
): Promise<T> {
  requireStore(config);
  const store = await openConfiguredStore(config, true, bulk ? "bulk" : true);
  try {
    // openStore resolves after the first hub connection attempt, so beacons reach a running server
    return await fn(store);
  } finally {
    await store.close();
  }
}

function storeExit(e: unknown): never {
  if (e instanceof StoreError) {
    switch (e.code) {
      case "NONEXISTENT":
      case "NOTFOUND":
        throw new ExitError(EXIT.NOUSER, e.message);
      case "OVERQUOTA":
        throw new ExitError(EXIT.TEMPFAIL, `over quota: ${e.message}`);
      case "TOOBIG":
        throw new ExitError(EXIT.DATAERR, `message too big: ${e.message}`);
      case "INVALID":
      case "ALREADYEXISTS":
        throw new ExitError(EXIT.USAGE, e.message);
      default:
        throw new ExitError(EXIT.ERROR, e.message);
    }
  }
  throw e;
}

function sizeArg(v: string): number {
  try {
    return parseSize(v);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function buildProgram(): Command {
  const program = newProgram();
  addServeCommand(program); // src/cli/serve.ts

  // --- domain --------------------------------------------------------------------------------
  const domain = program.command("domain").description("manage hosted domains");
  configOption(domain.command("add <name>"))
    .description("add a hosted domain and create its DKIM keys (ed25519 and rsa-2048, see `dns`)")
    .action(async (name: string, o: ConfigOpts) => {
      const config = load(o);
      const problem = hostedDomainProblem(name);
      if (problem) throw new UsageError(problem);
      await withStore(config, async (s) => {
        const d = await s.addDomain(name);
        await ensureDkimKeys(s.keys, d.name);
      }).catch(storeExit);
    });
  configOption(domain.command("dkim <name>"))
    .description("create the domain's DKIM keys if it has none (domains added before DKIM signing)")
    .action(async (name: string, o: ConfigOpts) => {
      const config = load(o);
      const keys = await withStore(config, async (s) => {
        const d = await s.getDomain(name);
        if (!d) throw new ExitError(EXIT.NOUSER, `not a hosted domain: ${name}`);
        return ensureDkimKeys(s.keys, d.name);
      }).catch(storeExit);
      for (const k of keys) process.stdout.write(`${k.selector}\t${k.algorithm}\n`);
    });
  configOption(domain.command("list"))
    .description("list hosted domains")
    .action(async (o: ConfigOpts) => {
      const domains = await withStore(load(o), (s) => s.listDomains());
      for (const d of domains) process.stdout.write(`${d.name}\n`);
    });
  configOption(domain.command("del <name>"))
    .description("delete a domain (refused while it has accounts, unless --force)")
    .option("--force", "also delete its accounts and their mail (asks first when stdin is a terminal)")
    .option("-y, --yes", "with --force: do not ask")
    .action(async (name: string, o: ConfigOpts & { force?: boolean; yes?: boolean }) => {
      await withStore(load(o), async (s) => {
        // on a terminal --force asks first; scripts (no TTY) and --yes do not
        if (o.force && !o.yes && process.stdin.isTTY) {
          const accounts = (await s.getDomain(name)) ? await s.listAccounts(name) : [];
          if (accounts.length > 0) {
            const ok = await confirm(
              `Delete ${name} with its ${accounts.length} account${accounts.length === 1 ? "" : "s"} and all their mail? [y/N] `,
            );
            if (!ok) throw new ExitError(EXIT.ERROR, `not deleted: ${name}`);
          }
        }
        await s.deleteDomain(name, { force: o.force === true });
      }).catch(storeExit);
    });

  // --- user ----------------------------------------------------------------------------------
  const user = program.command("user").description("manage accounts (the username is the full address)");
  configOption(user.command("add <address>"))
    .description("add an account; the password is prompted (TTY) or read from the first line of stdin")
    .option("--quota <size>", "storage quota, e.g. 500M, 2G (0 = unlimited)")
    .option("--quota-messages <n>", "message-count quota (0 = unlimited)")
    .option("--password-hash <hash>", PASSWORD_HASH_HELP)
    .action(
      async (
        address: string,
        o: ConfigOpts & { quota?: string; quotaMessages?: string; passwordHash?: string },
      ) => {
        const config = load(o);
        const patch = quotaPatch(o);
        requireStore(config);
        const hash = await newPasswordHash(config, address, o.passwordHash);
        await withStore(config, async (s) => {
          await s.createAccount(address, hash);
          if (Object.keys(patch).length) await s.updateAccount(address, patch);
        }).catch(storeExit);
      },
    );
  configOption(user.command("list [domain]"))
    .description("list accounts (of one domain)")
    .option("-l, --long", "show quota, usage and protocol settings")
    .action(async (dom: string | undefined, o: ConfigOpts & { long?: boolean }) => {
      const accounts = await withStore(load(o), (s) => s.listAccounts(dom)).catch(storeExit);
      for (const a of accounts) {
        if (!o.long) {
          process.stdout.write(`${a.address}\n`);
          continue;
        }
        const q = a.quotaBytes ? formatBytes(a.quotaBytes) : "unlimited";
        const qm = a.quotaMessages ? String(a.quotaMessages) : "unlimited";
        process.stdout.write(
          `${a.address}\t${formatBytes(a.usedBytes)} of ${q}\t${a.usedMessages} of ${qm} messages\t${settingsLine(a)}\n`,
        );
      }
    });
  configOption(user.command("show <address>"))
    .description("show one account: quota, usage and protocol settings")
    .action(async (address: string, o: ConfigOpts) => {
      const a = await withStore(load(o), (s) => s.getAccount(address)).catch(storeExit);
      if (!a) throw new ExitError(EXIT.NOUSER, `no such account: ${address}`);
      process.stdout.write(formatAccount(a));
    });
  configOption(user.command("passwd <address>"))
    .description("change a password (prompted on a TTY, else the first line of stdin)")
    .option("--password-hash <hash>", PASSWORD_HASH_HELP)
    .action(async (address: string, o: ConfigOpts & { passwordHash?: string }) => {
      const config = load(o);
      await withStore(config, async (s) => {
        if (!(await s.getAccount(address))) throw new ExitError(EXIT.NOUSER, `no such account: ${address}`);
        const hash = await newPasswordHash(config, address, o.passwordHash);
        await s.setPassword(address, hash);
      }).catch(storeExit);
    });
  configOption(user.command("del <address>"))
    .description("delete an account and all its mail")
    .action(async (address: string, o: ConfigOpts) => {
      await withStore(load(o), (s) => s.deleteAccount(address)).catch(storeExit);
    });
  const app = user
    .command("app-password")
    .description("named, revocable passwords for mail clients (IMAP, POP3, SMTP), each showing its last use");
  configOption(app.command("add <address> <name>"))
    .description("add an app password and print it (shown only this once)")
    .action(async (address: string, name: string, o: ConfigOpts) => {
      const r = await withStore(load(o), (s) => s.addAppPassword(address, name)).catch(storeExit);
      process.stdout.write(`${r.secret}\n`);
    });
  configOption(app.command("list <address>"))
    .description("list an account's app passwords: name, created, last use")
    .action(async (address: string, o: ConfigOpts) => {
      const rows = await withStore(load(o), (s) => s.listAppPasswords(address)).catch(storeExit);
      for (const a of rows) {
        const used = a.lastUsedAt
          ? `last used ${a.lastUsedAt.toISOString()} (${a.lastUsedBy ?? "?"})`
          : "never used";
        process.stdout.write(`${a.name}\tcreated ${a.createdAt.toISOString()}\t${used}\n`);
      }
    });
  configOption(app.command("del <address> <name>"))
    .description("revoke an app password (at once, on every protocol)")
    .action(async (address: string, name: string, o: ConfigOpts) => {
      await withStore(load(o), (s) => s.deleteAppPassword(address, name)).catch(storeExit);
    });
  configOption(user.command("set <address>"))
    .description(
      "change account settings; effective at once (the servers read them at each login, POP3 re-reads " +
        "--pop3-delete at QUIT)",
    )
    .option("--quota <size>", "storage quota, e.g. 500M, 2G (0 = unlimited)")
    .option("--quota-messages <n>", "message-count quota (0 = unlimited)")
    .option("--imap <on|off>", "allow IMAP logins")
    .option("--save-sent <on|off>", "SMTP submission saves a copy of each sent message in Sent")
    .option(
      "--pop3 <on|off>",
      "allow POP3 logins; 'on' restarts the since-enabled window now when POP3 was off or the scope is since-enabled",
    )
    .option(
      "--pop3-delete <mode>",
      "what POP3 DELE does at QUIT: delete (expunge), trash (move to Trash), keep-read (keep, mark \\Seen)",
    )
    .option(
      "--pop3-scope <scope>",
      "what POP3 sees: all (all INBOX mail) or since-enabled (only mail arriving after POP3 was switched " +
        "on; choosing it from 'all' starts the window now)",
    )
    .action(async (address: string, o: ConfigOpts & UserSetOpts) => {
      const patch = quotaPatch(o);
      const settings = settingsPatch(o);
      if (Object.keys(patch).length === 0 && Object.keys(settings).length === 0)
        throw new UsageError(
          "nothing to set (try --quota, --quota-messages, --imap, --save-sent, --pop3, --pop3-delete or --pop3-scope)",
        );
      await withStore(load(o), async (s) => {
        if (Object.keys(settings).length) {
          const cur = await s.getAccount(address);
          if (!cur) throw new ExitError(EXIT.NOUSER, `no such account: ${address}`);
          // "only mail arriving from now on" (Gmail's second POP choice): --pop3 on stamps the start
          // of the window when POP3 was off or the scope is since-enabled; switching the scope from
          // all to since-enabled starts the window now.
          const scope = settings.pop3Scope ?? cur.settings.pop3Scope;
          if (
            (settings.pop3Enabled === true && (!cur.settings.pop3Enabled || scope === "since-enabled")) ||
            (settings.pop3Scope === "since-enabled" && cur.settings.pop3Scope !== "since-enabled")
          )
            settings.pop3EnabledAt = new Date();
        }
        await s.updateAccount(address, {
          ...patch,
          ...(Object.keys(settings).length ? { settings } : {}),
        });
      }).catch(storeExit);
    });

  // --- deliver -------------------------------------------------------------------------------
  configOption(program.command("deliver <address>"))
    .description("deliver one RFC 5322 message from stdin to a local account (for an MTA's local transport)")
    .option("-m, --mailbox <name>", "target mailbox; falls back to INBOX when it does not exist", "INBOX")
    .option("--flags <flags...>", "flags to set, e.g. '\\Seen' '$Label1' (comma or space separated)")
    .option(
      "-f, --sender <address>",
      "the envelope sender (for vacation replies; default: the message's Return-Path; '' = <>)",
    )
    .action(async (address: string, o: DeliverOpts) => {
      try {
        await deliverCommand(address, o);
      } catch (e) {
        throw deliverExit(e);
      }
    });

  // --- alias ---------------------------------------------------------------------------------
  const alias = program
    .command("alias")
    .description("manage aliases (SMTP recipients that deliver to accounts)");
  configOption(alias.command("add <source> <target>"))
    .description("deliver mail for SOURCE (local@domain, or @domain as catch-all) to the account TARGET")
    .action(async (source: string, target: string, o: ConfigOpts) => {
      await withStore(load(o), (s) => s.addAlias(source, target)).catch(storeExit);
    });
  configOption(alias.command("list [domain]"))
    .description("list aliases (of one domain): source, tab, target")
    .action(async (dom: string | undefined, o: ConfigOpts) => {
      const rows = await withStore(load(o), (s) => s.listAliases(dom)).catch(storeExit);
      for (const a of rows) process.stdout.write(`${a.source}\t${a.target}\n`);
    });
  configOption(alias.command("del <source> [target]"))
    .description("delete SOURCE → TARGET, or every target of SOURCE")
    .action(async (source: string, target: string | undefined, o: ConfigOpts) => {
      await withStore(load(o), (s) => s.deleteAlias(source, target)).catch(storeExit);
    });

  // --- queue, dns (src/cli/outbound.ts) --------------------------------------------------------
  const helpers: CliHelpers = {
    configOption,
    load,
    withStore,
    storeExit,
    notFound: (m) => {
      throw new ExitError(EXIT.NOUSER, m);
    },
    usage: (m) => {
      throw new UsageError(m);
    },
  };
  addUserImportCommand(user, helpers);
  addQueueCommands(program, helpers);
  addDnsCommand(program, helpers);
  addShareCommand(program, helpers); // src/cli/share.ts
  addVacationCommand(program, helpers); // src/cli/vacation.ts
  addImportCommands(program, helpers);
  addBackupCommands(program, helpers); // src/cli/backup.ts
  addMigrateCommand(program, helpers); // src/cli/migrate.ts

  // --- config --------------------------------------------------------------------------------
  const cfg = program.command("config").description("configuration tools");
  configOption(cfg.command("check"))
    .description("validate the configuration (file, environment) and print OK or the errors")
    .action((o: ConfigOpts) => {
      try {
        const c = loadConfig(o.config);
        const store =
          c.store.backend === "postgres"
            ? "store in PostgreSQL: `postkontor serve` creates its schema"
            : existsSync(storeDatabasePath(c.data_dir))
              ? "store found"
              : "no store yet: `postkontor serve` creates it";
        process.stdout.write(
          `OK (${c.source ?? "built-in defaults"})\ndata_dir: ${c.data_dir} (${c.dataDirOrigin}; ${store})\n`,
        );
      } catch (e) {
        if (e instanceof ConfigError) throw new ExitError(EXIT.ERROR, e.message);
        throw e;
      }
    });
  cfg
    .command("defaults")
    .description("print the full default configuration as commented TOML")
    .action(() => {
      process.stdout.write(renderDefaultsToml());
    });

  return program;
}

const PASSWORD_HASH_HELP =
  "store this password hash instead of asking for a password (imports: {ARGON2ID}/$argon2…, " +
  "{SHA512-CRYPT}/$6$…, {SHA256-CRYPT}/$5$…); not checked against [auth] min_password_length";

/** The hash to store: --password-hash as given (validated), else a new password (checked) hashed. */
async function newPasswordHash(
  config: ResolvedConfig,
  address: string,
  given: string | undefined,
): Promise<string> {
  if (given !== undefined) {
    const { scheme, value } = hashScheme(given.trim());
    const argon = ["ARGON2ID", "ARGON2I", "ARGON2"].includes(scheme) && value.startsWith("$argon2");
    const crypt = ["SHA512-CRYPT", "SHA256-CRYPT", "CRYPT"].includes(scheme) && /^\$[56]\$/.test(value);
    if (!argon && !crypt)
      throw new UsageError(
        "--password-hash: not a supported hash (argon2 PHC string or SHA-crypt $5$/$6$, optionally with a {SCHEME} prefix)",
      );
    return given.trim();
  }
  const password = await readNewPassword({ confirm: true });
  const problem = passwordProblem(password, address, { minLength: config.auth.min_password_length });
  if (problem) throw new UsageError(problem);
  return hashPassword(password);
}

/**
 * deliver's exit status for an MTA (sysexits.h): a problem with the message (65) or the recipient
 * (67) is permanent; everything else — no store, invalid configuration, store busy, a bug — is
 * EX_TEMPFAIL, so the MTA queues the mail and retries instead of bouncing it.
 */
function deliverExit(e: unknown): unknown {
  const passThrough = new Set<number>([EXIT.DATAERR, EXIT.NOUSER, EXIT.TEMPFAIL]);
  if (e instanceof ExitError) return passThrough.has(e.code) ? e : new ExitError(EXIT.TEMPFAIL, e.message);
  if (e instanceof StoreError) {
    try {
      storeExit(e);
    } catch (mapped) {
      return deliverExit(mapped);
    }
  }
  if (e instanceof CommanderError || e instanceof UsageError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ExitError(EXIT.TEMPFAIL, `temporary failure: ${msg}`);
}

/** `deliver`: reads the message from stdin and stores it (errors mapped by deliverExit). */
type DeliverOpts = ConfigOpts & { mailbox: string; flags?: string[]; sender?: string };

async function deliverCommand(address: string, o: DeliverOpts) {
  const config = load(o);
  const raw = await readStdin(config.store.max_message_size + 64 * 1024);
  if (raw === null) {
    throw new ExitError(EXIT.DATAERR, `message too big (limit ${config.store.max_message_size} bytes)`);
  }
  const message = normalizeDelivery(raw);
  if (message.length === 0) throw new ExitError(EXIT.DATAERR, "empty message on stdin");
  const flags = (o.flags ?? []).flatMap((f) => f.split(/[\s,]+/)).filter(Boolean);
  await withStore(config, async (s) => {
    // the same local-delivery code as SMTP (src/smtp/deliver.ts); aliases resolve like RCPT TO
    const accounts = await s.resolveRecipient(address);
    if (accounts.length === 0) throw new ExitError(EXIT.NOUSER, `no such account: ${address}`);
    try {
      // RFC 3834 §3.3: the vacation responder answers the envelope sender, when it is known
      const mailFrom = o.sender ?? returnPath(message);
      await deliverAll(
        s,
        message,
        accounts.map((account) => ({ account, mailbox: o.mailbox, flags })),
        mailFrom === null
          ? undefined
          : {
              mailFrom,
              intervalMs: config.smtp.vacation_reply_interval,
              log: (fields, msg) => {
                if ("err" in fields) process.stderr.write(`postkontor: ${msg} ${JSON.stringify(fields)}\n`);
              },
            },
      );
      // the message is stored; the auto-replies finish before the store closes
      await autoRepliesSettled();
    } catch (e) {
      if (e instanceof DeliveryError) {
        if (e.code === "NOUSER") throw new ExitError(EXIT.NOUSER, e.message);
        if (e.code === "TOOBIG") throw new ExitError(EXIT.DATAERR, `message too big: ${e.message}`);
        throw new ExitError(EXIT.TEMPFAIL, `over quota: ${e.message}`);
      }
      throw e;
    }
  }).catch(storeExit);
}

interface UserSetOpts {
  saveSent?: string;
  quota?: string;
  quotaMessages?: string;
  imap?: string;
  pop3?: string;
  pop3Delete?: string;
  pop3Scope?: string;
}

function onOff(flag: string, v: string): boolean {
  const x = v.toLowerCase();
  if (x === "on" || x === "yes" || x === "true") return true;
  if (x === "off" || x === "no" || x === "false") return false;
  throw new UsageError(`${flag} expects on or off, got "${v}"`);
}

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  const x = v.toLowerCase();
  const hit = allowed.find((a) => a === x);
  if (hit === undefined) throw new UsageError(`${flag} expects one of ${allowed.join(", ")}, got "${v}"`);
  return hit;
}

/** --imap/--pop3/--pop3-delete/--pop3-scope → a settings patch (validated). */
export function settingsPatch(o: UserSetOpts): Partial<AccountSettings> {
  const s: Partial<AccountSettings> = {};
  if (o.imap !== undefined) s.imapEnabled = onOff("--imap", o.imap);
  if (o.saveSent !== undefined) s.saveSentCopy = onOff("--save-sent", o.saveSent);
  if (o.pop3 !== undefined) s.pop3Enabled = onOff("--pop3", o.pop3);
  if (o.pop3Delete !== undefined)
    s.pop3Delete = oneOf("--pop3-delete", o.pop3Delete, ["delete", "trash", "keep-read"] as const);
  if (o.pop3Scope !== undefined)
    s.pop3Scope = oneOf("--pop3-scope", o.pop3Scope, ["all", "since-enabled"] as const);
  return s;
}

function settingsLine(a: Account): string {
  const st = a.settings;
  return (
    `imap=${st.imapEnabled ? "on" : "off"} pop3=${st.pop3Enabled ? "on" : "off"} ` +
    `pop3-delete=${st.pop3Delete} pop3-scope=${st.pop3Scope}`
  );
}

function formatAccount(a: Account): string {
  const st = a.settings;
  const q = a.quotaBytes ? formatBytes(a.quotaBytes) : "unlimited";
  const qm = a.quotaMessages ? String(a.quotaMessages) : "unlimited";
  const rows: Array<[string, string]> = [
    ["address", a.address],
    ["created", a.createdAt.toISOString()],
    ["quota", `${formatBytes(a.usedBytes)} of ${q}`],
    ["messages", `${a.usedMessages} of ${qm}`],
    ["imap", st.imapEnabled ? "on" : "off"],
    ["pop3", st.pop3Enabled ? "on" : "off"],
    ["pop3-delete", st.pop3Delete],
    ["pop3-scope", st.pop3Scope],
    ["pop3-enabled-at", st.pop3EnabledAt ? st.pop3EnabledAt.toISOString() : "-"],
    ["save-sent", st.saveSentCopy ? "on" : "off"],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(17)}${v}\n`).join("");
}

function quotaPatch(o: { quota?: string; quotaMessages?: string }): {
  quotaBytes?: number;
  quotaMessages?: number;
} {
  const patch: { quotaBytes?: number; quotaMessages?: number } = {};
  if (o.quota !== undefined) patch.quotaBytes = sizeArg(o.quota);
  if (o.quotaMessages !== undefined) patch.quotaMessages = intArg(o.quotaMessages);
  return patch;
}

export async function main(argv: string[]): Promise<void> {
  await runProgram(buildProgram(), argv);
}
