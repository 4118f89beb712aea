import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { parse } from "smol-toml";
import { verifyHash } from "../../src/auth/index.ts";
import { configSchema, validateConfig } from "../../src/config/index.ts";
import { openStore } from "../../src/store/index.ts";
import { cleanEnv, LineClient, listeningPort, run, startServe, tempEnv } from "./helpers.ts";

async function withStore<T>(dataDir: string, fn: (s: Awaited<ReturnType<typeof openStore>>) => Promise<T>) {
  const store = await openStore({ dataDir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe("postkontor config", () => {
  it("config defaults prints TOML that parses back to exactly the defaults", async () => {
    const r = await run(["config", "defaults"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# /m, "commented");
    assert.deepEqual(validateConfig(parse(r.stdout) as Record<string, unknown>), configSchema.parse({}));
  });

  it("config check: OK for a valid file, exit 1 naming the bad key otherwise", async () => {
    const ok = tempEnv(`[imap]\nlisten = ["127.0.0.1:1143"]\n`);
    const r1 = await run(["config", "check", "--config", ok.config]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /^OK/);

    const bad = tempEnv(`[imap.limits]\nmax_line_lenght = 10\n`);
    const r2 = await run(["config", "check", "--config", bad.config]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /imap\.limits\.max_line_lenght: unknown key/);

    const wrong = tempEnv(`[server]\nworkers = "many"\n`);
    const r3 = await run(["config", "check", "--config", wrong.config]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /server\.workers/);

    const r4 = await run(["config", "check", "--config", ok.config], {
      env: { POSTKONTOR__IMAP__BOGUS: "1" },
    });
    assert.equal(r4.code, 1);
    assert.match(r4.stderr, /imap\.bogus: unknown key \(from environment POSTKONTOR__IMAP__BOGUS\)/);
  });

  it("other commands refuse an invalid config with exit 78", async () => {
    const bad = tempEnv(`nonsense = true\n`);
    const r = await run(["domain", "list", "--config", bad.config]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /nonsense: unknown key/);
  });

  it("bin/postkontor runs the CLI on the pinned Node, also through a symlink", () => {
    const bin = new URL("../../bin/postkontor", import.meta.url).pathname;
    const link = join(tempEnv().dir, "pk");
    symlinkSync(bin, link);
    for (const b of [bin, link]) {
      const out = execFileSync("sh", [b, "config", "defaults"], { encoding: "utf8", env: cleanEnv() });
      assert.match(out, /\[imap\.limits\]/);
    }
  });

  it("unknown commands are usage errors", async () => {
    const r = await run(["frobnicate"]);
    assert.equal(r.code, 64);
  });
});

describe("postkontor domain / user", () => {
  it("adds, lists and deletes domains and users; passwords come from stdin", async () => {
    const env = tempEnv();
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    assert.equal((await run(["domain", "add", "example.org", ...c])).code, 0);
    const dup = await run(["domain", "add", "example.com", ...c]);
    assert.notEqual(dup.code, 0, "duplicate domain refused");
    assert.deepEqual((await run(["domain", "list", ...c])).stdout.split("\n").filter(Boolean).sort(), [
      "example.com",
      "example.org",
    ]);

    const add = await run(["user", "add", "alice@example.com", ...c], { input: "s3cret pw\n" });
    assert.equal(add.code, 0, add.stderr);
    assert.equal((await run(["user", "add", "bob@example.org", ...c], { input: "pw2" })).code, 0);
    const noDomain = await run(["user", "add", "carol@nowhere.test", ...c], { input: "pw\n" });
    assert.notEqual(noDomain.code, 0);
    const noPw = await run(["user", "add", "dave@example.com", ...c], { input: "" });
    assert.equal(noPw.code, 64);
    assert.match(noPw.stderr, /password/);

    const list = await run(["user", "list", ...c]);
    assert.deepEqual(list.stdout.split("\n").filter(Boolean).sort(), [
      "alice@example.com",
      "bob@example.org",
    ]);
    const listOne = await run(["user", "list", "example.org", ...c]);
    assert.deepEqual(listOne.stdout.split("\n").filter(Boolean), ["bob@example.org"]);

    await withStore(env.dataDir, async (s) => {
      const a = await s.getAccount("alice@example.com");
      assert.ok(a);
      assert.equal(await verifyHash(a.passwordHash, "s3cret pw"), true, "first stdin line, without newline");
      assert.match(a.passwordHash, /^\{ARGON2ID\}\$argon2id\$/);
    });

    const pw = await run(["user", "passwd", "alice@example.com", ...c], { input: "new-pass\r\n" });
    assert.equal(pw.code, 0, pw.stderr);
    await withStore(env.dataDir, async (s) => {
      const a = await s.getAccount("alice@example.com");
      assert.equal(await verifyHash(a!.passwordHash, "new-pass"), true);
      assert.equal(await verifyHash(a!.passwordHash, "s3cret pw"), false);
    });
    const pwNoUser = await run(["user", "passwd", "nobody@example.com", ...c], { input: "x\n" });
    assert.equal(pwNoUser.code, 67);

    const set = await run([
      "user",
      "set",
      "alice@example.com",
      "--quota",
      "500M",
      "--quota-messages",
      "10",
      ...c,
    ]);
    assert.equal(set.code, 0, set.stderr);
    await withStore(env.dataDir, async (s) => {
      const a = await s.getAccount("alice@example.com");
      assert.equal(a!.quotaBytes, 500 * 1024 * 1024);
      assert.equal(a!.quotaMessages, 10);
    });
    assert.equal((await run(["user", "set", "alice@example.com", "--quota", "lots", ...c])).code, 64);
    assert.match((await run(["user", "list", "-l", ...c])).stdout, /alice@example\.com\t.*500 MiB/);

    assert.equal((await run(["user", "del", "bob@example.org", ...c])).code, 0);
    assert.deepEqual((await run(["user", "list", ...c])).stdout.split("\n").filter(Boolean), [
      "alice@example.com",
    ]);
    assert.equal((await run(["domain", "del", "example.org", ...c])).code, 0);
    const inUse = await run(["domain", "del", "example.com", ...c]);
    assert.notEqual(inUse.code, 0, "domain with accounts is not deleted without --force");
    assert.deepEqual((await run(["domain", "list", ...c])).stdout.split("\n").filter(Boolean), [
      "example.com",
    ]);
  });
});

describe("postkontor deliver", () => {
  it("delivers stdin to INBOX byte-exact (CRLF-normalized), with flags; errors have sysexits codes", async () => {
    const env = tempEnv();
    const c = ["--config", env.config];
    await run(["domain", "add", "example.com", ...c]);
    await run(["user", "add", "alice@example.com", ...c], { input: "pw\n" });

    const msg = "From: bob@example.org\r\nTo: alice@example.com\r\nSubject: hi\r\n\r\nhello \xff world\r\n";
    const raw = Buffer.from(msg, "latin1");
    const r = await run(["deliver", "alice@example.com", ...c], { input: raw });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "", "prints nothing on success");

    // LF-only input with an mbox From_ line, into a named mailbox with flags
    const lf = Buffer.from("From bob@example.org Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody\n", "latin1");
    const r2 = await run(
      ["deliver", "Alice@Example.com", "--mailbox", "Archive", "--flags", "\\Seen,$Label1", ...c],
      {
        input: lf,
      },
    );
    assert.equal(r2.code, 0, r2.stderr);
    // missing mailbox falls back to INBOX
    const r3 = await run(["deliver", "alice@example.com", "-m", "No/Such", ...c], {
      input: "Subject: 3\r\n\r\nx\r\n",
    });
    assert.equal(r3.code, 0, r3.stderr);

    await withStore(env.dataDir, async (s) => {
      const a = (await s.getAccount("alice@example.com"))!;
      const inbox = (await s.getMailbox(a.id, "INBOX"))!;
      const rows = await s.listMessages(inbox.id);
      assert.equal(rows.length, 2);
      assert.deepEqual(Buffer.from(await s.readMessage(inbox.id, rows[0]!.uid)), raw);
      const archive = (await s.getMailbox(a.id, "Archive"))!;
      const arows = await s.listMessages(archive.id);
      assert.equal(arows.length, 1);
      assert.deepEqual(
        Buffer.from(await s.readMessage(archive.id, arows[0]!.uid)).toString("latin1"),
        "Subject: two\r\n\r\nbody\r\n",
      );
      assert.deepEqual([...arows[0]!.flags].sort(), ["$Label1", "\\Seen"]);
    });

    const noUser = await run(["deliver", "nobody@example.com", ...c], { input: raw });
    assert.equal(noUser.code, 67);
    assert.match(noUser.stderr, /nobody@example\.com/);
    const empty = await run(["deliver", "alice@example.com", ...c], { input: "" });
    assert.equal(empty.code, 65);

    await run(["user", "set", "alice@example.com", "--quota-messages", "3", ...c]);
    const over = await run(["deliver", "alice@example.com", ...c], { input: raw });
    assert.equal(over.code, 75);
    assert.match(over.stderr, /quota/i);
  });
});

describe("postkontor serve", () => {
  it("runs 2 workers on port 0, greets over plain and TLS, and exits 0 on SIGTERM", async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n[log]\nlevel = "info"\n`,
    );
    const server = startServe(["--config", env.config]);
    try {
      const port = await listeningPort(server, "imap");
      const tlsPort = await listeningPort(server, "imaps");
      await server.waitForLog((l) => l.msg === "postkontor started");
      // both workers came up and shared the same ephemeral ports: each address is logged once
      assert.equal(server.logs.filter((l) => String(l.msg).startsWith("imap listening on")).length, 1);

      for (let i = 0; i < 4; i++) {
        const c = await LineClient.connect(port);
        assert.match(await c.waitFor(/^\* /), /^\* OK/);
        c.close();
      }
      // STARTTLS on the plain port uses the same (generated) certificate
      const plain = await LineClient.connect(port);
      await plain.waitFor(/^\* OK/);
      plain.send("s1 STARTTLS");
      assert.match(await plain.waitFor(/^s1 /), /^s1 OK/);
      const caps = await new Promise<string>((resolve, reject) => {
        const s = tlsConnect(
          {
            socket: plain.socket,
            ca: readFileSync(join(env.dataDir, "tls", "cert.pem")),
            servername: "localhost",
          },
          () => {
            s.write("s2 CAPABILITY\r\n");
          },
        );
        let buf = "";
        s.on("data", (d) => {
          buf += d.toString();
          if (/s2 OK/.test(buf)) {
            resolve(buf);
            s.destroy();
          }
        });
        s.on("error", reject);
      });
      assert.match(caps, /^\* CAPABILITY .*IMAP4rev2/m);
      const greeting = await new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false }, () => {
          s.once("data", (d) => {
            resolve(d.toString());
            s.destroy();
          });
        });
        s.on("error", reject);
      });
      assert.match(greeting, /^\* OK/);
    } finally {
      const code = await server.stop();
      assert.equal(code, 0, server.stderr());
    }
  });

  it("starts the primary and the workers with server.max_semi_space_mb as --max-semi-space-size (memory per idle connection)", async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\nmax_semi_space_mb = 3\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[log]\nlevel = "info"\n`,
    );
    const server = startServe(["--config", env.config]);
    try {
      await server.waitForLog((l) => l.msg === "postkontor started");
      const pids = server.logs.filter((l) => l.msg === "worker ready").map((l) => Number(l.workerPid));
      assert.equal(pids.length, 2);
      for (const pid of pids) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        assert.ok(argv.includes("--max-semi-space-size=3"), argv.join(" "));
      }
      // the primary re-executed itself with the same options (src/server/reexec.ts): same pid
      const primary = readFileSync(`/proc/${server.child.pid}/cmdline`, "utf8").split("\0");
      assert.ok(primary.includes("--max-semi-space-size=3"), primary.join(" "));
      assert.ok(primary.includes("serve"), primary.join(" "));
    } finally {
      const code = await server.stop();
      assert.equal(code, 0, server.stderr());
    }
  });

  it("a session in IDLE sees a message delivered by the CLI while the server runs", async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[auth]\nfailure_delay = 0\n`,
    );
    const c = ["--config", env.config];
    await run(["domain", "add", "example.com", ...c]);
    await run(["user", "add", "alice@example.com", ...c], { input: "pw1\n" });
    const server = startServe(c);
    try {
      const port = await listeningPort(server, "imap");
      const imap = await LineClient.connect(port);
      await imap.waitFor(/^\* OK/);
      imap.send("a1 LOGIN alice@example.com pw1");
      assert.match(await imap.waitFor(/^a1 /), /^a1 OK/);
      imap.send("a2 SELECT INBOX");
      assert.match(await imap.waitFor(/^a2 /), /^a2 OK/);
      imap.send("a3 IDLE");
      await imap.waitFor(/^\+ /);
      const d = await run(["deliver", "alice@example.com", ...c], { input: "Subject: push\r\n\r\nhi\r\n" });
      assert.equal(d.code, 0, d.stderr);
      await imap.waitFor(/^\* 1 EXISTS/, 10_000);
      imap.send("DONE");
      assert.match(await imap.waitFor(/^a3 /), /^a3 OK/);
      imap.close();
    } finally {
      const code = await server.stop();
      assert.equal(code, 0, server.stderr());
    }
  });

  it("replaces a crashed worker and keeps serving (listeners from the environment)", async () => {
    const env = tempEnv(`[server]\nworkers = 2\n`);
    const server = startServe(["--config", env.config], {
      POSTKONTOR__IMAP__LISTEN: "127.0.0.1:0",
      POSTKONTOR__IMAP__LISTEN_TLS: "[]",
    });
    try {
      const port = await listeningPort(server, "imap");
      await server.waitForLog((l) => l.msg === "postkontor started");
      const readyBefore = server.logs.filter((l) => l.msg === "worker ready");
      assert.equal(readyBefore.length, 2);
      const victim = Number(readyBefore[0]!.workerPid);
      assert.ok(victim > 0 && victim !== server.child.pid);
      process.kill(victim, "SIGKILL");
      await server.waitForLog((l) => l.msg === "worker exited unexpectedly");
      await server.waitForLog(
        (l) => l.msg === "worker ready" && Number(l.workerPid) !== victim && l.worker === 3,
      );
      for (let i = 0; i < 4; i++) {
        const c = await LineClient.connect(port);
        assert.match(await c.waitFor(/^\* /), /^\* OK/);
        c.close();
      }
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });

  it("a port already in use stops the server with exit 1 and a message", async () => {
    const env = tempEnv(`[server]\nworkers = 1\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n`);
    const first = startServe(["--config", env.config]);
    try {
      const port = await listeningPort(first, "imap");
      const env2 = tempEnv(
        `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:${port}"]\nlisten_tls = []\n`,
      );
      const second = startServe(["--config", env2.config]);
      const code = await new Promise<number | null>((resolve) => second.child.on("exit", resolve));
      assert.equal(code, 1);
      assert.ok(
        second.logs.some((l) => /EADDRINUSE/.test(JSON.stringify(l))) || /EADDRINUSE/.test(second.stderr()),
        JSON.stringify(second.logs),
      );
    } finally {
      assert.equal(await first.stop(), 0);
    }
  });
});

