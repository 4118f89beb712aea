import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "smol-toml";
import { ConfigError, configSchema, loadConfig, parseDuration, parseSize, validateConfig } from "./index.ts";
import { describeSchema, renderConfigMarkdown, renderDefaultsToml } from "./render.ts";

const dir = mkdtempSync(join(tmpdir(), "pk-config-"));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message;
  }
  assert.fail("expected an error");
}

describe("loadConfig", () => {
  it("zero config gives the documented defaults", () => {
    const c = loadConfig(undefined, { env: {}, cwd: dir });
    assert.equal(c.source, null);
    assert.equal(c.data_dir, join(dir, "data"));
    assert.deepEqual(c.imap.listen, ["0.0.0.0:1143"]);
    assert.deepEqual(c.imap.listen_tls, ["0.0.0.0:1993"]);
    // HTTP: production 80/443 (README port table)
    assert.deepEqual(c.http.listen, ["0.0.0.0:1080"]);
    assert.deepEqual(c.http.listen_tls, ["0.0.0.0:1443"]);
    assert.deepEqual(c.http.metrics_networks, ["127.0.0.1/32", "::1/128"]);
    assert.equal(c.http.limits.max_body_size, 1048576);
    assert.equal(c.imap.allow_plaintext_auth, false);
    assert.equal(c.imap.limits.idle_timeout, 30 * 60_000);
    assert.equal(c.imap.limits.unauth_timeout, 60_000);
    assert.equal(c.imap.limits.max_literal_size, 52428800);
    assert.equal(c.auth.cache_ttl, 300_000);
    assert.equal(c.server.workers, 0);
    assert.equal(c.paths.feedSocket, join(dir, "data", "run", "feed.sock"));
    assert.ok(c.hostname.length > 0);
  });

  it("[pop3.limits]: defaults, RFC 1939 §3 autologout ≥ 10 minutes, EXPIRE NEVER or days", () => {
    const d = loadConfig(undefined, { env: {}, cwd: dir });
    assert.equal(d.pop3.enabled, true);
    assert.deepEqual(d.pop3.listen, ["0.0.0.0:1110"]);
    assert.deepEqual(d.pop3.listen_tls, ["0.0.0.0:1995"]);
    assert.deepEqual(d.pop3.limits, {
      max_line_length: 4096,
      max_bad_commands: 20,
      idle_timeout: 600_000,
      max_connections_per_ip: 100,
      login_delay: 0,
      expire: "NEVER",
    });
    const ok = loadConfig(
      file(
        "p1.toml",
        `[pop3.limits]
idle_timeout = "15m"
login_delay = "5m"
expire = "30"
`,
      ),
      { env: {} },
    );
    assert.equal(ok.pop3.limits.idle_timeout, 900_000);
    assert.equal(ok.pop3.limits.login_delay, 300_000);
    assert.equal(ok.pop3.limits.expire, 30);
    assert.equal(
      loadConfig(
        file(
          "p2.toml",
          `[pop3.limits]
expire = 7
idle_timeout = 600
`,
        ),
        { env: {} },
      ).pop3.limits.expire,
      7,
    );
    assert.equal(
      loadConfig(
        file(
          "p3.toml",
          `[pop3.limits]
expire = "never"
`,
        ),
        { env: {} },
      ).pop3.limits.expire,
      "NEVER",
    );
    assert.match(
      errorOf(() =>
        loadConfig(
          file(
            "p4.toml",
            `[pop3.limits]
idle_timeout = "9m59s"
`,
          ),
          { env: {} },
        ),
      ),
      /pop3\.limits\.idle_timeout: .*at least 10 minutes/,
    );
    assert.match(
      errorOf(() =>
        loadConfig(
          file(
            "p5.toml",
            `[pop3.limits]
expire = "soon"
`,
          ),
          { env: {} },
        ),
      ),
      /pop3\.limits\.expire/,
    );
  });

  it("reads a file, with sizes and durations in either form", () => {
    const p = file(
      "a.toml",
      `data_dir = "/srv/mail"\nhostname = "mx.example.com"\n[imap]\nlisten = ["[::1]:143", "127.0.0.1:143"]\n` +
        `[imap.limits]\nidle_timeout = 1800\nmax_literal_size = "10M"\n[auth]\ncache_ttl = "1h30m"\n`,
    );
    const c = loadConfig(p, { env: {} });
    assert.equal(c.source, p);
    assert.equal(c.data_dir, "/srv/mail");
    assert.equal(c.hostname, "mx.example.com");
    assert.deepEqual(c.imap.listen, ["[::1]:143", "127.0.0.1:143"]);
    assert.equal(c.imap.limits.idle_timeout, 1_800_000);
    assert.equal(c.imap.limits.max_literal_size, 10 * 1024 * 1024);
    assert.equal(c.auth.cache_ttl, 90 * 60_000);
    // untouched keys keep defaults
    assert.equal(c.imap.limits.max_bad_commands, 20);
  });

  it("an unknown key is an error naming it", () => {
    const msg = errorOf(() =>
      loadConfig(file("b.toml", `[imap.limits]\nmax_line_lenght = 10\n`), { env: {} }),
    );
    assert.match(msg, /imap\.limits\.max_line_lenght: unknown key/);
    assert.match(
      errorOf(() => loadConfig(file("b2.toml", `bogus = 1\n`), { env: {} })),
      /bogus: unknown key/,
    );
  });

  it("a wrong type is an error naming the key and the problem", () => {
    const msg = errorOf(() => loadConfig(file("c.toml", `[server]\nworkers = "four"\n`), { env: {} }));
    assert.match(msg, /server\.workers: .*expected number/);
    assert.match(
      errorOf(() => loadConfig(file("c2.toml", `[imap]\nlisten = "0.0.0.0:143"\n`), { env: {} })),
      /imap\.listen: .*expected array/,
    );
    assert.match(
      errorOf(() => loadConfig(file("c3.toml", `[imap]\nlisten = ["nonsense"]\n`), { env: {} })),
      /imap\.listen\.0: "nonsense": expected host:port/,
    );
    assert.match(
      errorOf(() => loadConfig(file("c4.toml", `[imap.limits]\nidle_timeout = "soon"\n`), { env: {} })),
      /imap\.limits\.idle_timeout: invalid duration "soon"/,
    );
    assert.match(
      errorOf(() => loadConfig(file("c5.toml", `[log]\nlevel = "loud"\n`), { env: {} })),
      /log\.level: /,
    );
  });

  it("a TOML syntax error names the file", () => {
    const p = file("d.toml", `[imap\nlisten = 1`);
    assert.match(
      errorOf(() => loadConfig(p, { env: {} })),
      /d\.toml: TOML syntax error/,
    );
  });

  it("a missing file is an error", () => {
    assert.match(
      errorOf(() => loadConfig(join(dir, "nope.toml"), { env: {} })),
      /cannot read config file/,
    );
  });

  it("environment overrides beat the file", () => {
    const p = file("e.toml", `data_dir = "/from/file"\n[imap.limits]\nmax_bad_commands = 5\n`);
    const c = loadConfig(p, {
      env: {
        POSTKONTOR_DATA_DIR: "/from/env",
        POSTKONTOR__IMAP__LIMITS__MAX_BAD_COMMANDS: "7",
        POSTKONTOR__IMAP__LISTEN: "127.0.0.1:0,[::1]:0",
        POSTKONTOR__IMAP__LISTEN_TLS: '["127.0.0.1:0"]',
        POSTKONTOR__IMAP__ALLOW_PLAINTEXT_AUTH: "true",
        POSTKONTOR__HOSTNAME: "12345",
        POSTKONTOR__SERVER__WORKERS: "1",
      },
    });
    assert.equal(c.data_dir, "/from/env");
    assert.equal(c.imap.limits.max_bad_commands, 7);
    assert.deepEqual(c.imap.listen, ["127.0.0.1:0", "[::1]:0"]);
    assert.deepEqual(c.imap.listen_tls, ["127.0.0.1:0"]);
    assert.equal(c.imap.allow_plaintext_auth, true);
    assert.equal(c.hostname, "12345", "string keys stay strings");
    assert.equal(c.server.workers, 1);
  });

  it("a bad environment override names the variable", () => {
    const msg = errorOf(() => loadConfig(undefined, { env: { POSTKONTOR__IMAP__NOPE: "1" }, cwd: dir }));
    assert.match(msg, /imap\.nope: unknown key \(from environment POSTKONTOR__IMAP__NOPE\)/);
  });

  it("$POSTKONTOR_CONFIG and ./postkontor.toml are found", () => {
    const p = file("f.toml", `hostname = "f.example"\n`);
    assert.equal(loadConfig(undefined, { env: { POSTKONTOR_CONFIG: p } }).hostname, "f.example");
    file("postkontor.toml", `hostname = "local.example"\n`);
    assert.equal(loadConfig(undefined, { env: {}, cwd: dir }).hostname, "local.example");
  });

  it("command-line overrides apply last", () => {
    const c = loadConfig(undefined, {
      env: { POSTKONTOR__IMAP__LISTEN: "127.0.0.1:1" },
      cwd: dir,
      overrides: [{ path: ["imap", "listen"], value: ["127.0.0.1:0"], origin: "--listen-imap" }],
    });
    assert.deepEqual(c.imap.listen, ["127.0.0.1:0"]);
  });
});

