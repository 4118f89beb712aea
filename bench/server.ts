/**
 * Starts a real postkontor server process (the CLI's `serve`) on a temporary data directory with
 * ephemeral loopback ports, for benchmarks and end-to-end tests. Also runs admin CLI commands.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { freeFixedPort } from "../test/kit/listen.ts";
import { envWithoutPostkontor, runCli as runKitCli } from "../test/kit/process.ts";
import { type ListenerName, type ServeConfigOpts, watchServer, writeServeConfig } from "../test/kit/serve.ts";
import { waitCpuQuiet } from "./proc.ts";

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

export interface ServerOpts extends ServeConfigOpts {
  dir?: string;
}

/** the generated config (test/kit/serve.ts: every listener on loopback, port 0 unless opts.ports, closed network) */
export function writeConfig(dir: string, opts: ServerOpts): string {
  return writeServeConfig(dir, opts);
}

export function runCli(configPath: string, args: string[], stdin?: string | Buffer) {
  const r = spawnSync(process.execPath, [cliMain, ...args, "--config", configPath], {
    input: stdin ?? "",
    env: envWithoutPostkontor(),
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** runCli without blocking the event loop (for creating many accounts in parallel) */
export async function runCliAsync(
  configPath: string,
  args: string[],
  stdin?: string | Buffer,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = await runKitCli([...args, "--config", configPath], { input: stdin });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
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

/**
 * A server on loopback port 0 (tests also start theirs here), or with `fixedPorts` on free fixed
 * ports as a deployment listens — the benchmarks: a cluster's workers then bind them with
 * SO_REUSEPORT (docs/architecture.md "Process model"). A fixed port another process took between
 * the look and the bind: tried again, 3 times.
 */
export async function startServer(opts: ServerOpts & { fixedPorts?: boolean } = {}): Promise<RunningServer> {
  if (!opts.fixedPorts || opts.ports) return startServerOnce(opts);
  for (let attempt = 1; ; attempt++) {
    const names: ListenerName[] = [
      "imap",
      "imaps",
      "pop3",
      "pop3s",
      "smtp",
      "submission",
      "submissions",
      "http",
      "https",
    ];
    const ports: Partial<Record<ListenerName, number>> = {};
    for (const n of names) {
      let port = await freeFixedPort();
      while (Object.values(ports).includes(port)) port = await freeFixedPort();
      ports[n] = port;
    }
    try {
      return await startServerOnce({ ...opts, ports });
    } catch (e) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(e))) throw e;
    }
  }
}

async function startServerOnce(opts: ServerOpts): Promise<RunningServer> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "postkontor-"));
  const configPath = writeConfig(dir, opts);
  const proc = spawn(process.execPath, [cliMain, "serve", "--config", configPath], {
    stdio: ["ignore", "pipe", "pipe"],
    env: envWithoutPostkontor(),
  });
  const wantPop3 = opts.pop3 ?? true;
  const found: Record<string, number> = {};
  let portsSeen: () => void = () => {};
  const watched = watchServer(proc, {
    maxLogs: 10_000,
    onLine(line) {
      const p = parseListen(line);
      if (p) found[p.proto] = p.port;
      if (found.imap && found.imaps && (!wantPop3 || (found.pop3 && found.pop3s)) && found.smtp) portsSeen();
    },
  });
  const recent = () =>
    watched.logs
      .slice(-20)
      .map((l) => JSON.stringify(l))
      .join("\n");
  const portsFound = new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not report its ports in time:\n${recent()}\n${watched.stderr()}`)),
      30_000,
    );
    portsSeen = () => {
      clearTimeout(timer);
      resolve(found);
    };
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code}):\n${recent()}\n${watched.stderr()}`));
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
    logs: watched.logs,
    waitForLog: (pred, timeoutMs = 10_000) => watched.waitForLog(pred, timeoutMs),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await watched.stop(10_000);
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

/**
 * Waits (at most maxMs) until the server's search indexer has no queued text left (the store's
 * `fts_pending` is empty), read from the side through a read-only connection: deferred work that
 * an idle CPU alone does not prove finished (the indexer yields between batches). Returns the ms
 * waited; false when it timed out.
 */
export async function waitSearchIndexed(dataDir: string, maxMs: number): Promise<number | false> {
  const t0 = Date.now();
  const db = new Database(path.join(dataDir, "store.sqlite"), { readonly: true, fileMustExist: true });
  try {
    const pending = db.prepare("SELECT 1 FROM fts_pending LIMIT 1").pluck();
    // bounded: one look every 500 ms until maxMs
    while (pending.get() !== undefined) {
      if (Date.now() - t0 > maxMs) return false;
      await new Promise((r) => setTimeout(r, 500));
    }
    return Date.now() - t0;
  } finally {
    db.close();
  }
}

/**
 * Waits for what a server defers after a burst of appends — postkontor's search indexing of the
 * appended texts (when `dataDir` is given), then CPU quiet — at most `maxMs` in all, so that a
 * measurement after it is of mail that arrived earlier. `indexed`: false when the indexing had not
 * finished in time, null without `dataDir`.
 */
export async function settleServer(
  t: { pids: () => number[]; dataDir?: string | null },
  maxMs: number,
): Promise<{ seconds: number; indexed: boolean | null }> {
  const t0 = performance.now();
  const end = Date.now() + maxMs;
  const left = () => Math.max(0, end - Date.now());
  const indexed = t.dataDir ? (await waitSearchIndexed(t.dataDir, left())) !== false : null;
  await waitCpuQuiet(t.pids, left());
  return { seconds: (performance.now() - t0) / 1000, indexed };
}
