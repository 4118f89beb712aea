/**
 * Server-wide limits with a real `serve` of 2 workers (issue 9): login throttling and connection
 * limits are counted once for the whole server, not once per worker process. Each test checks
 * through the logged pids that the connections landed on both workers, so it cannot pass with
 * counts kept per worker.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { LineClient, listeningPort, run, type Server, startServe, tempEnv } from "./helpers.ts";

/** An IMAP/SMTP/POP3 line client from a chosen loopback source address. */
function connectFrom(port: number, localAddress = "127.0.0.1"): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", localAddress }, () => resolve(new LineClient(s)));
    s.on("error", reject);
  });
}

function closed(c: LineClient): Promise<void> {
  return new Promise((resolve) => {
    if (c.socket.destroyed || c.socket.readyState === "closed") return resolve();
    c.socket.once("close", () => resolve());
  });
}

/** log lines with this message so far */
const logsOf = (server: Server, msg: string) => server.logs.filter((l) => l.msg === msg);

/** waits until at least n log lines with this message are in */
async function waitForCount(server: Server, msg: string, n: number, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (logsOf(server, msg).length < n) {
    if (Date.now() > deadline)
      throw new Error(`expected ${n} "${msg}" lines; logs: ${JSON.stringify(server.logs)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return logsOf(server, msg);
}

const pids = (lines: Array<Record<string, unknown>>) => new Set(lines.map((l) => Number(l.pid)));

/** one IMAP LOGIN on a fresh connection; returns the tagged answer */
async function imapLogin(port: number, user: string, pass: string, from = "127.0.0.1"): Promise<string> {
  const c = await connectFrom(port, from);
  try {
    await c.waitFor(/^\* OK/);
    c.send(`a LOGIN ${user} ${pass}`);
    return await c.waitFor(/^a /, 20_000);
  } finally {
    c.close();
  }
}

describe("serve with 2 workers: login throttling counted for the whole server", () => {
  const N = 4; // auth.max_failures_per_user
  let server: Server;
  let port: number;
  before(async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n` +
        `[auth]\nfailure_delay = 0\nmax_failures_per_user = ${N}\nmax_failures_per_ip = 50\nmax_user_delay = "1s"\n` +
        `[log]\nlevel = "info"\n`,
    );
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    assert.equal((await run(["user", "add", "alice@example.com", ...c], { input: "pw1\n" })).code, 0);
    assert.equal((await run(["user", "add", "carol@example.com", ...c], { input: "pw3\n" })).code, 0);
    server = startServe(c);
    port = await listeningPort(server, "imap");
    await server.waitForLog((l) => l.msg === "postkontor started");
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr());
  });

  it(`${N} failures spread over both workers lock that IP out for the user at attempt ${N + 1}`, async () => {
    for (let i = 0; i < N; i++) {
      assert.match(await imapLogin(port, "alice@example.com", `wrong${i}`), /^a NO \[AUTHENTICATIONFAILED\]/);
    }
    const failures = (await waitForCount(server, "imap login failed", N)).filter(
      (l) => l.user === "alice@example.com",
    );
    assert.equal(failures.length, N);
    // both workers answered some: neither saw N failures by itself
    assert.equal(pids(failures).size, 2, JSON.stringify(failures));
    // attempt N+1, right password, same IP: refused (whichever worker takes it)
    assert.match(await imapLogin(port, "alice@example.com", "pw1"), /^a NO \[AUTHENTICATIONFAILED\]/);
    assert.ok(
      server.logs.some((l) => l.msg === "login throttled after repeated failures" && l.by === "ip+user"),
      "lockout logged",
    );
    // the owner on another address still gets in: delayed (failures from elsewhere), not refused
    const t0 = Date.now();
    assert.match(await imapLogin(port, "alice@example.com", "pw1", "127.0.0.2"), /^a OK/);
    assert.ok(Date.now() - t0 >= 150, "answered after the per-username delay");
  });

  it("a wrong-password flood from 127.0.0.1 does not lock the user out on 127.0.0.2", async () => {
    // flood connections on both workers: cluster's round-robin does not promise alternation, so
    // each new connection's first wrong LOGIN shows (logged pid) which worker took it
    const flooders: LineClient[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < 24 && (flooders.length < 6 || seen.size < 2); i++) {
      const c = await connectFrom(port, "127.0.0.1");
      await c.waitFor(/^\* OK/);
      const before = logsOf(server, "imap login failed").length;
      c.send(`p LOGIN carol@example.com probe-${i}`);
      await c.waitFor(/^p /, 20_000);
      const lines = await waitForCount(server, "imap login failed", before + 1);
      seen.add(Number(lines[lines.length - 1]!.pid));
      flooders.push(c);
    }
    assert.equal(seen.size, 2, "flood connections on both workers");
    let stop = false;
    const answers: string[] = [];
    const flood = Promise.all(
      flooders.map(async (c, i) => {
        for (let k = 0; !stop && k < 200; k++) {
          c.send(`f${k} LOGIN carol@example.com bad-${i}-${k}`);
          answers.push(await c.waitFor(new RegExp(`^f${k} `), 20_000));
        }
      }),
    );
    try {
      // the flood got 127.0.0.1 locked out for carol
      await server.waitForLog(
        (l) => l.msg === "login throttled after repeated failures" && l.user === "carol@example.com",
      );
      for (let i = 0; answers.length < 20; i++) {
        assert.ok(i < 1000, `the flood stalled after ${answers.length} answers`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const carolFailures = logsOf(server, "imap login failed").filter((l) => l.user === "carol@example.com");
      assert.equal(pids(carolFailures).size, 2, "flood answered by both workers");
      assert.match(await imapLogin(port, "carol@example.com", "pw3", "127.0.0.2"), /^a OK/);
    } finally {
      stop = true;
      await flood;
      for (const c of flooders) c.close();
    }
    assert.ok(answers.length >= 20);
    assert.ok(
      answers.every((a) => /^f\d+ NO \[AUTHENTICATIONFAILED\]/.test(a)),
      answers.find((a) => !/NO/.test(a)),
    );
    // 127.0.0.1 is still refused for carol, even with her password
    assert.match(await imapLogin(port, "carol@example.com", "pw3"), /^a NO/);
  });
});

