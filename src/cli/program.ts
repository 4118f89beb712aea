/**
 * What every postkontor command shares: exit codes, the --config option, loading the
 * configuration, and running a commander program with the exit-code mapping. Kept small and free
 * of store/protocol imports: `serve` (serve.ts) is parsed with this alone, so the server's
 * processes load only the code they run (docs/architecture.md "Process layout").
 *
 * Exit codes (sysexits.h where one fits):
 *   0  success
 *   1  error (including `config check` on an invalid configuration)
 *   64 EX_USAGE     bad command line, password mismatch or too weak, invalid argument
 *   65 EX_DATAERR   deliver: empty or oversized message
 *   67 EX_NOUSER    deliver / user commands: no such account or domain
 *   75 EX_TEMPFAIL  deliver: over quota, store busy, no store found, invalid configuration or any
 *                   other failure that is not about the message or the recipient: a pipe
 *                   transport must retry, never bounce, mail it could not hand over
 *   78 EX_CONFIG    the configuration is invalid, or no store at its data_dir (any command but
 *                   `config check` and `deliver`)
 */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/errors.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { UsageError } from "./io.ts";

export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 64,
  DATAERR: 65,
  NOUSER: 67,
  TEMPFAIL: 75,
  CONFIG: 78,
} as const;

export class ExitError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ConfigOpts {
  config?: string;
}

export type ConfigOverride = { path: string[]; value: unknown; origin: string };

export function configOption(cmd: Command): Command {
  return cmd.option("-c, --config <file>", "configuration file (TOML)");
}

/** the configuration error as the command's exit (EXIT.CONFIG); anything else as it is */
export function configExit(e: unknown): unknown {
  return e instanceof ConfigError ? new ExitError(EXIT.CONFIG, e.message) : e;
}

/**
 * The configuration for `serve`, loaded on a thread (config/load-thread.ts) so that the server's
 * long-running processes do not keep the schema library. Admin commands load it in-process
 * (commands.ts `load`).
 */
export async function loadOffThread(
  opts: ConfigOpts,
  overrides: ConfigOverride[] = [],
): Promise<ResolvedConfig> {
  const { loadConfigOffThread } = await import("../config/load-thread.ts");
  try {
    return await loadConfigOffThread(opts.config, overrides);
  } catch (e) {
    throw configExit(e);
  }
}

/** Parses argv with program, maps what it throws to an exit code and exits the process. */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  let code: number = EXIT.OK;
  try {
    await program.parseAsync(argv);
    code = typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help / version print and exit 0; parse errors were already printed by commander
      code = e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    } else if (e instanceof ExitError) {
      process.stderr.write(`postkontor: ${e.message}\n`);
      code = e.code;
    } else if (e instanceof UsageError) {
      process.stderr.write(`postkontor: ${e.message}\n`);
      code = EXIT.USAGE;
    } else if (e instanceof ConfigError) {
      process.stderr.write(`postkontor: ${e.message}\n`);
      code = EXIT.CONFIG;
    } else {
      process.stderr.write(`postkontor: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      code = EXIT.ERROR;
    }
  }
  process.exit(code);
}

export function intArg(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`expected a non-negative integer, got "${v}"`);
  return Number(v);
}

/** The top-level program every command is added to. */
export function newProgram(): Command {
  return new Command("postkontor")
    .description("postkontor mail server: IMAP, POP3 and SMTP on an embedded store")
    .showHelpAfterError()
    .exitOverride();
}
