/**
 * The stalled-worker watchdog (server.worker_stall_s): a worker that blocks its event loop (test
 * hook: POSTKONTOR_TEST_HOOKS=1 and SIGUSR2) is logged, killed, replaced; its connections drop and
 * the server keeps serving on the other worker and the replacement.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineClient, listeningPort, startServe, tempEnv } from "./helpers.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function closedWithin(c: LineClient, timeoutMs: number): Promise<boolean> {
  return c.closedWithin(timeoutMs);
}

describe("serve: stalled worker watchdog", () => {
  it("kills a worker whose event loop is blocked, drops its connections and replaces it", async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\nworker_stall_s = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n`,
    );
    const server = startServe(["--config", env.config], { POSTKONTOR_TEST_HOOKS: "1" });
    const clients: LineClient[] = [];
    let victim = 0;
    try {
      const port = await listeningPort(server, "imap");
      await server.waitForLog((l) => l.msg === "postkontor started");
      const workerPids = server.logs.filter((l) => l.msg === "worker ready").map((l) => Number(l.workerPid));
      assert.equal(workerPids.length, 2);

      // connections until both workers hold some; ID tells which process serves which connection
      const pidOf = new Map<LineClient, number>();
      for (let i = 0; i < 12 && new Set(pidOf.values()).size < 2; i++) {
        const c = await LineClient.connect(port);
        clients.push(c);
        await c.waitFor(/^\* OK/);
        c.send(`i1 ID ("name" "conn-${i}")`);
        assert.match(await c.waitFor(/^i1 /), /^i1 OK/);
        const l = await server.waitForLog(
          (l) => l.msg === "imap client id" && (l.client as { name?: string })?.name === `conn-${i}`,
        );
        pidOf.set(c, Number(l.pid));
      }
      assert.equal(new Set(pidOf.values()).size, 2, "connections on both workers");
      victim = pidOf.get(clients[0]!)!;
      const survivor = workerPids.find((p) => p !== victim)!;
      assert.ok(workerPids.includes(victim));

      process.kill(victim, "SIGUSR2"); // test hook: blocks the worker's event loop
      await server.waitForLog((l) => l.msg === "test hook: blocking the event loop" && l.pid === victim);
      // connections made during the stall: the primary hands one to the blocked worker (it was
      // free), which never takes it; the others go to the survivor
      const during: LineClient[] = [];
      for (let i = 0; i < 3; i++) during.push(await LineClient.connect(port));
      clients.push(...during);
      const stall = await server.waitForLog(
        (l) => l.level === 50 && l.workerPid === victim && /stalled/.test(String(l.msg)),
        15_000,
      );
      assert.ok(Number(stall.silentMs) >= 2000, JSON.stringify(stall));
      const exit = await server.waitForLog(
        (l) => l.msg === "worker exited unexpectedly" && l.workerPid === victim,
      );
      assert.equal(exit.signal, "SIGKILL");
      assert.equal(exit.reason, "stalled");
      const replacement = await server.waitForLog(
        (l) => l.msg === "worker ready" && ![victim, survivor].includes(Number(l.workerPid)),
      );
      assert.ok(!alive(victim), "the stalled worker is gone");

      // the victim's connections were dropped; the survivor's still answer
      for (const [c, pid] of pidOf) {
        if (pid === victim) {
          assert.ok(await closedWithin(c, 5000), "a connection of the stalled worker was left open");
        } else {
          c.send("n1 NOOP");
          assert.match(await c.waitFor(/^n1 /), /^n1 OK/);
        }
      }
      // none of those hangs: each is served or closed (not kept open by the primary)
      let droppedDuring = 0;
      for (const c of during) {
        const greeted = c.waitFor(/^\* OK/, 5000).then(
          () => true,
          () => false,
        );
        if (!(await greeted)) {
          assert.ok(c.socket.destroyed, "a connection made during the stall hangs");
          droppedDuring++;
        }
      }
      assert.ok(droppedDuring < during.length, "the survivor served connections during the stall");
      // and the server keeps serving new connections (on the survivor and the replacement)
      for (let i = 0; i < 4; i++) {
        const c = await LineClient.connect(port);
        clients.push(c);
        await c.waitFor(/^\* OK/);
        c.send("n2 NOOP");
        assert.match(await c.waitFor(/^n2 /), /^n2 OK/);
      }
      assert.ok(Number(replacement.workerPid) > 0);
      // a one-off stall does not stop the server
      assert.ok(!server.logs.some((l) => l.msg === "shutting down"));
    } finally {
      for (const c of clients) c.close();
      const code = await server.stop();
      if (victim && alive(victim)) process.kill(victim, "SIGKILL"); // only if the watchdog failed
      assert.equal(code, 0, server.stderr());
    }
  });

  it("server.worker_stall_s = 0 turns the heartbeat and the watchdog off", async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\nworker_stall_s = 0\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n`,
    );
    const server = startServe(["--config", env.config], { POSTKONTOR_TEST_HOOKS: "1" });
    let victim = 0;
    try {
      await server.waitForLog((l) => l.msg === "postkontor started");
      victim = Number(server.logs.find((l) => l.msg === "worker ready")!.workerPid);
      process.kill(victim, "SIGUSR2");
      await server.waitForLog((l) => l.msg === "test hook: blocking the event loop" && l.pid === victim);
      await new Promise((r) => setTimeout(r, 2500));
      assert.ok(alive(victim), "the worker was killed although the watchdog is off");
      assert.ok(!server.logs.some((l) => /stalled/.test(String(l.msg))));
    } finally {
      if (victim && alive(victim)) process.kill(victim, "SIGKILL");
      await server.stop();
    }
  });
});