describe("serve with 2 workers: connection limits counted for the whole server", () => {
  let server: Server;
  let imap: number;
  let smtp: number;
  let pop3: number;
  before(async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n` +
        `[imap.limits]\nmax_connections_per_ip = 3\nmax_connections_per_user = 2\n` +
        `[smtp.limits]\nmax_connections_per_ip = 2\n[pop3.limits]\nmax_connections_per_ip = 2\n[auth]\nfailure_delay = 0\n[log]\nlevel = "info"\n`,
    );
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    assert.equal((await run(["user", "add", "alice@example.com", ...c], { input: "pw1\n" })).code, 0);
    server = startServe(c);
    imap = await listeningPort(server, "imap");
    smtp = await listeningPort(server, "smtp");
    pop3 = await listeningPort(server, "pop3");
    await server.waitForLog((l) => l.msg === "postkontor started");
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr());
  });

  it("IMAP sessions per user: the 3rd login is NO [LIMIT] although the 2 others are on different workers", async () => {
    const cs: LineClient[] = [];
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await connectFrom(imap, "127.0.0.2");
      await c.waitFor(/^\* OK/);
      c.send("u LOGIN alice@example.com pw1");
      answers.push(await c.waitFor(/^u /));
      cs.push(c);
    }
    const logins = await waitForCount(server, "imap login", 2);
    try {
      assert.match(answers[0]!, /^u OK/);
      assert.match(answers[1]!, /^u OK/);
      assert.equal(pids(logins).size, 2, "one session on each worker");
      assert.match(answers[2]!, /^u NO \[LIMIT\]/);
    } finally {
      for (const c of cs) c.close();
      await Promise.all(cs.map(closed));
    }
  });

  it("IMAP connections per IP hold over both workers, and a worker that dies gives its count back", async () => {
    // three connections from 127.0.0.1; a failed LOGIN tells which worker each one is on
    const held: LineClient[] = [];
    const pidOf: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await connectFrom(imap);
      await c.waitFor(/^\* OK/);
      c.send(`p LOGIN probe${i} x`);
      await c.waitFor(/^p NO/);
      const line = await server.waitForLog((l) => l.msg === "imap login failed" && l.user === `probe${i}`);
      pidOf.push(Number(line.pid));
      held.push(c);
    }
    // four more are refused, by both workers: a worker holding fewer than 3 itself refuses too
    for (let i = 0; i < 4; i++) {
      const c = await connectFrom(imap);
      assert.match(await c.waitFor(/^\* /), /^\* BYE \[UNAVAILABLE\]/);
      c.close();
    }
    const refusals = await waitForCount(server, "imap connection refused: per-IP limit", 4);
    assert.equal(pids(refusals).size, 2, JSON.stringify(refusals));

    // kill the worker holding most of the three
    const perPid = new Map<number, number>();
    for (const p of pidOf) perPid.set(p, (perPid.get(p) ?? 0) + 1);
    const [victim, k] = [...perPid.entries()].sort((a, b) => b[1] - a[1])[0]!;
    assert.ok(k >= 2);
    process.kill(victim, "SIGKILL");
    await Promise.all(held.filter((_, i) => pidOf[i] === victim).map(closed));
    const released = await server.waitForLog(
      (l) => l.msg === "released the connection slots of an exited worker",
    );
    assert.equal(released.connections, k, "the primary dropped exactly the dead worker's slots");
    // exactly k new connections fit again, the next is refused
    const fresh: LineClient[] = [];
    for (let i = 0; i < k; i++) {
      const c = await connectFrom(imap);
      assert.match(await c.waitFor(/^\* /), /^\* OK/);
      fresh.push(c);
    }
    const extra = await connectFrom(imap);
    assert.match(await extra.waitFor(/^\* /), /^\* BYE \[UNAVAILABLE\]/);
    extra.close();
    for (const c of [...held, ...fresh]) c.close();
    // the replacement worker is up before the next test (which needs both)
    await server.waitForLog(
      (l) => l.msg === "worker ready" && Number(l.workerPid) !== victim && l.worker === 3,
    );
  });

  it("SMTP connections per IP hold over both workers (421 beyond the limit)", async () => {
    const held: LineClient[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await connectFrom(smtp);
      assert.match(await c.waitFor(/^\d{3}[ -]/), /^220[ -]/);
      held.push(c);
    }
    for (let i = 0; i < 4; i++) {
      const c = await connectFrom(smtp);
      assert.match(await c.waitFor(/^\d{3} /), /^421 /);
      c.close();
    }
    const refusals = await waitForCount(server, "smtp per-IP connection limit reached", 4);
    assert.equal(pids(refusals).size, 2, "refused by both workers");
    for (const c of held) c.close();
    await Promise.all(held.map(closed));
    // released on close: new connections fit again
    await new Promise((r) => setTimeout(r, 100));
    const again = await connectFrom(smtp);
    assert.match(await again.waitFor(/^\d{3}[ -]/), /^220[ -]/);
    again.close();
  });

  it("POP3 connections per IP hold over both workers (-ERR [SYS/TEMP] beyond the limit)", async () => {
    const held: LineClient[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await connectFrom(pop3);
      assert.match(await c.waitFor(/^[+-]/), /^\+OK/);
      held.push(c);
    }
    for (let i = 0; i < 4; i++) {
      const c = await connectFrom(pop3);
      assert.match(await c.waitFor(/^[+-]/), /^-ERR \[SYS\/TEMP\]/);
      c.close();
    }
    const refusals = await waitForCount(server, "pop3 connection refused: per-IP limit", 4);
    assert.equal(pids(refusals).size, 2, "refused by both workers");
    for (const c of held) c.close();
  });
});
