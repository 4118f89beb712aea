/**
 * First-run and CLI friction (issue 9, item 7): every command finds the same configuration and
 * data, admin commands never create a store, private file modes, host name warning, certificate
 * regeneration, log format, common log field names, domain and password policy, confirmation.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { verifyHash } from "../../src/auth/index.ts";
import { hostedDomainProblem, passwordProblem } from "../../src/cli/policy.ts";
import { loadConfig } from "../../src/config/index.ts";
import { ensureSelfSignedCert } from "../../src/net/tls.ts";
import { formatPretty, usePretty } from "../../src/server/log.ts";
import { hostnameProblem } from "../../src/server/preflight.ts";
import { openStore } from "../../src/store/index.ts";
import { initStore, LineClient, listeningPort, MAIN, run, startServe, tempEnv } from "./helpers.ts";

const mode = (p: string) => statSync(p).mode & 0o777;

function tmp(prefix = "pk-first-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** loopback ephemeral listeners for a serve without a config file */
const LOOPBACK = {
  POSTKONTOR__SERVER__WORKERS: "1",
  POSTKONTOR__IMAP__LISTEN: "127.0.0.1:0",
  POSTKONTOR__IMAP__LISTEN_TLS: "127.0.0.1:0",
};

describe("configuration lookup", () => {
  it("a relative data_dir in a config file is relative to the file's directory, the default too", () => {
    const dir = tmp();
    const elsewhere = tmp();
    const a = join(dir, "a.toml");
    writeFileSync(a, `data_dir = "store"\n[tls]\ncert = "c.pem"\nkey = "k.pem"\n`);
    const c = loadConfig(a, { env: {}, cwd: elsewhere, searchPath: [] });
    assert.equal(c.data_dir, join(dir, "store"));
    assert.equal(c.tls.cert, join(dir, "c.pem"));
    assert.match(c.dataDirOrigin ?? "", /data_dir in .*a\.toml/);
    // the same file through POSTKONTOR_CONFIG from yet another directory: the same data
    const viaEnv = loadConfig(undefined, { env: { POSTKONTOR_CONFIG: a }, cwd: tmp(), searchPath: [] });
    assert.equal(viaEnv.data_dir, join(dir, "store"));
    // a file without data_dir: ./data next to it
    const b = join(dir, "b.toml");
    writeFileSync(b, `hostname = "mx.example.com"\n`);
    assert.equal(loadConfig(b, { env: {}, cwd: elsewhere, searchPath: [] }).data_dir, join(dir, "data"));
    // environment and command line stay relative to the working directory
    const e = loadConfig(a, { env: { POSTKONTOR_DATA_DIR: "envdata" }, cwd: elsewhere, searchPath: [] });
    assert.equal(e.data_dir, join(elsewhere, "envdata"));
    assert.match(e.dataDirOrigin ?? "", /POSTKONTOR_DATA_DIR/);
  });

  it("search path: ./postkontor.toml first, then the system file, else defaults in the working directory", () => {
    const cwd = tmp();
    const etc = join(tmp(), "postkontor.toml");
    writeFileSync(etc, `data_dir = "/srv/from-etc"\n`);
    const search = ["postkontor.toml", etc];
    assert.equal(loadConfig(undefined, { env: {}, cwd, searchPath: search }).data_dir, "/srv/from-etc");
    writeFileSync(join(cwd, "postkontor.toml"), `data_dir = "/srv/local"\n`);
    assert.equal(loadConfig(undefined, { env: {}, cwd, searchPath: search }).data_dir, "/srv/local");
    const none = loadConfig(undefined, { env: {}, cwd: tmp(), searchPath: [] });
    assert.equal(none.source, null);
    assert.match(none.dataDirOrigin ?? "", /no config file/);
  });
});

