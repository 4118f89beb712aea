/**
 * Starts a real postkontor server process (the CLI's `serve`) on a temporary data directory with
 * ephemeral loopback ports, for benchmarks and end-to-end tests. Also runs admin CLI commands.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cliMain = path.join(repoRoot, "src/cli/main.ts");

export interface RunningServer {
  dir: string;
  configPath: string;
  proc: ChildProcess;
  imapPort: number;
  imapsPort: number;
  /** POP3 with STLS / implicit TLS; 0 when the config disables POP3 */
  pop3Port: number;
  pop3sPort: number;
  /** SMTP MX listener (port 0 = not seen) */
  smtpPort: number;
  /** pids of the primary and its workers (for memory measurements) */
  pids(): number[];
  cli(args: string[], stdin?: string | Buffer): { status: number | null; stdout: string; stderr: string };
  /** the server's JSON log lines seen so far (pino; bounded to the last 10,000) */
  logs: Array<Record<string, unknown>>;
  /** resolves with the first log line (seen so far or later) matching pred; rejects after timeoutMs */
  waitForLog(
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface ServerOpts {
  workers?: number;
  /** extra TOML appended to the generated config */
  extraToml?: string;
  dir?: string;
  /** start the POP3 listeners (default true); false writes [pop3] enabled = false */
  pop3?: boolean;
  /** extra TOML lines for the [smtp] section */
  smtpToml?: string;
}

export function writeConfig(dir: string, opts: ServerOpts): string {
  const configPath = path.join(dir, "postkontor.toml");
  const closed = closedNetworkToml(opts);
  const toml = `data_dir = ${JSON.stringify(path.join(dir, "data"))}
hostname = "localhost"

[server]
workers = ${opts.workers ?? 1}

[log]
level = "info"

[imap]
listen = ["127.0.0.1:0"]
listen_tls = ["127.0.0.1:0"]

# the other protocols on loopback ephemeral ports too: never a fixed or public port in tests
[pop3]
enabled = ${opts.pop3 ?? true}
listen = ["127.0.0.1:0"]
listen_tls = ["127.0.0.1:0"]

[smtp]
listen = ["127.0.0.1:0"]
submission = ["127.0.0.1:0"]
submissions = ["127.0.0.1:0"]
${opts.smtpToml ?? ""}
${closed.smtp}

${opts.extraToml ?? ""}
${closed.outbound}
${/^\s*\[auth\]/m.test(opts.extraToml ?? "") ? "" : "# test and benchmark accounts use short passwords\n[auth]\nmin_password_length = 0\n"}`;
  fs.writeFileSync(configPath, toml);
  return configPath;
}

/** process.env without POSTKONTOR_* overrides, so the generated config is what the server uses */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("POSTKONTOR")) env[k] = v;
  return env;
}

/**
 * Loopback only: unless the caller configures them, the generated config turns off what would
 * use the system DNS resolver (outbound queue runner, reverse lookups, SPF/DKIM/DMARC of inbound).
 */
