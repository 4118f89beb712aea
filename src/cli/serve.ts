/**
 * `postkontor serve`: its command-line definition. main.ts parses a `serve` command line with
 * this and program.ts only (not the admin commands of commands.ts), and loads src/server only
 * when the command runs, so neither the primary nor the workers (cluster re-runs the same
 * command line) load admin, import, backup or migration code (docs/architecture.md "Process
 * layout").
 */
import { type Command, Option } from "commander";
import {
  type ConfigOpts,
  type ConfigOverride,
  configOption,
  intArg,
  loadOffThread,
  newProgram,
  runProgram,
} from "./program.ts";

type ServeOpts = ConfigOpts & {
  listenImap?: string[];
  listenImaps?: string[];
  listenPop3?: string[];
  listenPop3s?: string[];
  listenSmtp?: string[];
  listenSubmission?: string[];
  listenSubmissions?: string[];
  workers?: number;
  dataDir?: string;
  logLevel?: string;
};

export function addServeCommand(program: Command): void {
  configOption(program.command("serve"))
    .description("run the server in the foreground")
    .option("--listen-imap <addr...>", "override imap.listen (host:port; port 0 = ephemeral)")
    .option("--listen-imaps <addr...>", "override imap.listen_tls")
    .option("--listen-pop3 <addr...>", "override pop3.listen (host:port; port 0 = ephemeral)")
    .option("--listen-pop3s <addr...>", "override pop3.listen_tls")
    .option("--listen-smtp <addr...>", "override smtp.listen (MX; host:port; port 0 = ephemeral)")
    .option("--listen-submission <addr...>", "override smtp.submission (STARTTLS submission)")
    .option("--listen-submissions <addr...>", "override smtp.submissions (implicit-TLS submission)")
    .addOption(new Option("--workers <n>", "override server.workers").argParser(intArg))
    .option("--data-dir <dir>", "override data_dir")
    .option("--log-level <level>", "override log.level")
    .action(async (o: ServeOpts) => {
      const ov: ConfigOverride[] = [];
      if (o.listenImap) ov.push({ path: ["imap", "listen"], value: o.listenImap, origin: "--listen-imap" });
      if (o.listenImaps)
        ov.push({ path: ["imap", "listen_tls"], value: o.listenImaps, origin: "--listen-imaps" });
      if (o.listenPop3) ov.push({ path: ["pop3", "listen"], value: o.listenPop3, origin: "--listen-pop3" });
      if (o.listenPop3s)
        ov.push({ path: ["pop3", "listen_tls"], value: o.listenPop3s, origin: "--listen-pop3s" });
      if (o.listenSmtp) ov.push({ path: ["smtp", "listen"], value: o.listenSmtp, origin: "--listen-smtp" });
      if (o.listenSubmission)
        ov.push({ path: ["smtp", "submission"], value: o.listenSubmission, origin: "--listen-submission" });
      if (o.listenSubmissions)
        ov.push({
          path: ["smtp", "submissions"],
          value: o.listenSubmissions,
          origin: "--listen-submissions",
        });
      if (o.workers !== undefined)
        ov.push({ path: ["server", "workers"], value: o.workers, origin: "--workers" });
      if (o.dataDir) ov.push({ path: ["data_dir"], value: o.dataDir, origin: "--data-dir" });
      if (o.logLevel) ov.push({ path: ["log", "level"], value: o.logLevel, origin: "--log-level" });
      const config = await loadOffThread(o, ov);
      // loaded here only: admin commands do not need the protocol servers
      const { serve } = await import("../server/index.ts");
      process.exitCode = await serve(config);
    });
}

/** main.ts's path for a command line that starts with `serve`: the program with only this command. */
export async function serveMain(argv: string[]): Promise<void> {
  const program = newProgram();
  addServeCommand(program);
  await runProgram(program, argv);
}