describe("admin commands never create a store", () => {
  it("user list / domain add stop with exit 78 naming the path; deliver exits 75 (EX_TEMPFAIL)", async () => {
    const env = tempEnv("", { init: false });
    const c = ["--config", env.config];
    for (const args of [
      ["user", "list"],
      ["domain", "add", "example.com"],
      ["alias", "list"],
    ]) {
      const r = await run([...args, ...c], { input: "x\n" });
      assert.equal(r.code, 78, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.includes(join(env.dataDir, "store.sqlite")), r.stderr);
      assert.match(r.stderr, /postkontor serve/);
      assert.match(r.stderr, /--config FILE or POSTKONTOR_CONFIG/);
    }
    const d = await run(["deliver", "alice@example.com", ...c], { input: "Subject: x\r\n\r\nx\r\n" });
    assert.equal(d.code, 75, d.stderr);
    assert.ok(d.stderr.includes(env.dataDir), d.stderr);
    assert.equal(existsSync(env.dataDir), false, "nothing was created");
  });

  it("deliver: an invalid configuration is a temporary failure too", async () => {
    const env = tempEnv("nonsense = 1\n");
    const d = await run(["deliver", "alice@example.com", "--config", env.config], {
      input: "Subject: x\r\n\r\nx\r\n",
    });
    assert.equal(d.code, 75, d.stderr);
    assert.match(d.stderr, /nonsense: unknown key/);
    // the other commands keep EX_CONFIG
    assert.equal((await run(["user", "list", "--config", env.config])).code, 78);
  });

  it("config check says where the data is and whether a store is there", async () => {
    const env = tempEnv("", { init: false });
    const r1 = await run(["config", "check", "--config", env.config]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.ok(r1.stdout.includes(env.dataDir));
    assert.match(r1.stdout, /no store yet/);
    initStore(env.dataDir);
    const r2 = await run(["config", "check", "--config", env.config]);
    assert.match(r2.stdout, /store found/);
  });
});

describe("first run without a config file (npm start)", () => {
  it("serve creates ./data privately; admin commands from the same directory find it, elsewhere refuse", async () => {
    const cwd = tmp();
    const server = startServe(
      [],
      {
        ...LOOPBACK,
        POSTKONTOR_HOSTNAME: "mailbox",
        POSTKONTOR__AUTH__FAILURE_DELAY: "0",
        POSTKONTOR__SMTP__ALLOW_PLAINTEXT_AUTH: "true",
      },
      { cwd },
    );
    try {
      await server.waitForLog((l) => l.msg === "postkontor started");
      const dataDir = join(cwd, "data");
      assert.ok(server.logs.some((l) => String(l.msg).includes(`creating a new store in ${dataDir}`)));
      // not an FQDN: warned at start
      const warn = server.logs.find((l) => String(l.msg).includes("not a fully qualified domain name"));
      assert.ok(warn, JSON.stringify(server.logs));
      assert.equal(warn.level, 40);
      // private modes at creation
      assert.equal(mode(dataDir), 0o700);
      assert.equal(mode(join(dataDir, "store.sqlite")), 0o600);
      assert.equal(mode(join(dataDir, "tls", "key.pem")), 0o600);
      assert.equal(mode(join(dataDir, "tls", "cert.pem")), 0o600);

      assert.equal((await run(["domain", "add", "example.com"], { cwd })).code, 0);
      const add = await run(["user", "add", "alice@example.com"], { cwd, input: "correct horse battery\n" });
      assert.equal(add.code, 0, add.stderr);
      const list = await run(["user", "list"], { cwd });
      assert.equal(list.stdout, "alice@example.com\n");
      const d = await run(["deliver", "alice@example.com"], { cwd, input: "Subject: hi\n\nhello\n" });
      assert.equal(d.code, 0, d.stderr);
      if (existsSync(join(dataDir, "blobs"))) assert.equal(mode(join(dataDir, "blobs")), 0o700);

      // another directory: no store there, a clear error instead of an empty list
      const other = tmp();
      const miss = await run(["user", "list"], { cwd: other });
      assert.equal(miss.code, 78);
      assert.ok(miss.stderr.includes(join(other, "data", "store.sqlite")), miss.stderr);
      assert.equal(existsSync(join(other, "data")), false);

      // one field name each for the client address, the user and the session (IMAP, POP3, SMTP)
      const imap = await LineClient.connect(await listeningPort(server, "imap"));
      await imap.waitFor(/^\* OK/);
      imap.send("a LOGIN alice@example.com wrong-password");
      await imap.waitFor(/^a NO/);
      imap.close();
      const pop = await LineClient.connect(await listeningPort(server, "pop3"));
      await pop.waitFor(/^\+OK/);
      pop.send("USER alice@example.com");
      await pop.waitFor(/^\+OK/);
      pop.send("PASS wrong-password");
      await pop.waitFor(/^-ERR/);
      pop.close();
      const smtp = await LineClient.connect(await listeningPort(server, "submission"));
      await smtp.waitFor(/^220 /);
      smtp.send("EHLO client.test");
      await smtp.waitFor(/^250 /);
      smtp.send(`AUTH PLAIN ${Buffer.from("\0alice@example.com\0wrong-password").toString("base64")}`);
      await smtp.waitFor(/^535/);
      smtp.close();
      for (const proto of ["imap", "pop3", "smtp"]) {
        const l = await server.waitForLog(
          (x) =>
            typeof x.msg === "string" &&
            x.msg.startsWith(`${proto} `) &&
            (/fail/.test(x.msg) || (proto === "smtp" && x.msg === "smtp rejected" && x.command === "AUTH")),
        );
        assert.equal(l.user, "alice@example.com", `${proto}: ${JSON.stringify(l)}`);
        assert.match(String(l.remoteAddress), /127\.0\.0\.1/, `${proto}: ${JSON.stringify(l)}`);
        assert.ok(l.session !== undefined, `${proto}: ${JSON.stringify(l)}`);
      }
      for (const l of server.logs) {
        for (const old of ["username", "ip", "sid", "remote"])
          assert.equal(old in l, false, `field ${old} in ${JSON.stringify(l)}`);
      }
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });
});

describe("serve start: modes tightened, pretty logs", () => {
  it("fixes a data directory and files that are too open (with a warning); [log] format = pretty", async () => {
    const env = tempEnv(`[server]\nworkers = 1\n[log]\nformat = "pretty"\n`);
    chmodSync(env.dataDir, 0o755);
    chmodSync(join(env.dataDir, "store.sqlite"), 0o644);
    const server = startServe([
      "--listen-imap",
      "127.0.0.1:0",
      "--listen-imaps",
      "127.0.0.1:0",
      "--config",
      env.config,
    ]);
    let out = "";
    server.child.stdout!.on("data", (d) => (out += d.toString()));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes("postkontor started") && Date.now() < deadline && server.child.exitCode === null)
        await new Promise((r) => setTimeout(r, 50));
      assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}postkontor started workers=1 dataDir=/m, out);
      assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}tightened the permissions of 2 paths/m, out);
      assert.doesNotMatch(out, /^\{/m, "no JSON lines");
      assert.doesNotMatch(out, /fully qualified/, "mail.test is an FQDN");
      assert.equal(mode(env.dataDir), 0o700);
      assert.equal(mode(join(env.dataDir, "store.sqlite")), 0o600);
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });

  it("formatPretty and the auto format", () => {
    const t = new Date(2025, 0, 2, 3, 4, 5, 67).getTime();
    const line = JSON.stringify({
      level: 40,
      time: t,
      pid: 1,
      hostname: "h",
      msg: "imap login failed",
      user: "a@example.com",
      remoteAddress: "127.0.0.1",
      note: "two words",
      n: 3,
      err: "Error: boom\n    at f (x.ts:1:1)",
    });
    assert.equal(
      formatPretty(line),
      '03:04:05.067 WARN  imap login failed user=a@example.com remoteAddress=127.0.0.1 note="two words" n=3 err="Error: boom"\n' +
        "    at f (x.ts:1:1)\n",
    );
    assert.equal(formatPretty("not json"), "not json\n");
    assert.equal(usePretty("auto", true), true);
    assert.equal(usePretty("auto", false), false);
    assert.equal(usePretty("json", true), false);
    assert.equal(usePretty("pretty", false), true);
  });
});