function closedNetworkToml(opts: ServerOpts): { smtp: string; outbound: string } {
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

export function runCli(configPath: string, args: string[], stdin?: string | Buffer) {
  const r = spawnSync(process.execPath, [cliMain, ...args, "--config", configPath], {
    input: stdin ?? "",
    env: cleanEnv(),
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** runCli without blocking the event loop (for creating many accounts in parallel) */
export function runCliAsync(
  configPath: string,
  args: string[],
  stdin?: string | Buffer,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliMain, ...args, "--config", configPath], {
      env: cleanEnv(),
      stdio: "pipe",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(stdin ?? "");
  });
}

/** lines like `imap listening on 127.0.0.1:40123` / `imaps|pop3|pop3s|smtp|submission|submissions listening on ...` (pino JSON or plain) */
function parseListen(line: string): { proto: string; port: number } | null {
  let text = line;
  try {
    const o = JSON.parse(line) as { msg?: string };
    if (typeof o.msg === "string") text = o.msg;
  } catch {}
  const m =
    /\b(imaps|imap|pop3s|pop3|smtp|submissions|submission)\b[^\n]*?listening on \[?[0-9a-fA-F:.]+\]?:(\d+)/i.exec(
      text,
    );
  if (!m) return null;
  return { proto: m[1]!.toLowerCase(), port: Number(m[2]) };
}

export async function startServer(opts: ServerOpts = {}): Promise<RunningServer> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "postkontor-"));
  const configPath = writeConfig(dir, opts);
  const proc = spawn(process.execPath, [cliMain, "serve", "--config", configPath], {
    stdio: ["ignore", "pipe", "pipe"],
    env: cleanEnv(),
  });
  let out = "";
  let errOut = "";
  const logs: Array<Record<string, unknown>> = [];
  const waiters = new Set<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }>();
  const onLogLine = (line: string) => {
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      return;
    }
    if (!o || typeof o !== "object") return;
    const rec = o as Record<string, unknown>;
    logs.push(rec);
    if (logs.length > 10_000) logs.splice(0, logs.length - 10_000);
    for (const w of waiters) {
      if (w.pred(rec)) {
        waiters.delete(w);
        w.resolve(rec);
      }
    }
  };
  proc.stderr?.on("data", (d: Buffer) => {
    errOut += d.toString();
    if (errOut.length > 100_000) errOut = errOut.slice(-50_000);
  });
  const recent = () =>
    logs
      .slice(-20)
      .map((l) => JSON.stringify(l))
      .join("\n");
  const wantPop3 = opts.pop3 ?? true;
  const portsFound = new Promise<Record<string, number>>((resolve, reject) => {
    const found: Record<string, number> = {};
    const timer = setTimeout(
      () => reject(new Error(`server did not report its ports in time:\n${recent()}\n${out}\n${errOut}`)),
      30_000,
    );
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      let i = out.indexOf("\n");
      while (i >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        onLogLine(line);
        const p = parseListen(line);
        if (p) found[p.proto] = p.port;
        if (found.imap && found.imaps && (!wantPop3 || (found.pop3 && found.pop3s)) && found.smtp) {
          clearTimeout(timer);
          resolve(found);
        }
        i = out.indexOf("\n");
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code}):\n${recent()}\n${out}\n${errOut}`));
    });
  });
  let ports: Record<string, number>;
  try {
    ports = await portsFound;
  } catch (e) {
    // do not leave a half-started server or its temp dir behind
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    configPath,
    proc,
    imapPort: ports.imap!,
    imapsPort: ports.imaps!,
    pop3Port: ports.pop3 ?? 0,
    pop3sPort: ports.pop3s ?? 0,
    smtpPort: ports.smtp ?? 0,
    pids() {
      const pids = [proc.pid!];
      try {
        const kids = fs.readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim();
        for (const k of kids.split(/\s+/)) if (k) pids.push(Number(k));
      } catch {}
      return pids;
    },
    cli(args, stdin) {
      return runCli(configPath, args, stdin);
    },
    logs,
    waitForLog(pred, timeoutMs = 10_000) {
      const hit = logs.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (l: Record<string, unknown>) => {
            clearTimeout(t);
            resolve(l);
          },
        };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching server log line within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once("exit", () => r()));
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Private anonymous memory in KiB of a process (`Anonymous` in smaps_rollup: heap, stacks,
 * malloc arenas — what a connection really adds; unlike PSS it does not move when other
 * processes map or unmap the same binary). 0 when unavailable.
 */
export function anonKiB(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const m = /^Anonymous:\s+(\d+) kB/m.exec(s);
    if (m) return Number(m[1]);
  } catch {}
  return 0;
}

/** PSS in KiB of a process (falls back to RSS) */
export function pssKiB(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const m = /^Pss:\s+(\d+) kB/m.exec(s);
    if (m) return Number(m[1]);
  } catch {}
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+) kB/m.exec(s);
    if (m) return Number(m[1]);
  } catch {}
  return 0;
}
