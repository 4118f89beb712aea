/**
 * Cluster listeners on a fixed port (server.reuse_port, docs/architecture.md "Process model"):
 * each worker binds the port itself with SO_REUSEPORT and the primary holds no socket on it; a
 * replaced worker binds it again; a second server on the same port still stops with EADDRINUSE;
 * reuse_port = false keeps the primary accepting. Sockets are found through /proc (Linux).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { describe, it } from "node:test";
import { freeFixedPort } from "../kit/listen.ts";
import { LineClient, type Server, startServe, tempEnv } from "./helpers.ts";

/** inodes of the sockets listening on 127.0.0.1:port */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    // sl local_address rem_address st … inode (RFC-less /proc format: see proc(5))
    if (cols.length < 10) continue;
    if (cols[3] === "0A" && Number.parseInt(cols[1]!.split(":")[1]!, 16) === port) inodes.add(cols[9]!);
  }
  return inodes;
}

/** how many of those sockets each pid has open */
function listenersOf(pids: number[], port: number): number[] {
  const inodes = listeningInodes(port);
  return pids.map((pid) => {
    let n = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target = "";
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) n++;
    }
    return n;
  });
}

function workerPids(server: Server): number[] {
  return server.logs.filter((l) => l.msg === "worker ready").map((l) => Number(l.workerPid));
}

async function greeted(port: number, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const c = await LineClient.connect(port);
    assert.match(await c.waitFor(/^\* /), /^\* OK/);
    c.close();
  }
}

function serveImapOn(port: number, toml: string): Server {
  const env = tempEnv(toml);
  return startServe(["--config", env.config], {
    POSTKONTOR__IMAP__LISTEN: `127.0.0.1:${port}`,
    POSTKONTOR__IMAP__LISTEN_TLS: "[]",
  });
}

describe("cluster listeners on a fixed port", { skip: process.platform !== "linux" }, () => {
  it("every worker binds it (SO_REUSEPORT), a replacement too; a second server on it stops with EADDRINUSE", async () => {
    const port = await freeFixedPort();
    const server = serveImapOn(port, "[server]\nworkers = 2\n");
    try {
      await server.waitForLog((l) => l.msg === "postkontor started");
      const [w1, w2] = workerPids(server);
      assert.deepEqual(listenersOf([server.child.pid!, w1!, w2!], port), [0, 1, 1]);
      await greeted(port, 8);

      process.kill(w1!, "SIGKILL");
      await server.waitForLog(
        (l) => l.msg === "worker ready" && Number(l.workerPid) !== w1 && Number(l.workerPid) !== w2,
      );
      const w3 = workerPids(server).at(-1)!;
      assert.deepEqual(listenersOf([server.child.pid!, w2!, w3], port), [0, 1, 1]);
      await greeted(port, 8);

      // the same port in a second server (SO_REUSEPORT alone would let it share the port)
      const second = serveImapOn(port, "[server]\nworkers = 2\n");
      const outcome = await Promise.race([
        new Promise<string>((resolve) => second.child.on("exit", (code) => resolve(`exit ${code}`))),
        second
          .waitForLog((l) => l.msg === "postkontor started", 60_000)
          .then(
            () => "started",
            () => "neither started nor stopped",
          ),
      ]);
      if (outcome === "started") await second.stop();
      assert.equal(outcome, "exit 1");
      assert.ok(
        second.logs.some((l) => /EADDRINUSE/.test(JSON.stringify(l))),
        JSON.stringify(second.logs),
      );
      assert.equal(second.logs.filter((l) => l.msg === "worker ready").length, 0, "no worker started");
      await greeted(port, 2);
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });

  it("reuse_port = false: the primary holds the socket and hands connections over", async () => {
    const port = await freeFixedPort();
    const server = serveImapOn(port, "[server]\nworkers = 2\nreuse_port = false\n");
    try {
      await server.waitForLog((l) => l.msg === "postkontor started");
      const [w1, w2] = workerPids(server);
      assert.deepEqual(listenersOf([server.child.pid!, w1!, w2!], port), [1, 0, 0]);
      await greeted(port, 4);
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });
});
