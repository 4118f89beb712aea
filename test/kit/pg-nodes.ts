/**
 * `postkontor serve` nodes on one PostgreSQL database (docs/architecture.md "PostgreSQL adapter"):
 * each node gets its own temp dir (data_dir, config) and loopback ephemeral ports, and the same
 * `[store] backend = "postgres"` URL. The set-up of the multi-node, kill-node and HAProxy tests.
 */
import assert from "node:assert/strict";
import { runCli } from "./process.ts";
import { listeningPort, type Server, startServe, writeServeConfig } from "./serve.ts";
import { tempDir } from "./temp.ts";

export interface PgNode {
  server: Server;
  config: string;
  dir: string;
  imap: number;
  pop3: number;
  smtp: number;
  submission: number;
  /** stops the process (if still running) and removes the temp dir */
  close(): Promise<void>;
}

export interface PgNodeOpts {
  /** TOML appended after the [store] section (e.g. [outbound]) */
  extraToml?: string;
  /** extra TOML lines for the [smtp] section */
  smtpToml?: string;
  /** env for `serve` */
  env?: Record<string, string>;
  /** called with the node's dir before the config is written (fixtures) */
  prepare?: (dir: string) => string;
}

/** starts a node on `url` and waits for its listeners */
export async function startPgNode(url: string, name: string, opts: PgNodeOpts = {}): Promise<PgNode> {
  const t = tempDir(`pk-pg-node-${name}-`);
  const extra = opts.prepare?.(t.dir) ?? "";
  const config = writeServeConfig(t.dir, {
    http: false,
    smtpToml: opts.smtpToml,
    extraToml: `[store]
backend = "postgres"
url = ${JSON.stringify(url)}
pool_size = 4
feed_heartbeat = "1s"

${opts.extraToml ?? ""}
${extra}`,
  });
  const server = startServe(["--config", config], opts.env ?? {});
  try {
    return {
      server,
      config,
      dir: t.dir,
      imap: await listeningPort(server, "imap"),
      pop3: await listeningPort(server, "pop3"),
      smtp: await listeningPort(server, "smtp"),
      submission: await listeningPort(server, "submission"),
      async close() {
        try {
          await server.stop();
        } finally {
          t.cleanup();
        }
      },
    };
  } catch (e) {
    await server.stop();
    t.cleanup();
    throw e;
  }
}

/** runs a `postkontor` admin command against a node's config; asserts it exits 0 */
export async function pgNodeCli(n: PgNode, args: string[], input = ""): Promise<void> {
  const r = await runCli([...args, "--config", n.config], { input });
  assert.equal(r.code, 0, r.stderr);
}