describe("host name and certificate", () => {
  it("hostnameProblem: FQDNs pass; single labels, localhost and IPs do not", () => {
    assert.equal(hostnameProblem("mail.example.com"), null);
    assert.equal(hostnameProblem("mail.example.com."), null);
    for (const h of ["vm", "localhost", "127.0.0.1", "::1", "x.localhost", ""])
      assert.notEqual(hostnameProblem(h), null, h);
  });

  it("the self-signed certificate follows the hostname; a foreign certificate is never replaced", async () => {
    const dir = join(tmp(), "tls");
    const a = await ensureSelfSignedCert(dir, "a.example.com");
    assert.equal(a.generated, true);
    assert.equal((await ensureSelfSignedCert(dir, "a.example.com")).generated, false);
    const b = await ensureSelfSignedCert(dir, "b.example.com");
    assert.equal(b.generated, true);
    assert.equal(b.reason, "hostname");
    const cert = new X509Certificate(readFileSync(b.certPath));
    assert.equal(cert.checkHost("b.example.com"), "b.example.com");
    assert.equal(cert.checkHost("a.example.com"), undefined);
    assert.equal(mode(b.keyPath), 0o600);

    // a certificate someone put there (not ours): kept although it names another host
    const foreign = join(tmp(), "tls");
    mkdirSync(foreign);
    const r = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=other.example.com",
        "-days",
        "30",
      ].concat(["-keyout", join(foreign, "key.pem"), "-out", join(foreign, "cert.pem")]),
      { encoding: "utf8" },
    );
    if (r.status !== 0) return; // no openssl here: the self-signed part above still ran
    const before = readFileSync(join(foreign, "cert.pem"), "utf8");
    assert.equal((await ensureSelfSignedCert(foreign, "b.example.com")).generated, false);
    assert.equal(readFileSync(join(foreign, "cert.pem"), "utf8"), before);
  });
});

