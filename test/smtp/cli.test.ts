/**
 * The SMTP pieces of the CLI and of `serve`: alias add|list|del, queue list, deliver through an
 * alias (the shared local-delivery code), user set --save-sent, and the three SMTP listeners of a
 * running server (log lines, swaks to MX and to submission).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { openStore } from "../../src/store/index.ts";
import { listeningPort, run, startServe, tempEnv } from "../cli/helpers.ts";

const swaks = promisify(execFile);

describe("postkontor alias / queue / deliver / serve (SMTP)", () => {
  const env = tempEnv(
    `[server]\nworkers = 1\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[auth]\nfailure_delay = 0\n`,
  );
  const c = ["-c", env.config];
  after(() => rmSync(env.dir, { recursive: true, force: true }));

  it("alias add/list/del and deliver through an alias", async () => {
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    for (const u of ["alice@example.com", "bob@example.com"])
      assert.equal((await run(["user", "add", u, ...c], { input: "pw\n" })).code, 0);
    assert.equal((await run(["alias", "add", "team@example.com", "alice@example.com", ...c])).code, 0);
    assert.equal((await run(["alias", "add", "team@example.com", "bob@example.com", ...c])).code, 0);
    assert.equal((await run(["alias", "add", "@example.com", "bob@example.com", ...c])).code, 0);
    const dup = await run(["alias", "add", "team@example.com", "bob@example.com", ...c]);
    assert.equal(dup.code, 64);
    const bad = await run(["alias", "add", "x@nothosted.example", "bob@example.com", ...c]);
    assert.equal(bad.code, 67);
    const list = await run(["alias", "list", ...c]);
    assert.equal(
      list.stdout,
      "@example.com\tbob@example.com\nteam@example.com\talice@example.com\nteam@example.com\tbob@example.com\n",
    );
    const d = await run(["deliver", "team@example.com", ...c], { input: "Subject: to team\n\nhi\n" });
    assert.equal(d.code, 0, d.stderr);
    assert.equal((await run(["alias", "del", "@example.com", ...c])).code, 0);
    assert.equal(
      (await run(["deliver", "nobody@example.com", ...c], { input: "Subject: x\n\nx\n" })).code,
      67,
    );
    const store = await openStore({ dataDir: env.dataDir, feedSocketPath: null });
    try {
      for (const u of ["alice@example.com", "bob@example.com"])
        assert.equal((await store.getAccount(u))!.usedMessages, 1);
    } finally {
      await store.close();
    }
    assert.equal((await run(["user", "set", "alice@example.com", "--save-sent", "on", ...c])).code, 0);
    assert.match((await run(["user", "show", "alice@example.com", ...c])).stdout, /^save-sent:\s+on$/m);
  });

  it("serve starts smtp, submission and submissions listeners; mail flows; queue list shows remote mail", async () => {
    const server = startServe([...c, "--log-level", "info"]);
    try {
      const mx = await listeningPort(server, "smtp");
      const sub = await listeningPort(server, "submission");
      const subs = await listeningPort(server, "submissions");
      assert.ok(mx > 0 && sub > 0 && subs > 0);
      const common = ["--server", "127.0.0.1", "--header", "Subject: via serve", "--body", "x"];
      const r1 = await swaks(
        "swaks",
        [...common, "--port", String(mx), "--from", "x@remote.example", "--to", "bob@example.com"],
        {
          timeout: 20_000,
        },
      );
      assert.match(r1.stdout, /<[-~] {2}250 2\.0\.0 OK/);
      const r2 = await swaks(
        "swaks",
        [
          ...common,
          "--port",
          String(subs),
          "-tlsc",
          "--auth",
          "LOGIN",
          "--auth-user",
          "alice@example.com",
          "--auth-password",
          "pw",
          "--from",
          "alice@example.com",
          "--to",
          "far@remote.example",
        ],
        { timeout: 20_000 },
      );
      assert.match(r2.stdout, /<[-~] {2}250 2\.0\.0 OK/);
      // relay attempt on MX
      const r3 = await swaks(
        "swaks",
        [...common, "--port", String(mx), "--from", "x@remote.example", "--to", "far@remote.example"],
        {
          timeout: 20_000,
        },
      ).catch((e: { stdout: string }) => e);
      assert.match(r3.stdout, /<[*]{2} +550 5\.7\.1 Relaying denied/);
    } finally {
      await server.stop();
    }
    const q = await run(["queue", "list", ...c]);
    assert.equal(q.code, 0);
    assert.match(q.stdout, /^1\tqueued\t0\t\d+\t<alice@example\.com>\tfar@remote\.example\t/);
    // save-sent was switched on in the previous test
    const store = await openStore({ dataDir: env.dataDir, feedSocketPath: null });
    try {
      const alice = (await store.getAccount("alice@example.com"))!;
      const sent = (await store.getMailbox(alice.id, "Sent"))!;
      assert.equal((await store.listMessages(sent.id)).length, 1);
    } finally {
      await store.close();
    }
  });

  it("serve --listen-smtp/--listen-submission/--listen-submissions override the config and env", async () => {
    // the environment says "no SMTP listeners"; the flags win (command line > env > file)
    const server = startServe(
      [
        ...c,
        "--log-level",
        "info",
        "--listen-smtp",
        "127.0.0.1:0",
        "--listen-submission",
        "127.0.0.1:0",
        "--listen-submissions",
        "127.0.0.1:0",
      ],
      {
        POSTKONTOR__SMTP__LISTEN: "[]",
        POSTKONTOR__SMTP__SUBMISSION: "[]",
        POSTKONTOR__SMTP__SUBMISSIONS: "[]",
      },
    );
    try {
      const mx = await listeningPort(server, "smtp");
      const sub = await listeningPort(server, "submission");
      const subs = await listeningPort(server, "submissions");
      assert.ok(mx > 0 && sub > 0 && subs > 0);
      const r = await swaks(
        "swaks",
        [
          "--server",
          "127.0.0.1",
          "--port",
          String(mx),
          "--from",
          "x@remote.example",
          "--to",
          "bob@example.com",
        ],
        { timeout: 20_000 },
      );
      assert.match(r.stdout, /<[-~] {2}250 2\.0\.0 OK/);
    } finally {
      await server.stop();
    }
    // without the flags the same environment starts no SMTP listener
    const none = startServe([...c, "--log-level", "info"], {
      POSTKONTOR__SMTP__LISTEN: "[]",
      POSTKONTOR__SMTP__SUBMISSION: "[]",
      POSTKONTOR__SMTP__SUBMISSIONS: "[]",
    });
    try {
      await none.waitForLog((l) => l.msg === "postkontor started");
      assert.ok(
        !none.logs.some((l) => typeof l.msg === "string" && /^(smtp|submissions?) listening/.test(l.msg)),
      );
    } finally {
      await none.stop();
    }
  });
});
