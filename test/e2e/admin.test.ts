/**
 * End to end: admin commands run (as separate CLI processes) while `serve` runs with two workers,
 * and the running server sees their effect at once (issue 2, scope 2) — including the per-process
 * login cache (docs/architecture.md: "a password change invalidates at once"), checked on BOTH workers: the
 * serving pid of every login attempt is read from the server's `imap client id` log line.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DOMAIN, type E2E, message, PASS_A, run, startE2E, tryLogin, USER_A } from "./helpers.ts";

describe("e2e: admin commands against a running server (workers = 2)", () => {
  let e: E2E;
  before(async () => {
    e = await startE2E({ workers: 2 });
  });
  after(async () => {
    await e?.close();
  });

  /** login attempts until both workers answered (bounded); every attempt must give `expect` */
  const loginOnBothWorkers = async (user: string, pass: string, expect: boolean) => {
    const pids = new Set<number>();
    for (let i = 0; i < 8 && pids.size < 2; i++) {
      const r = await tryLogin(e, user, pass);
      assert.equal(
        r.ok,
        expect,
        `login ${user} on worker ${r.pid}: expected ${expect ? "success" : "failure"}`,
      );
      pids.add(r.pid);
    }
    assert.equal(pids.size, 2, "attempts reached both workers");
  };

  it("a user added while the server runs can log in at once, on every worker", async () => {
    const r = await e.cli(["user", "add", `c@${DOMAIN}`], "c-pass\nc-pass\n");
    assert.equal(r.code, 0, r.stderr);
    await loginOnBothWorkers(`c@${DOMAIN}`, "c-pass", true);
  });

  it("user passwd: the old password stops working at once on every worker (login cache invalidated)", async () => {
    // warm the login cache of both workers with the current password
    await loginOnBothWorkers(`c@${DOMAIN}`, "c-pass", true);
    const r = await e.cli(["user", "passwd", `c@${DOMAIN}`], "c-new\nc-new\n");
    assert.equal(r.code, 0, r.stderr);
    await loginOnBothWorkers(`c@${DOMAIN}`, "c-pass", false);
    await loginOnBothWorkers(`c@${DOMAIN}`, "c-new", true);
  });

  it("user del: the account cannot log in any more", async () => {
    const r = await e.cli(["user", "del", `c@${DOMAIN}`]);
    assert.equal(r.code, 0, r.stderr);
    await loginOnBothWorkers(`c@${DOMAIN}`, "c-new", false);
  });

  it("deliver to an unknown address exits 67 (EX_NOUSER) and stores nothing", async () => {
    const r = await e.cli(["deliver", `nobody@${DOMAIN}`], message("lost"));
    assert.equal(r.code, 67, r.stderr);
    assert.match(r.stderr, /nobody@/);
    // the hosted account still has an empty INBOX (curl: EXAMINE over implicit TLS)
    const out = await run(
      "/usr/bin/curl",
      [
        "-sS",
        "-k",
        "--user",
        `${USER_A}:${PASS_A}`,
        "-X",
        "EXAMINE INBOX",
        `imaps://127.0.0.1:${e.server.imapsPort}/`,
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout.toString(), /^\* 0 EXISTS\r?$/m);
  });
});