describe("domain and password policy", () => {
  it("hostedDomainProblem refuses IPs, literals, localhost and single labels", () => {
    for (const ok of ["example.com", "mail.example.co.uk", "xn--bcher-kva.example", "Example.COM."])
      assert.equal(hostedDomainProblem(ok), null, ok);
    for (const bad of [
      "1.2.3.4",
      "[1.2.3.4]",
      "::1",
      "2001:db8::1",
      "[IPv6:2001:db8::1]",
      "localhost",
      "a.localhost",
      "intranet",
      "10.1.2",
      "",
    ])
      assert.notEqual(hostedDomainProblem(bad), null, bad);
  });

  it("passwordProblem: length, repeated character, runs, the address or its parts; 0 = off", () => {
    const p = { minLength: 12 };
    assert.equal(passwordProblem("correct horse battery", "a@example.com", p), null);
    assert.match(passwordProblem("short", "a@example.com", p) ?? "", /too short: 5 characters, at least 12/);
    assert.match(passwordProblem("zzzzzzzzzzzzzz", "a@example.com", p) ?? "", /repeated/);
    assert.match(passwordProblem("abcdefghijklm", "a@example.com", p) ?? "", /consecutive/);
    assert.match(passwordProblem("9876543210/.-", "a@example.com", p) ?? "", /consecutive/);
    assert.match(passwordProblem("Alice.Smith@Example.com", "alice.smith@example.com", p) ?? "", /address/);
    assert.match(passwordProblem("longlocalpart", "longlocalpart@example.com", p) ?? "", /user name/);
    assert.match(passwordProblem("mail-example.org", "x@mail-example.org", p) ?? "", /domain/);
    assert.equal(passwordProblem("x", "a@example.com", { minLength: 0 }), null);
    // length counts characters, not bytes
    assert.match(passwordProblem("äöüäöüäöüä", "a@example.com", p) ?? "", /10 characters/);
  });

  it("domain add refuses IP addresses and single-label names (exit 64)", async () => {
    const env = tempEnv();
    const c = ["--config", env.config];
    for (const bad of ["192.0.2.1", "[192.0.2.1]", "::1", "[IPv6:2001:db8::1]", "localhost", "mailhost"]) {
      const r = await run(["domain", "add", bad, ...c]);
      assert.equal(r.code, 64, `${bad}: ${r.stderr}`);
    }
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    assert.equal((await run(["domain", "list", ...c])).stdout, "example.com\n");
  });

  it("user add / passwd enforce [auth] min_password_length; --password-hash is exempt but validated", async () => {
    const env = tempEnv("", { passwordPolicy: true });
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    const weak = await run(["user", "add", "bob@example.com", ...c], { input: "secret\n" });
    assert.equal(weak.code, 64);
    assert.match(weak.stderr, /too short: 6 characters, at least 12/);
    const same = await run(["user", "add", "bob@example.com", ...c], { input: "bob@example.com\n" });
    assert.equal(same.code, 64);
    assert.equal((await run(["user", "list", ...c])).stdout, "", "nothing created");
    const good = await run(["user", "add", "bob@example.com", ...c], { input: "a long passphrase\n" });
    assert.equal(good.code, 0, good.stderr);
    const pw = await run(["user", "passwd", "bob@example.com", ...c], { input: "111111111111111\n" });
    assert.equal(pw.code, 64);
    assert.match(pw.stderr, /repeated/);

    // an imported SHA-512 crypt hash of "pw" (`openssl passwd -6 -salt saltsalt pw`): short, but exempt
    const hash =
      "{SHA512-CRYPT}$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/";
    const imp = await run(["user", "add", "carol@example.com", "--password-hash", hash, ...c]);
    assert.equal(imp.code, 0, imp.stderr);
    const bad = await run(["user", "add", "dave@example.com", "--password-hash", "{PLAIN}secret", ...c]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /not a supported hash/);
    const store = await openStore({ dataDir: env.dataDir, feedSocketPath: null });
    try {
      const carol = await store.getAccount("carol@example.com");
      assert.equal(carol?.passwordHash, hash);
      assert.equal(await verifyHash(carol!.passwordHash, "pw"), true);
      assert.equal(
        await verifyHash((await store.getAccount("bob@example.com"))!.passwordHash, "a long passphrase"),
        true,
      );
    } finally {
      await store.close();
    }

    // a configured minimum
    const strict = tempEnv("", { passwordPolicy: true });
    writeFileSync(strict.config, `${readFileSync(strict.config, "utf8")}[auth]\nmin_password_length = 20\n`);
    assert.equal((await run(["domain", "add", "example.com", "--config", strict.config])).code, 0);
    const r = await run(["user", "add", "e@example.com", "--config", strict.config], {
      input: "a long passphrase\n",
    });
    assert.equal(r.code, 64);
    assert.match(r.stderr, /at least 20/);
  });
});

