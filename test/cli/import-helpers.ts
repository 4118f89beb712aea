/**
 * Helpers for the import/export tests: an account's state read over IMAP (every folder: octets'
 * hash, flags, internal date) to compare a source with what was imported, and a long-lived CLI child.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { ImapFlow } from "imapflow";
import { cleanEnv, type E2E } from "../e2e/helpers.ts";
import { MAIN } from "../kit/process.ts";

export interface MessageState {
  sha: string;
  flags: string[];
  /** INTERNALDATE, whole seconds */
  date: number;
  source: Buffer;
}

export async function connect(host: string, port: number, user: string, pass: string): Promise<ImapFlow> {
  const c = new ImapFlow({
    host,
    port,
    secure: false,
    doSTARTTLS: undefined,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    logger: false,
    disableAutoIdle: true,
  });
  c.on("error", () => {});
  await c.connect();
  return c;
}

/** folder → its messages (sorted by hash), read with EXAMINE (no implicit \Seen) */
export async function accountState(
  c: ImapFlow,
  opts: { skip?: (path: string) => boolean; body?: (b: Buffer) => Buffer } = {},
): Promise<Map<string, MessageState[]>> {
  const out = new Map<string, MessageState[]>();
  for (const f of await c.list()) {
    if (f.flags.has("\\Noselect") || opts.skip?.(f.path)) continue;
    const lock = await c.getMailboxLock(f.path, { readOnly: true });
    const msgs: MessageState[] = [];
    try {
      if ((c.mailbox as { exists: number }).exists > 0) {
        for await (const m of c.fetch("1:*", { flags: true, internalDate: true, source: true })) {
          const source = opts.body ? opts.body(m.source!) : m.source!;
          msgs.push({
            sha: createHash("sha256").update(source).digest("hex"),
            flags: [...(m.flags ?? [])].filter((x) => x !== "\\Recent").sort(),
            date: Math.floor(new Date(m.internalDate as Date).getTime() / 1000),
            source,
          });
        }
      }
    } finally {
      lock.release();
    }
    msgs.sort((a, b) => (a.sha < b.sha ? -1 : a.sha > b.sha ? 1 : 0));
    out.set(f.path, msgs);
  }
  return out;
}

/** the state without the octets (for deepEqual messages that stay readable) */
export function summary(s: Map<string, MessageState[]>): Record<string, Array<Omit<MessageState, "source">>> {
  const o: Record<string, Array<Omit<MessageState, "source">>> = {};
  for (const [k, v] of [...s].sort()) o[k] = v.map(({ source: _s, ...rest }) => rest);
  return o;
}

/** Starts the CLI as a child (to kill it midway); resolves with its exit code or signal. */
export function spawnCli(
  e: E2E,
  args: string[],
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>;
} {
  const child = spawn(process.execPath, [MAIN, ...args, "--config", e.server.configPath], {
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, out })),
  );
  return { child, done };
}
