/** Helpers for CLI tests: spawn the real CLI with a temp config, read JSON logs, raw IMAP sockets. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqlite } from "../../src/store/db/sqlite/sqlite.ts";
import { storeDatabasePath } from "../../src/store/index.ts";

export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

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
  const dir = mkdtempSync(join(tmpdir(), "pk-cli-"));
  const dataDir = join(dir, "data");
  const config = join(dir, "postkontor.toml");
  const toml = `data_dir = ${JSON.stringify(dataDir)}\nhostname = "mail.test"\n${extraToml}`;
  writeFileSync(config, opts.passwordPolicy ? toml : withPasswordPolicy(toml, 0));
  if (opts.init !== false) initStore(dataDir);
  return { dir, dataDir, config };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Tests send traffic to loopback only: no DNS through the system resolver (reverse lookups and
 * SPF/DKIM/DMARC of inbound mail) and no outbound queue runner (MX lookups). A test that needs one
 * of these passes its own value in `extra` (a fixture resolver, a loopback MX).
 */
export const CLOSED_NETWORK_ENV: Record<string, string> = {
  POSTKONTOR__OUTBOUND__ENABLED: "false",
  POSTKONTOR__SMTP__SENDER_AUTHENTICATION: "false",
  POSTKONTOR__SMTP__REVERSE_LOOKUP: "false",
};

/** Environment without POSTKONTOR_* from the outside, so tests see only their own config. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("POSTKONTOR")) env[k] = v;
  return { ...env, ...CLOSED_NETWORK_ENV, ...extra };
}

/** Runs the CLI to completion (killed after timeoutMs). */
export function run(
  args: string[],
  opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: cleanEnv(opts.env),
      stdio: "pipe",
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => err.push(d));
    const t = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on("error", () => {}); // the CLI may exit before reading stdin
    child.stdin.end(opts.input ?? "");
  });
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
 * Starts `serve` and collects its JSON log lines. POP3 listens on ephemeral loopback ports unless
 * env or args say otherwise (so tests never bind the zero-config 0.0.0.0:1110/1995).
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
  };
  const child = spawn(process.execPath, [MAIN, "serve", ...args], {
    env: cleanEnv({ ...defaults, ...env }),
    stdio: "pipe",
    cwd: opts.cwd,
  });
  return watchServer(child);
}

/** Collects the JSON log lines of a running server process (spawned with stdio "pipe"); other lines are skipped. */
export function watchServer(child: ChildProcess): Server {
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let buf = "";
  let errText = "";
  child.stderr!.on("data", (d) => (errText += d.toString()));
  child.stdout!.on("data", (d) => {
    buf += d.toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line);
      } catch {
        continue;
      }
      logs.push(obj);
      for (const w of [...waiters]) {
        if (w.pred(obj)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(obj);
        }
      }
    }
  });
  let exitSignal: string | null = null;
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => {
      exitSignal = signal;
      resolve(code);
    }),
  );
  return {
    child,
    logs,
    // the exit signal too: a server that dies by a signal instead of exiting 0 says which one
    stderr: () =>
      `${errText}${exitSignal ? `\n[server killed by ${exitSignal}; last log lines: ${JSON.stringify(logs.slice(-5))}]` : ""}`,
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

/** A raw line-oriented client socket. */
export class LineClient {
  readonly socket: Socket;
  private buf = "";
  private lines: string[] = [];
  private waiter: (() => void) | null = null;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (d) => {
      this.buf += d.toString("latin1");
      let nl = this.buf.indexOf("\r\n");
      while (nl >= 0) {
        this.lines.push(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 2);
        nl = this.buf.indexOf("\r\n");
      }
      this.waiter?.();
    });
    socket.on("close", () => this.waiter?.());
  }

  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => resolve(new LineClient(s)));
      s.on("error", reject);
    });
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Waits for a line matching re; returns it (lines before it are consumed). */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex((l) => re.test(l));
      if (i >= 0) {
        const line = this.lines[i]!;
        this.lines.splice(0, i + 1);
        return line;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.destroyed) {
        throw new Error(`no line matching ${re}; got ${JSON.stringify(this.lines)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