describe("domain del --force", () => {
  const hasScript = spawnSync("script", ["--version"]).status === 0;

  it("without a terminal it deletes at once (scripts do not hang)", async () => {
    const env = tempEnv();
    const c = ["--config", env.config];
    await run(["domain", "add", "example.com", ...c]);
    await run(["user", "add", "a@example.com", ...c], { input: "pw\n" });
    const r = await run(["domain", "del", "example.com", "--force", ...c]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await run(["domain", "list", ...c])).stdout, "");
  });

  it("on a terminal it asks; no keeps everything, yes (or --yes) deletes", {
    skip: !hasScript && "script(1) not installed",
  }, async () => {
    const env = tempEnv();
    const c = ["--config", env.config];
    for (const d of ["one.example", "two.example", "three.example"]) {
      await run(["domain", "add", d, ...c]);
      await run(["user", "add", `a@${d}`, ...c], { input: "pw\n" });
    }
    const onTty = (args: string[], answer: string) => {
      const cmd = [process.execPath, MAIN, ...args, ...c]
        .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
        .join(" ");
      // script(1) runs the command on a pseudo-terminal and forwards our stdin to it
      return spawnSync("script", ["-qec", cmd, "/dev/null"], {
        input: answer,
        encoding: "utf8",
        timeout: 30_000,
      });
    };
    const no = onTty(["domain", "del", "one.example", "--force"], "n\n");
    assert.equal(no.status, 1, no.stdout);
    assert.match(no.stdout, /Delete one\.example with its 1 account and all their mail\? \[y\/N\]/);
    const yes = onTty(["domain", "del", "two.example", "--force"], "y\n");
    assert.equal(yes.status, 0, yes.stdout);
    const skip = onTty(["domain", "del", "three.example", "--force", "--yes"], "");
    assert.equal(skip.status, 0, skip.stdout);
    assert.doesNotMatch(skip.stdout, /\[y\/N\]/);
    assert.equal((await run(["domain", "list", ...c])).stdout, "one.example\n");
  });
});

// the launcher keeps working from any directory (it resolves the repository, not the data)
describe("bin/postkontor from another directory", () => {
  it("reports the missing store of that directory instead of creating one", () => {
    const cwd = tmp();
    const bin = new URL("../../bin/postkontor", import.meta.url).pathname;
    let code = 0;
    let err = "";
    try {
      execFileSync("sh", [bin, "user", "list"], {
        cwd,
        encoding: "utf8",
        stdio: "pipe",
        env: { PATH: process.env.PATH ?? "" },
      });
    } catch (e) {
      code = (e as { status: number }).status;
      err = String((e as { stderr: string }).stderr);
    }
    assert.equal(code, 78, err);
    assert.ok(err.includes(join(cwd, "data")), err);
    assert.equal(existsSync(join(cwd, "data")), false);
  });
});
