/**
 * Configuration loading: one TOML file validated by the zod schema in schema.ts (which is also the
 * defaults and documentation), then environment overrides, then command-line overrides.
 *
 * File lookup (the same for every command, serve and admin alike): --config FILE, else
 * $POSTKONTOR_CONFIG, else the first existing file of CONFIG_SEARCH_PATH (./postkontor.toml, then
 * /etc/postkontor/postkontor.toml), else built-in defaults. Relative paths written in a config file
 * (data_dir, tls.cert, tls.key, store.feed_socket, outbound.tls_ca; also the default data_dir
 * "./data" when the file sets none) resolve against the directory of that file; relative paths from
 * the environment or the command line, and the default without any config file, resolve against
 * the current working directory.
 * Errors (ConfigError) name the key path and say what is wrong.
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import type { z } from "zod";
import { ConfigError } from "./errors.ts";
import { schemaAt } from "./render.ts";
import { type Config, configSchema } from "./schema.ts";

export type { Config, ConfigInput } from "./schema.ts";
export { configSchema, parseDuration, parseSize } from "./schema.ts";

export { ConfigError };

/** A resolved configuration: data_dir absolute, hostname filled in, derived paths added. */
export type ResolvedConfig = Config & {
  /** the file the config was read from, or null for built-in defaults */
  source: string | null;
  /** where data_dir came from, for messages ("built-in default ./data", "environment …", a file) */
  dataDirOrigin?: string;
  paths: { feedSocket: string; tlsDir: string };
};

export interface LoadOptions {
  /** environment to read overrides from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** key path → value overrides applied last (command-line options) */
  overrides?: Array<{ path: string[]; value: unknown; origin: string }>;
  /** working directory for relative paths and ./postkontor.toml (default process.cwd()) */
  cwd?: string;
  /** the config files looked for when neither --config nor $POSTKONTOR_CONFIG names one (default CONFIG_SEARCH_PATH) */
  searchPath?: readonly string[];
}

/** Looked for in this order when no file is named; a relative entry is relative to the working directory. */
export const CONFIG_SEARCH_PATH: readonly string[] = ["postkontor.toml", "/etc/postkontor/postkontor.toml"];

/** Keys holding file-system paths: relative values from a config file (and their defaults when a file is used) resolve against its directory. */
const PATH_KEYS: ReadonlyArray<readonly string[]> = [
  ["data_dir"],
  ["tls", "cert"],
  ["tls", "key"],
  ["store", "feed_socket"],
  ["outbound", "tls_ca"],
  ["backup", "dir"],
];

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function setPath(root: Table, path: string[], value: unknown, origin: string): void {
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (next === undefined) cur[k] = {};
    else if (!isTable(next))
      throw new ConfigError(`${path.slice(0, i + 1).join(".")}: is not a section (${origin})`);
    cur = cur[k] as Table;
  }
  cur[path[path.length - 1]!] = value;
}

/** Reads an environment value: TOML value syntax when it parses, comma list for list keys, else string. */
function envValue(path: string[], raw: string): unknown {
  const doc = schemaAt(path);
  let parsed: unknown = raw;
  try {
    parsed = (parseToml(`v = ${raw}`) as Table).v;
  } catch {
    parsed = raw;
  }
  if (doc?.kind === "array" && !Array.isArray(parsed)) {
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  }
  // a string key given an unquoted value that happens to parse as a number/bool stays a string
  if (doc?.kind === "leaf" && typeof doc.defaultValue === "string" && typeof parsed !== "string") return raw;
  return parsed;
}

/** Environment overrides as key paths: POSTKONTOR_DATA_DIR, POSTKONTOR_HOSTNAME, POSTKONTOR_LOG_LEVEL, POSTKONTOR__A__B. */
export function envOverrides(
  env: NodeJS.ProcessEnv,
): Array<{ path: string[]; value: unknown; origin: string }> {
  const out: Array<{ path: string[]; value: unknown; origin: string }> = [];
  const shortcuts: Record<string, string[]> = {
    POSTKONTOR_DATA_DIR: ["data_dir"],
    POSTKONTOR_HOSTNAME: ["hostname"],
    POSTKONTOR_LOG_LEVEL: ["log", "level"],
  };
  for (const [name, path] of Object.entries(shortcuts)) {
    const v = env[name];
    if (v !== undefined && v !== "") out.push({ path, value: v, origin: `environment ${name}` });
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("POSTKONTOR__") || raw === undefined) continue;
    const path = name.slice("POSTKONTOR__".length).toLowerCase().split("__");
    if (path.some((p) => p === "")) throw new ConfigError(`environment ${name}: malformed key path`);
    out.push({ path, value: envValue(path, raw), origin: `environment ${name}` });
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, origins: Map<string, string>): string[] {
  const base = issue.path.map(String);
  const where = (p: string[]) => {
    const key = p.join(".") || "(top level)";
    let origin = "";
    for (let i = p.length; i > 0; i--) {
      const o = origins.get(p.slice(0, i).join("."));
      if (o) {
        origin = ` (from ${o})`;
        break;
      }
    }
    return { key, origin };
  };
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => {
      const { key, origin } = where([...base, k]);
      return `${key}: unknown key${origin}`;
    });
  }
  const { key, origin } = where(base);
  let msg = issue.message;
  if (issue.code === "invalid_union") {
    msg = "expected a string or a number";
  }
  return [`${key}: ${msg}${origin}`];
}