describe("durations and sizes", () => {
  it("parses", () => {
    assert.equal(parseDuration("30m"), 1_800_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration(60), 60_000);
    assert.equal(parseDuration("0"), 0);
    assert.throws(() => parseDuration("5 minutes"));
    assert.throws(() => parseDuration(""));
    assert.throws(() => parseDuration(-1));
    assert.equal(parseSize("500M"), 500 * 1024 * 1024);
    assert.equal(parseSize("1G"), 1024 ** 3);
    assert.equal(parseSize("512k"), 512 * 1024);
    assert.equal(parseSize("10MB"), 10 * 1024 * 1024);
    assert.equal(parseSize(123), 123);
    assert.throws(() => parseSize("lots"));
    assert.throws(() => parseSize(1.5));
  });
});

describe("generated defaults and docs", () => {
  it("`config defaults` output parses back to exactly the defaults", () => {
    const text = renderDefaultsToml();
    const parsed = parse(text);
    assert.deepEqual(validateConfig(parsed as Record<string, unknown>), configSchema.parse({}));
    // every key is present in the output (not left to the schema's defaults)
    for (const k of describeSchema()) {
      if (k.kind === "section") assert.ok(text.includes(`[${k.path.join(".")}]`), k.path.join("."));
      else assert.ok(text.includes(`\n${k.path.at(-1)} = `), k.path.join("."));
      assert.ok(k.description.length > 0, `${k.path.join(".")} has a description`);
    }
  });

  it("docs/config.md is up to date (regenerate: node scripts/gen-config-docs.ts)", () => {
    const committed = readFileSync(new URL("../../docs/config.md", import.meta.url), "utf8");
    assert.equal(committed, renderConfigMarkdown());
  });
});
