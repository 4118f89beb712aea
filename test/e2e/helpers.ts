/**
 * End-to-end test helpers: the real server process (`postkontor serve` through bench/server.ts) with
 * a domain and accounts, async runs of the CLI and of Debian clients (curl, mbsync), bounded waits.
 */
import fs from "node:fs";
import path from "node:path";
import { ImapFlow } from "imapflow";
import { type RunningServer, type ServerOpts, startServer } from "../../bench/server.ts";
import { envWithoutPostkontor, MAIN as mainPath, runProcess } from "../kit/process.ts";
import { within } from "../kit/temp.ts";

export { waitUntil, within } from "../kit/temp.ts";

export const DOMAIN = "example.test";
export const USER_A = `a@${DOMAIN}`;
export const PASS_A = "pw-a Secret";
export const USER_B = `b@${DOMAIN}`;
export const PASS_B = "pw-b Secret";

export interface E2E {
  server: RunningServer;
  /** the PEM of the server's self-signed certificate (generated on first start) */
  certPath: string;
  /** runs the CLI asynchronously (the event loop keeps running, so clients still see events) */
  cli(args: string[], stdin?: string | Buffer): Promise<RunResult>;
  close(): Promise<void>;
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** process.env without POSTKONTOR_* overrides from the outside: the tests see only their config */
export const cleanEnv = envWithoutPostkontor;

/** Runs a program to completion (SIGKILL after timeoutMs); output as bytes. */
export async function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const r = await runProcess(cmd, args, opts);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Starts `postkontor serve` on a temp dir, adds the domain and the accounts a@ and b@. */
export async function startE2E(opts: ServerOpts = {}): Promise<E2E> {
  const server = await startServer({ ...opts, workers: opts.workers ?? 1 });
  const cli = (args: string[], stdin?: string | Buffer) =>
    run(process.execPath, [mainPath, ...args, "--config", server.configPath], {
      input: stdin,
      timeoutMs: 60_000,
    });
  try {
    for (const [args, input] of [
      [["domain", "add", DOMAIN], ""],
      [["user", "add", USER_A], `${PASS_A}\n${PASS_A}\n`],
      [["user", "add", USER_B], `${PASS_B}\n${PASS_B}\n`],
    ] as const) {
      const r = await cli([...args], input);
      if (r.code !== 0) throw new Error(`postkontor ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
    }
  } catch (e) {
    await server.stop();
    fs.rmSync(server.dir, { recursive: true, force: true });
    throw e;
  }
  return {
    server,
    certPath: path.join(server.dir, "data", "tls", "cert.pem"),
    cli,
    async close() {
      await server.stop();
      fs.rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

/** Delivers a message with `postkontor deliver` (a separate process); throws on a non-zero exit. */
export async function deliver(e: E2E, address: string, raw: Buffer): Promise<void> {
  const r = await e.cli(["deliver", address], raw);
  if (r.code !== 0) throw new Error(`postkontor deliver ${address} failed (${r.code}): ${r.stderr}`);
}

let counter = 0;

/** A small RFC 5322 message with CRLF line ends, unique Message-ID. */
export function message(
  subject: string,
  body = "hello world\r\n",
  from = "Sender <sender@remote.test>",
): Buffer {
  counter++;
  return Buffer.from(
    `From: ${from}\r\nTo: ${USER_A}\r\nSubject: ${subject}\r\n` +
      `Date: Mon, 02 Jun 2025 10:00:${String(counter % 60).padStart(2, "0")} +0000\r\n` +
      `Message-ID: <e2e-${process.pid}-${counter}@remote.test>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${body}`,
  );
}

/**
 * Which worker process serves a connection: imapflow sends `ID ("name" <name> …)` before logging
 * in, and the server logs `imap client id` with the serving process's pid (pino base binding).
 */
export async function servingPid(e: E2E, name: string): Promise<number> {
  const line = await e.server.waitForLog(
    (l) => l.msg === "imap client id" && (l.client as Record<string, unknown> | undefined)?.name === name,
    10_000,
  );
  if (typeof line.pid !== "number") throw new Error(`the ID log line has no pid: ${JSON.stringify(line)}`);
  return line.pid;
}

let connCounter = 0;

/** An imapflow client over STARTTLS on the plain port, with a unique ID name; not yet connected. */
export function imapClient(
  e: E2E,
  opts: { user?: string; pass?: string; name?: string; qresync?: boolean } = {},
): { client: ImapFlow; name: string } {
  const name = opts.name ?? `e2e-${process.pid}-${++connCounter}`;
  const client = new ImapFlow({
    host: "127.0.0.1",
    port: e.server.imapPort,
    secure: false,
    doSTARTTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: opts.user ?? USER_A, pass: opts.pass ?? PASS_A },
    logger: false,
    clientInfo: { name },
    disableAutoIdle: true,
    qresync: opts.qresync ?? false,
  });
  client.on("error", () => {}); // surfaced through the awaited calls
  return { client, name };
}

/** Tries a login; reports whether it succeeded and which worker pid served it. Logs out after. */
export async function tryLogin(e: E2E, user: string, pass: string): Promise<{ ok: boolean; pid: number }> {
  const { client, name } = imapClient(e, { user, pass });
  let ok = false;
  try {
    await within(client.connect(), 30_000, `login ${user}`);
    ok = true;
  } catch (err) {
    const authFailed = (err as { authenticationFailed?: boolean }).authenticationFailed === true;
    if (!authFailed) throw err;
  }
  const pid = await servingPid(e, name);
  if (ok) await client.logout().catch(() => client.close());
  else client.close();
  return { ok, pid };
}