describe("postkontor user set: protocol settings", () => {
  it("--imap/--pop3/--pop3-delete/--pop3-scope round trip; bad values are usage errors", async () => {
    const env = tempEnv();
    const c = ["--config", env.config];
    await run(["domain", "add", "example.com", ...c]);
    assert.equal((await run(["user", "add", "alice@example.com", ...c], { input: "pw\n" })).code, 0);

    const show0 = await run(["user", "show", "alice@example.com", ...c]);
    assert.equal(show0.code, 0, show0.stderr);
    assert.match(show0.stdout, /^imap:\s+on$/m);
    assert.match(show0.stdout, /^pop3:\s+on$/m);
    assert.match(show0.stdout, /^pop3-delete:\s+delete$/m);
    assert.match(show0.stdout, /^pop3-scope:\s+all$/m);

    const r1 = await run([
      "user",
      "set",
      "alice@example.com",
      "--imap",
      "off",
      "--pop3",
      "off",
      "--pop3-delete",
      "keep-read",
      ...c,
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    await withStore(env.dataDir, async (s) => {
      const a = (await s.getAccount("alice@example.com"))!;
      assert.equal(a.settings.imapEnabled, false);
      assert.equal(a.settings.pop3Enabled, false);
      assert.equal(a.settings.pop3Delete, "keep-read");
      assert.equal(a.settings.pop3Scope, "all");
    });
    const list = await run(["user", "list", "-l", ...c]);
    assert.match(list.stdout, /alice@example\.com\t.*imap=off pop3=off pop3-delete=keep-read pop3-scope=all/);

    // off → on stamps the start of the POP3 window
    const before = Date.now();
    const r2 = await run([
      "user",
      "set",
      "alice@example.com",
      "--pop3",
      "on",
      "--imap",
      "on",
      "--pop3-delete",
      "trash",
      ...c,
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    let stamped = 0;
    await withStore(env.dataDir, async (s) => {
      const a = (await s.getAccount("alice@example.com"))!;
      assert.equal(a.settings.imapEnabled, true);
      assert.equal(a.settings.pop3Enabled, true);
      assert.equal(a.settings.pop3Delete, "trash");
      assert.ok(a.settings.pop3EnabledAt && a.settings.pop3EnabledAt.getTime() >= before - 1000);
      stamped = a.settings.pop3EnabledAt.getTime();
    });
    // all → since-enabled restarts the window now
    await new Promise((r) => setTimeout(r, 20));
    const r3 = await run(["user", "set", "alice@example.com", "--pop3-scope", "since-enabled", ...c]);
    assert.equal(r3.code, 0, r3.stderr);
    await withStore(env.dataDir, async (s) => {
      const a = (await s.getAccount("alice@example.com"))!;
      assert.equal(a.settings.pop3Scope, "since-enabled");
      assert.ok(a.settings.pop3EnabledAt!.getTime() > stamped, "window restarted");
      stamped = a.settings.pop3EnabledAt!.getTime();
    });
    // setting only the delete mode leaves the window alone
    assert.equal((await run(["user", "set", "alice@example.com", "--pop3-delete", "delete", ...c])).code, 0);
    await withStore(env.dataDir, async (s) => {
      const a = (await s.getAccount("alice@example.com"))!;
      assert.equal(a.settings.pop3EnabledAt!.getTime(), stamped);
      assert.equal(a.settings.pop3Delete, "delete");
      assert.equal(a.settings.pop3Scope, "since-enabled");
    });
    const show = await run(["user", "show", "alice@example.com", ...c]);
    assert.match(show.stdout, /^pop3-scope:\s+since-enabled$/m);
    assert.match(show.stdout, /^pop3-enabled-at:\s+\d{4}-\d\d-\d\dT/m);

    for (const bad of [
      ["--imap", "maybe"],
      ["--pop3", "1x"],
      ["--pop3-delete", "shred"],
      ["--pop3-scope", "some"],
    ]) {
      const r = await run(["user", "set", "alice@example.com", ...bad, ...c]);
      assert.equal(r.code, 64, `${bad.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(bad[0]!));
    }
    assert.equal((await run(["user", "set", "alice@example.com", ...c])).code, 64, "nothing to set");
    assert.equal((await run(["user", "set", "nobody@example.com", "--pop3", "off", ...c])).code, 67);
    assert.equal((await run(["user", "show", "nobody@example.com", ...c])).code, 67);
  });
});

/** Upgrades a connected LineClient's socket to TLS (after STLS/STARTTLS) and returns a new client. */
function upgradeTls(plain: LineClient, ca: Buffer): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ socket: plain.socket, ca, servername: "localhost" }, () =>
      resolve(new LineClient(s)),
    );
    s.on("error", reject);
  });
}

function tlsLineClient(port: number): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () =>
      resolve(new LineClient(s)),
    );
    s.on("error", reject);
  });
}

describe("postkontor serve: POP3", () => {
  it("greets on the plain (STLS) and implicit-TLS ports; per-account protocol switches act at once", async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[auth]\nfailure_delay = 0\n`,
    );
    const c = ["--config", env.config];
    await run(["domain", "add", "example.com", ...c]);
    await run(["user", "add", "alice@example.com", ...c], { input: "pw1\n" });
    const d = await run(["deliver", "alice@example.com", ...c], { input: "Subject: one\r\n\r\nbody\r\n" });
    assert.equal(d.code, 0, d.stderr);
    const server = startServe([...c, "--listen-pop3", "127.0.0.1:0", "--listen-pop3s", "127.0.0.1:0"]);
    try {
      const port = await listeningPort(server, "pop3");
      const tlsPort = await listeningPort(server, "pop3s");
      const imapPort = await listeningPort(server, "imap");
      assert.notEqual(port, tlsPort);
      await server.waitForLog((l) => l.msg === "postkontor started");
      assert.equal(server.logs.filter((l) => String(l.msg).startsWith("pop3 listening on")).length, 1);

      // plain port: greeting, CAPA offers STLS; after STLS the same certificate, no STLS any more
      const plain = await LineClient.connect(port);
      assert.match(await plain.waitFor(/^[+-]/), /^\+OK/);
      plain.send("CAPA");
      await plain.waitFor(/^\+OK/);
      assert.equal(await plain.waitFor(/^STLS$|^\.$/), "STLS");
      await plain.waitFor(/^\.$/);
      plain.send("STLS");
      assert.match(await plain.waitFor(/^[+-]/), /^\+OK/);
      const secured = await upgradeTls(plain, readFileSync(join(env.dataDir, "tls", "cert.pem")));
      secured.send("CAPA");
      await secured.waitFor(/^\+OK/);
      const caps: string[] = [];
      for (let i = 0; i < 50; i++) {
        const l = await secured.waitFor(/^/);
        if (l === ".") break;
        caps.push(l);
      }
      assert.ok(caps.includes("USER") && !caps.includes("STLS"), caps.join(","));
      secured.send("USER alice@example.com");
      await secured.waitFor(/^\+OK/);
      secured.send("PASS pw1");
      assert.match(await secured.waitFor(/^[+-]/), /^\+OK/);
      secured.send("STAT");
      assert.match(await secured.waitFor(/^[+-]/), /^\+OK 1 \d+$/);
      secured.send("QUIT");
      assert.match(await secured.waitFor(/^[+-]/), /^\+OK/);
      secured.close();

      // implicit TLS port
      const tlsc = await tlsLineClient(tlsPort);
      assert.match(await tlsc.waitFor(/^[+-]/), /^\+OK/);
      tlsc.send("QUIT");
      await tlsc.waitFor(/^\+OK/);
      tlsc.close();

      // POP3 switched off while the server runs: the next login is refused with [AUTH]
      const off = await run(["user", "set", "alice@example.com", "--pop3", "off", ...c]);
      assert.equal(off.code, 0, off.stderr);
      const p2 = await LineClient.connect(port);
      await p2.waitFor(/^\+OK/);
      p2.send("USER alice@example.com");
      await p2.waitFor(/^[+-]/);
      p2.send("PASS pw1");
      assert.match(await p2.waitFor(/^[+-]/), /^-ERR \[AUTH\]/);
      p2.close();

      // IMAP still works, until it is switched off too
      const i1 = await LineClient.connect(imapPort);
      await i1.waitFor(/^\* OK/);
      i1.send("a1 LOGIN alice@example.com pw1");
      assert.match(await i1.waitFor(/^a1 /), /^a1 OK/);
      i1.close();
      const imapOff = await run(["user", "set", "alice@example.com", "--imap", "off", ...c]);
      assert.equal(imapOff.code, 0, imapOff.stderr);
      const i2 = await LineClient.connect(imapPort);
      await i2.waitFor(/^\* OK/);
      i2.send("a1 LOGIN alice@example.com pw1");
      assert.match(await i2.waitFor(/^a1 /), /^a1 NO/);
      i2.close();

      // and back on: POP3 logins work again
      assert.equal((await run(["user", "set", "alice@example.com", "--pop3", "on", ...c])).code, 0);
      const p3 = await LineClient.connect(port);
      await p3.waitFor(/^\+OK/);
      p3.send("USER alice@example.com");
      await p3.waitFor(/^[+-]/);
      p3.send("PASS pw1");
      assert.match(await p3.waitFor(/^[+-]/), /^\+OK/);
      p3.send("QUIT");
      await p3.waitFor(/^\+OK/);
      p3.close();
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });

  it("pop3.enabled = false starts no POP3 listener", async () => {
    const env = tempEnv(
      `[server]\nworkers = 1\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[pop3]\nenabled = false\nlisten = ["127.0.0.1:0"]\n`,
    );
    const server = startServe(["--config", env.config]);
    try {
      await server.waitForLog((l) => l.msg === "postkontor started");
      assert.equal(server.logs.filter((l) => /^pop3s? listening/.test(String(l.msg))).length, 0);
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });
});
