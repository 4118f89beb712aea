/**
 * A private PostgreSQL cluster for tests: Debian's `postgresql` binaries (scripts/test-deps.sh
 * installs them), `initdb` into a temp directory, `pg_ctl` on a free 127.0.0.1 port with its Unix
 * socket inside that directory, removed again by stop(). Nothing outside the directory is touched
 * and no system cluster is needed. As root (CI) the cluster runs as the `postgres` system user,
 * since initdb refuses root.
 *
 * One cluster per test file (a node:test process) is the intended use: start it in `before`, hand
 * each test its own database from createDatabase(), stop it in `after`.
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freeLoopbackPort as freePort } from "./listen.ts";
import { tempDir } from "./temp.ts";

const run = promisify(execFile);

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dir: string;
  /** creates a fresh database and returns its URL */
  createDatabase(name?: string): Promise<string>;
  /** stops the server (immediate) and removes the directory */
  stop(): Promise<void>;
}

/** the directory holding initdb/pg_ctl: the newest /usr/lib/postgresql/N/bin, else PATH */
export function postgresBinDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0]!, "bin");
  }
  return null;
}

/** true when a cluster can be started here (tests that need one skip with a reason otherwise) */
export function postgresAvailable(): boolean {
  return postgresBinDir() !== null;
}

let dbCounter = 0;

export async function startPostgres(): Promise<PgCluster> {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error("PostgreSQL binaries not found under /usr/lib/postgresql (apt-get install postgresql)");
  const tmp = tempDir("pk-pg-");
  const data = join(tmp.dir, "data");
  const asRoot = process.getuid?.() === 0;
  // initdb and postgres refuse to run as root: run them as the postgres system user
  const wrap = (file: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: g } = await run("id", ["-g", "postgres"]);
    chownSync(tmp.dir, Number(stdout.trim()), Number(g.trim()));
  }
  const exec = async (file: string, args: string[]) => {
    const [f, a] = wrap(join(bin, file), args);
    return await run(f, a, { cwd: tmp.dir, maxBuffer: 4 << 20 });
  };
  await exec("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-locale",
    "--no-sync",
  ]);
  // a port found free can be taken before postgres binds it: retry a few times
  let port = 0;
  let lastErr: unknown = null;
  for (let attempt = 0; attempt < 5 && port === 0; attempt++) {
    const p = await freePort();
    const opts = [
      `-p ${p}`,
      "-h 127.0.0.1",
      `-k ${tmp.dir}`,
      // test speed: no durability across a crash of this throwaway cluster
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
    ].join(" ");
    try {
      await exec("pg_ctl", [
        "-D",
        data,
        "-l",
        join(tmp.dir, "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        opts,
        "start",
      ]);
      port = p;
    } catch (e) {
      lastErr = e;
    }
  }
  if (port === 0) {
    tmp.cleanup();
    throw new Error(`pg_ctl start failed: ${String(lastErr)}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dir: tmp.dir,
    async createDatabase(name?: string): Promise<string> {
      const db = name ?? `t_${process.pid}_${++dbCounter}`;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${db.replaceAll('"', '""')}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(db)}`;
    },
    async stop(): Promise<void> {
      try {
        await exec("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        tmp.cleanup();
      }
    },
  };
}