/** Validates a raw (parsed TOML) table with overrides; throws ConfigError naming every bad key. */
export function validateConfig(
  raw: Table,
  overrides: Array<{ path: string[]; value: unknown; origin: string }> = [],
  source = "config",
): Config {
  const origins = new Map<string, string>();
  for (const o of overrides) {
    setPath(raw, o.path, o.value, o.origin);
    origins.set(o.path.join("."), o.origin);
  }
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.flatMap((i) => describeIssue(i, origins));
    throw new ConfigError(`invalid configuration (${source}):\n  ${lines.join("\n  ")}`);
  }
  const st = r.data.store;
  // the PostgreSQL backend names its database; the URL is checked for its scheme only (libpq syntax)
  if (st.backend === "postgres" && !/^postgres(ql)?:\/\//.test(st.url))
    throw new ConfigError(
      `invalid configuration (${source}):\n  store.url: backend = "postgres" needs url = "postgres://…"`,
    );
  return r.data;
}

/** Finds which config file to read: explicit, $POSTKONTOR_CONFIG, the search path, or none. */
export function findConfigFile(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
  searchPath: readonly string[] = CONFIG_SEARCH_PATH,
): string | null {
  if (file) return resolve(cwd, file);
  if (env.POSTKONTOR_CONFIG) return resolve(cwd, env.POSTKONTOR_CONFIG);
  for (const p of searchPath) {
    const abs = resolve(cwd, p);
    if (existsSync(abs)) return abs;
  }
  return null;
}

/** How to point a command at the right configuration (for error messages). */
export function configHint(searchPath: readonly string[] = CONFIG_SEARCH_PATH): string {
  const shown = searchPath.map((p) => (isAbsolute(p) ? p : `./${p}`)).join(", ");
  return `--config FILE or POSTKONTOR_CONFIG=FILE (without either, the first of ${shown} that exists is read)`;
}

function getPath(root: Table, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (!isTable(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Loads, validates and resolves the configuration. Throws ConfigError. */
export function loadConfig(file?: string, opts: LoadOptions = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const path = findConfigFile(file, env, cwd, opts.searchPath);
  let raw: Table = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new ConfigError(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    try {
      raw = parseToml(text) as Table;
    } catch (e) {
      const m = e instanceof TomlError ? e.message : String(e);
      throw new ConfigError(`${path}: TOML syntax error: ${m}`);
    }
  }
  const overrides = [...envOverrides(env), ...(opts.overrides ?? [])];
  // path keys nothing overrides resolve against the config file's directory (its default too:
  // every command reading the same file finds the same data, wherever it runs)
  const fromFile = new Set<string>();
  if (path) {
    for (const k of PATH_KEYS) {
      const key = k.join(".");
      if (!overrides.some((o) => o.path.join(".") === key)) fromFile.add(key);
    }
  }
  const dataDirOverride = overrides.findLast((o) => o.path.join(".") === "data_dir");
  const cfg = validateConfig(raw, overrides, path ?? "built-in defaults");
  const base = (key: string) => (path && fromFile.has(key) ? dirname(path) : cwd);
  const resolveOpt = (key: string, p: string) => (p ? resolve(base(key), p) : "");
  const dataDir = resolve(base("data_dir"), cfg.data_dir);
  const feedSocket = resolveOpt("store.feed_socket", cfg.store.feed_socket);
  return {
    ...cfg,
    data_dir: dataDir,
    hostname: cfg.hostname || osHostname(),
    tls: { cert: resolveOpt("tls.cert", cfg.tls.cert), key: resolveOpt("tls.key", cfg.tls.key) },
    store: { ...cfg.store, feed_socket: feedSocket },
    outbound: { ...cfg.outbound, tls_ca: resolveOpt("outbound.tls_ca", cfg.outbound.tls_ca) },
    backup: { ...cfg.backup, dir: resolveOpt("backup.dir", cfg.backup.dir) || join(dataDir, "backups") },
    source: path,
    dataDirOrigin: dataDirOverride
      ? dataDirOverride.origin
      : path
        ? `${getPath(raw, ["data_dir"]) === undefined ? 'the default "./data" next to' : "data_dir in"} ${path}`
        : 'the default "./data" in the working directory; no config file found',
    paths: {
      feedSocket: feedSocket || join(dataDir, "run", "feed.sock"),
      tlsDir: join(dataDir, "tls"),
    },
  };
}
