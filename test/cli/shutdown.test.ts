/**
 * Shutdown: SIGTERM says goodbye to every connected client at once (IMAP `* BYE`, IDLE included;
 * POP3 `-ERR`; SMTP `421 4.3.2`) and the server exits promptly, well before
 * server.shutdown_timeout; and the README's `npm start` stops with the SIGTERM sent to npm.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  cleanEnv,
  LineClient,
  listeningPort,
  run,
  type Server,
  startServe,
  tempEnv,
  watchServer,
} from "./helpers.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** a client that keeps its side of the connection open after the server's FIN (allowHalfOpen) */
function stubbornClient(port: number): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => resolve(new LineClient(s)));
    s.on("error", reject);
  });
}

function closed(c: LineClient, timeoutMs: number): Promise<boolean> {
  return c.closedWithin(timeoutMs);
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.on("error", () => resolve(true));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

for (const workers of [1, 2]) {
  describe(`serve with workers = ${workers}: SIGTERM`, () => {
    it("sends BYE (IDLE too), -ERR and 421 at once and exits well before shutdown_timeout", async () => {
      // a long shutdown_timeout: waiting for it instead of closing would show as a slow exit
      const env = tempEnv(
        `[server]\nworkers = ${workers}\nshutdown_timeout = "30s"\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[auth]\nfailure_delay = 0\n`,
      );
      const c = ["--config", env.config];
      assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
      assert.equal((await run(["user", "add", "alice@example.com", ...c], { input: "pw1\n" })).code, 0);
      assert.equal((await run(["user", "add", "bob@example.com", ...c], { input: "pw2\n" })).code, 0);
      const server = startServe(c);
      const clients: LineClient[] = [];
      try {
        const imapPort = await listeningPort(server, "imap");
        const pop3Port = await listeningPort(server, "pop3");
        const smtpPort = await listeningPort(server, "smtp");
        await server.waitForLog((l) => l.msg === "postkontor started");

        // two IMAP sessions in IDLE (one on each worker, usually), one not logged in
        const idlers: LineClient[] = [];
        for (let i = 0; i < 2; i++) {
          const imap = await LineClient.connect(imapPort);
          clients.push(imap);
          await imap.waitFor(/^\* OK/);
          imap.send("a1 LOGIN alice@example.com pw1");
          assert.match(await imap.waitFor(/^a1 /), /^a1 OK/);
          imap.send("a2 SELECT INBOX");
          assert.match(await imap.waitFor(/^a2 /), /^a2 OK/);
          imap.send("a3 IDLE");
          await imap.waitFor(/^\+ /);
          idlers.push(imap);
        }
        const unauth = await LineClient.connect(imapPort);
        clients.push(unauth);
        await unauth.waitFor(/^\* OK/);
        // one that never closes its side after the server's FIN
        const stubborn = await stubbornClient(imapPort);
        clients.push(stubborn);
        await stubborn.waitFor(/^\* OK/);

        const pop3 = await LineClient.connect(pop3Port);
        clients.push(pop3);
        await pop3.waitFor(/^\+OK/);
        pop3.send("USER bob@example.com");
        await pop3.waitFor(/^\+OK/);
        pop3.send("PASS pw2");
        assert.match(await pop3.waitFor(/^[+-]/), /^\+OK/);

        const smtp = await LineClient.connect(smtpPort);
        clients.push(smtp);
        await smtp.waitFor(/^220 /);
        smtp.send("EHLO client.test");
        await smtp.waitFor(/^250 /);

        const t0 = Date.now();
        const exited = server.stop(40_000);
        for (const imap of idlers) assert.match(await imap.waitFor(/^\* BYE/, 5000), /UNAVAILABLE/);
        await unauth.waitFor(/^\* BYE/, 5000);
        await stubborn.waitFor(/^\* BYE/, 5000);
        assert.match(await pop3.waitFor(/^-ERR/, 5000), /^-ERR /);
        assert.match(await smtp.waitFor(/^421 /, 5000), /^421 4\.3\.2 /);
        const code = await exited;
        const took = Date.now() - t0;
        assert.equal(code, 0, server.stderr());
        assert.ok(took < 5000, `exit took ${took} ms (shutdown_timeout is 30 s)`);
        // every connection is closed by the server; the stubborn client got the FIN (its own side
        // stays open until it writes: the server's socket is gone with the process)
        for (const cl of clients) {
          if (cl === stubborn) assert.ok(cl.socket.readableEnded, "no FIN for the stubborn client");
          else assert.ok(await closed(cl, 2000), "a connection was left open");
        }
        assert.ok(await portClosed(imapPort));
      } finally {
        for (const cl of clients) cl.close();
        if (server.child.exitCode === null) await server.stop();
      }
    });
  });
}

/** `npm start` as the README says, configured through $POSTKONTOR_CONFIG; stdout parsed for the log. */
function npmStart(config: string): Server {
  const child = spawn("npm", ["start"], {
    cwd: REPO,
    env: cleanEnv({
      POSTKONTOR_CONFIG: config,
      POSTKONTOR__POP3__LISTEN: "127.0.0.1:0",
      POSTKONTOR__POP3__LISTEN_TLS: "[]",
      POSTKONTOR__SMTP__LISTEN: "127.0.0.1:0",
      POSTKONTOR__SMTP__SUBMISSION: "[]",
      POSTKONTOR__SMTP__SUBMISSIONS: "[]",
    }),
    stdio: "pipe",
  });
  return watchServer(child);
}

describe("npm start", () => {
  it("stops the server (primary and workers) when npm gets SIGTERM, and frees the ports", async () => {
    const env = tempEnv(`[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n`);
    const npm = npmStart(env.config);
    const pids: number[] = [];
    try {
      const port = await listeningPort(npm, "imap");
      const started = await npm.waitForLog((l) => l.msg === "postkontor started", 30_000);
      const primary = Number(started.pid);
      assert.ok(primary > 0 && primary !== npm.child.pid, "the server runs as npm's child");
      pids.push(primary, ...npm.logs.filter((l) => l.msg === "worker ready").map((l) => Number(l.workerPid)));
      assert.equal(pids.length, 3);
      const greeting = await LineClient.connect(port);
      await greeting.waitFor(/^\* OK/);
      greeting.close();

      npm.child.kill("SIGTERM"); // the npm process only, as a service manager or `kill <pid>` does
      const code = await new Promise<number | null>((resolve) => {
        if (npm.child.exitCode !== null) resolve(npm.child.exitCode);
        else npm.child.once("exit", (c) => resolve(c));
      });
      for (const pid of pids) assert.ok(await waitGone(pid, 10_000), `server process ${pid} still running`);
      assert.ok(await portClosed(port), "the IMAP port is still open");
      assert.ok(
        npm.logs.some((l) => l.msg === "stopped" && l.pid === primary),
        `the server did not shut down gracefully: ${JSON.stringify(npm.logs.slice(-5))}`,
      );
      assert.ok(code !== null, "npm exited");
    } finally {
      // never leave a server behind (a failed run of this test would otherwise keep the ports)
      for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
      if (npm.child.exitCode === null) npm.child.kill("SIGKILL");
    }
  });
});
