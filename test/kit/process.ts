/**
 * Child processes in tests: the environment without outside POSTKONTOR_* variables, and running a
 * program (or the postkontor CLI) to completion without blocking the event loop.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** src/cli/main.ts, the postkontor command */
export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

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

/** process.env without POSTKONTOR_* from the outside, so a test sees only its own config */
export function envWithoutPostkontor(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("POSTKONTOR")) env[k] = v;
  return env;
}

/** envWithoutPostkontor plus CLOSED_NETWORK_ENV plus extra */
export function closedNetworkEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...envWithoutPostkontor(), ...CLOSED_NETWORK_ENV, ...extra };
}

export interface ProcessResult {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Runs a program to completion (SIGKILL after timeoutMs); output as bytes. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "pipe", cwd: opts.cwd, env: opts.env ?? envWithoutPostkontor() });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const t = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
    child.stdin.on("error", () => {}); // the program may exit before reading stdin
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs the postkontor CLI to completion; output as text. */
export async function runCli(
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runProcess(process.execPath, [MAIN, ...args], opts);
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
