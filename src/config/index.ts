/**
 * Configuration loading: one TOML file validated by the zod schema in schema.ts (which is also the
 * defaults and documentation), then environment overrides, then command-line overrides.
 *
 * File lookup: explicit path, else $POSTKONTOR_CONFIG, else ./postkontor.toml if it exists, else
 * built-in defaults. Errors (ConfigError) name the key path and say what is wrong.
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import type { z } from "zod";
import { schemaAt } from "./render.ts";
import { type Config, configSchema } from "./schema.ts";

export type { Config, ConfigInput } from "./schema.ts";
export { configSchema, parseDuration, parseSize } from "./schema.ts";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A resolved configuration: data_dir absolute, hostname filled in, derived paths added. */
export type ResolvedConfig = Config & {
  /** the file the config was read from, or null for built-in defaults */
  source: string | null;
  paths: { feedSocket: string; tlsDir: string };
};

export interface LoadOptions {
  /** environment to read overrides from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** key path → value overrides applied last (command-line options) */
  overrides?: Array<{ path: string[]; value: unknown; origin: string }>;
  /** working directory for relative paths and ./postkontor.toml (default process.cwd()) */
  cwd?: string;
}

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
  return r.data;
}

/** Finds which config file to read: explicit, $POSTKONTOR_CONFIG, ./postkontor.toml, or none. */
export function findConfigFile(file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | null {
  if (file) return resolve(cwd, file);
  if (env.POSTKONTOR_CONFIG) return resolve(cwd, env.POSTKONTOR_CONFIG);
  const local = resolve(cwd, "postkontor.toml");
  return existsSync(local) ? local : null;
}

/** Loads, validates and resolves the configuration. Throws ConfigError. */
export function loadConfig(file?: string, opts: LoadOptions = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const path = findConfigFile(file, env, cwd);
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
  const cfg = validateConfig(raw, overrides, path ?? "built-in defaults");
  const dataDir = resolve(cwd, cfg.data_dir);
  const resolveOpt = (p: string) => (p ? resolve(cwd, p) : "");
  return {
    ...cfg,
    data_dir: dataDir,
    hostname: cfg.hostname || osHostname(),
    tls: { cert: resolveOpt(cfg.tls.cert), key: resolveOpt(cfg.tls.key) },
    store: { ...cfg.store, feed_socket: resolveOpt(cfg.store.feed_socket) },
    source: path,
    paths: {
      feedSocket: cfg.store.feed_socket
        ? resolve(cwd, cfg.store.feed_socket)
        : join(dataDir, "run", "feed.sock"),
      tlsDir: join(dataDir, "tls"),
    },
  };
}
