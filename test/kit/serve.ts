/**
 * A real `postkontor serve` process: temp config and data dir, its JSON log lines, the ports it
 * reports (`<protocol> listening on host:port`), and the config the benchmarks and end-to-end
 * tests start it with.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openSqlite } from "../../src/store/db/sqlite/sqlite.ts";
import { storeDatabasePath } from "../../src/store/index.ts";
import { closedNetworkEnv, MAIN } from "./process.ts";
import { tempDirUntilExit } from "./temp.ts";

export interface Env {
  dir: string;
  dataDir: string;
  config: string;
}

/**
 * Creates the store of dataDir as `serve` does on first start (the admin commands refuse to run
 * without one): the data directory and the migrated database.
 */
export function initStore(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  openSqlite(storeDatabasePath(dataDir)).raw.close();
}

/** Sets [auth] min_password_length in a config text (inside its [auth] table if it has one). */
export function withPasswordPolicy(toml: string, minLength: number): string {
  const line = `min_password_length = ${minLength}\n`;
  return /^\[auth\]\s*$/m.test(toml)
    ? toml.replace(/^\[auth\][ \t]*\r?\n/m, (h) => h + line)
    : `${toml}${toml.endsWith("\n") || toml === "" ? "" : "\n"}[auth]\n${line}`;
}

/**
 * A temp dir with a config whose data_dir points into it; extra TOML appended. The store is created
 * unless init is false (as if `serve` had run once). The tests' accounts use short passwords, so
 * the password policy is off ([auth] min_password_length = 0) unless passwordPolicy is true.
 */
export function tempEnv(extraToml = "", opts: { init?: boolean; passwordPolicy?: boolean } = {}): Env {
  const dir = tempDirUntilExit("pk-cli-");
  const dataDir = join(dir, "data");
  const config = join(dir, "postkontor.toml");
  const toml = `data_dir = ${JSON.stringify(dataDir)}\nhostname = "mail.test"\n${extraToml}`;
  writeFileSync(config, opts.passwordPolicy ? toml : withPasswordPolicy(toml, 0));
  if (opts.init !== false) initStore(dataDir);
  return { dir, dataDir, config };
}

export interface ServeConfigOpts {
  workers?: number;
  /** extra TOML appended to the generated config */
  extraToml?: string;
  /** start the POP3 listeners (default true); false writes [pop3] enabled = false */
  pop3?: boolean;
  /** extra TOML lines for the [server] section */
  serverToml?: string;
  /** extra TOML lines for the [smtp] section */
  smtpToml?: string;
  /** start the HTTP listeners (default true) */
  http?: boolean;
  /** extra TOML lines for the [http] section */
  httpToml?: string;
  /** fixed listener ports (benchmarks: as a deployment listens); absent = 0, the tests' rule */
  ports?: Partial<Record<ListenerName, number>>;
}

export type ListenerName =
  | "imap"
  | "imaps"
  | "pop3"
  | "pop3s"
  | "smtp"
  | "submission"
  | "submissions"
  | "http"
  | "https";

/**
 * Writes <dir>/postkontor.toml for a server on <dir>/data with every listener on loopback
 * ephemeral ports (never a fixed or public port in tests) and returns its path.
 */
export function writeServeConfig(dir: string, opts: ServeConfigOpts): string {
  const configPath = join(dir, "postkontor.toml");
  const closed = closedNetworkToml(opts);
  const p = (name: ListenerName): number => opts.ports?.[name] ?? 0;
  const toml = `data_dir = ${JSON.stringify(join(dir, "data"))}
hostname = "localhost"

[server]
workers = ${opts.workers ?? 1}
${opts.serverToml ?? ""}

[log]
level = "info"

[imap]
listen = ["127.0.0.1:${p("imap")}"]
listen_tls = ["127.0.0.1:${p("imaps")}"]

# the other protocols on loopback ephemeral ports too: never a fixed or public port in tests
[pop3]
enabled = ${opts.pop3 ?? true}
listen = ["127.0.0.1:${p("pop3")}"]
listen_tls = ["127.0.0.1:${p("pop3s")}"]

[smtp]
listen = ["127.0.0.1:${p("smtp")}"]
submission = ["127.0.0.1:${p("submission")}"]
submissions = ["127.0.0.1:${p("submissions")}"]
${opts.smtpToml ?? ""}
${closed.smtp}

[http]
enabled = ${opts.http ?? true}
listen = ["127.0.0.1:${p("http")}"]
listen_tls = ["127.0.0.1:${p("https")}"]
${opts.httpToml ?? ""}

${opts.extraToml ?? ""}
${closed.outbound}
${/^\s*\[auth\]/m.test(opts.extraToml ?? "") ? "" : "# test and benchmark accounts use short passwords\n[auth]\nmin_password_length = 0\n"}`;
  writeFileSync(configPath, toml);
  return configPath;
}

/**
 * Loopback only: unless the caller configures them, the generated config turns off what would
 * use the system DNS resolver (outbound queue runner, reverse lookups, SPF/DKIM/DMARC of inbound).
 */
function closedNetworkToml(opts: ServeConfigOpts): { smtp: string; outbound: string } {
  const smtpGiven = `${opts.smtpToml ?? ""}`;
  const smtp = [
    /\bsender_authentication\b/.test(smtpGiven) ? "" : "sender_authentication = false",
    /\breverse_lookup\b/.test(smtpGiven) ? "" : "reverse_lookup = false",
  ]
    .filter(Boolean)
    .join("\n");
  const outbound = /^\s*\[outbound\]/m.test(opts.extraToml ?? "") ? "" : "[outbound]\nenabled = false\n";
  return { smtp, outbound };
}

/**
 * Starts `serve` and collects its JSON log lines. POP3, SMTP and HTTP listen on ephemeral loopback ports
 * unless env or args say otherwise (so tests never bind the zero-config 0.0.0.0 ports).
 */
export function startServe(
  args: string[],
  env: Record<string, string> = {},
  opts: { cwd?: string } = {},
): Server {
  const defaults = {
    POSTKONTOR__POP3__LISTEN: "127.0.0.1:0",
    POSTKONTOR__POP3__LISTEN_TLS: "127.0.0.1:0",
    POSTKONTOR__SMTP__LISTEN: "127.0.0.1:0",
    POSTKONTOR__SMTP__SUBMISSION: "127.0.0.1:0",
    POSTKONTOR__SMTP__SUBMISSIONS: "127.0.0.1:0",
    POSTKONTOR__HTTP__LISTEN: "127.0.0.1:0",
    POSTKONTOR__HTTP__LISTEN_TLS: "127.0.0.1:0",
  };
  const child = spawn(process.execPath, [MAIN, "serve", ...args], {
    env: closedNetworkEnv({ ...defaults, ...env }),
    stdio: "pipe",
    cwd: opts.cwd,
  });
  return watchServer(child);
}

export interface Server {
  child: ChildProcess;
  /** every parsed JSON log line so far */
  logs: Array<Record<string, unknown>>;
  /** resolves with the first log line matching */
  waitForLog(
    pred: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM and wait for the exit code */
  stop(timeoutMs?: number): Promise<number | null>;
  stderr(): string;
}

/**
 * Collects the JSON log lines of a running server process (spawned with stdio "pipe"); other lines
 * are skipped. `maxLogs` bounds the lines kept (long benchmark runs); `onLine` sees every stdout line.
 */
export function watchServer(
  child: ChildProcess,
  opts: { maxLogs?: number; onLine?: (line: string) => void } = {},
): Server {
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let buf = "";
  let errText = "";
  child.stderr!.on("data", (d) => {
    errText += d.toString();
    if (errText.length > 100_000) errText = errText.slice(-50_000);
  });
  child.stdout!.on("data", (d) => {
    buf += d.toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      opts.onLine?.(line);
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line);
      } catch {
        continue;
      }
      if (!obj || typeof obj !== "object") continue;
      logs.push(obj);
      if (opts.maxLogs && logs.length > opts.maxLogs) logs.splice(0, logs.length - opts.maxLogs);
      for (const w of [...waiters]) {
        if (w.pred(obj)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(obj);
        }
      }
    }
  });
  let exitSignal: string | null = null;
  let exitCode: number | null = null;
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => {
      exitSignal = signal;
      exitCode = code;
      resolve(code);
    }),
  );
  return {
    child,
    logs,
    // a server that dies by a signal or exits non-zero says how, with its last log lines (warnings
    // and errors go to stdout as JSON, so stderr alone is often empty)
    stderr: () => {
      const how = exitSignal ? `killed by ${exitSignal}` : exitCode ? `exit code ${exitCode}` : "";
      return `${errText}${how ? `\n[server ${how}; last log lines: ${JSON.stringify(logs.slice(-8))}]` : ""}`;
    },
    waitForLog(pred, timeoutMs = 20_000) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(`timed out waiting for a log line; logs: ${JSON.stringify(logs)} stderr: ${errText}`),
            ),
          timeoutMs,
        );
        const w = {
          pred,
          resolve: (l: Record<string, unknown>) => {
            clearTimeout(t);
            resolve(l);
          },
        };
        waiters.push(w);
        exited.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            reject(new Error(`server exited; logs: ${JSON.stringify(logs)} stderr: ${errText}`));
          }
        });
      });
    },
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Port of the "<protocol> listening on host:port" log line. */
export async function listeningPort(server: Server, protocol: string): Promise<number> {
  const l = await server.waitForLog(
    (l) => typeof l.msg === "string" && l.msg.startsWith(`${protocol} listening on `),
  );
  const m = /:(\d+)$/.exec(String(l.msg));
  if (!m) throw new Error(`no port in ${l.msg}`);
  return Number(m[1]);
}
