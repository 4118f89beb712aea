// Login throttling shared by the nodes of a PostgreSQL store: two authenticators, each on its own
// store and its own counters pool (two nodes) over one database. Failures counted on node A
// refuse or delay logins on node B.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { createAuthenticator } from "../../src/auth/index.ts";
import type { ThrottleOptions } from "../../src/auth/throttle.ts";
import { sharedThrottle } from "../../src/auth/throttle-shared.ts";
import { PgCounters } from "../../src/store/counters/postgres.ts";
import { openPool } from "../../src/store/db/postgres/pg.ts";
import { openPostgresStore } from "../../src/store/postgres.ts";
import type { Store } from "../../src/store/types.ts";
import { ImapClient } from "../kit/imap-client.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { runCli } from "../kit/process.ts";
import { listeningPort, type Server, startServe, writeServeConfig } from "../kit/serve.ts";
import { tempDir } from "../kit/temp.ts";

const ALICE = "alice@example.com";

interface Node {
  store: Store;
  pool: pg.Pool;
  delays: number[];
  login(user: string, password: string, ip: string): Promise<boolean>;
  close(): Promise<void>;
}

describe("login throttling across nodes", {
  skip: !postgresAvailable() && "PostgreSQL binaries missing",
}, () => {
  let cluster: PgCluster;
  const t = tempDir("pk-pg-throttle-");
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
    t.cleanup();
  });

  async function node(url: string, opts: ThrottleOptions): Promise<Node> {
    const store = await openPostgresStore({ url, dataDir: t.dir, poolSize: 2, pruneDelayMs: null });
    const pool = openPool(url, 2);
    const delays: number[] = [];
    const errors: unknown[] = [];
    const auth = createAuthenticator(store, {
      cacheTtlMs: 0,
      failureDelayMs: 0,
      ...opts,
      throttle: sharedThrottle(new PgCounters(pool), opts, (e) => errors.push(e)),
      sleep: async (ms) => void delays.push(ms),
    });
    return {
      store,
      pool,
      delays,
      async login(user, password, ip) {
        const a = await auth.verifyPassword(user, password, { protocol: "imap", remoteAddress: ip });
        assert.deepEqual(errors, []);
        return a !== null;
      },
      async close() {
        await store.close();
        await pool.end();
      },
    };
  }

  async function twoNodes(opts: ThrottleOptions): Promise<[Node, Node]> {
    const url = await cluster.createDatabase();
    const a = await node(url, opts);
    const b = await node(url, opts);
    await a.store.addDomain("example.com");
    await a.store.createAccount(ALICE, "{PLAIN}right");
    return [a, b];
  }

  const base: ThrottleOptions = {
    maxFailuresPerIp: 0,
    maxFailuresPerUser: 0,
    failureWindowMs: 600_000,
    lockoutMs: 600_000,
    maxUserDelayMs: 0,
  };

  it("an IP locked out on node A is refused on node B", async () => {
    const [a, b] = await twoNodes({ ...base, maxFailuresPerIp: 3 });
    try {
      assert.ok(await b.login(ALICE, "right", "192.0.2.7"), "not locked before the failures");
      for (const u of ["x@example.com", "y@example.com", ALICE])
        assert.equal(await a.login(u, "wrong", "192.0.2.7"), false);
      assert.equal(await b.login(ALICE, "right", "192.0.2.7"), false, "node B refuses the locked IP");
      assert.equal(await a.login(ALICE, "right", "192.0.2.7"), false);
      assert.ok(await b.login(ALICE, "right", "198.51.100.1"), "another IP still logs in");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("per IP + username lockout and the per-username delay hold across nodes", async () => {
    const [a, b] = await twoNodes({ ...base, maxFailuresPerUser: 2, maxUserDelayMs: 10_000 });
    try {
      // two failures from one IP on node A: that IP + username is locked
      assert.equal(await a.login(ALICE, "wrong", "192.0.2.1"), false);
      assert.equal(await a.login(ALICE, "wrong", "192.0.2.1"), false);
      assert.equal(await b.login(ALICE, "right", "192.0.2.1"), false, "locked pair refused on B");
      // the username reached the threshold over all IPs: node B delays it from any address
      b.delays.length = 0;
      assert.ok(await b.login(ALICE, "right", "203.0.113.5"));
      assert.deepEqual(b.delays, [200]);
      // one more failure elsewhere doubles the delay, seen by node A
      assert.equal(await b.login(ALICE, "wrong", "203.0.113.6"), false);
      a.delays.length = 0;
      assert.ok(await a.login(ALICE, "right", "203.0.113.5"));
      assert.deepEqual(a.delays, [400]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a success clears the IP + username counter for every node", async () => {
    const [a, b] = await twoNodes({ ...base, maxFailuresPerUser: 2 });
    try {
      assert.equal(await a.login(ALICE, "wrong", "192.0.2.9"), false);
      assert.ok(await b.login(ALICE, "right", "192.0.2.9"));
      // succeed() clears without waiting: wait until the row is gone
      for (let i = 0; i < 100; i++) {
        const r = await a.pool.query("SELECT 1 FROM shared_counter WHERE key LIKE 'pair:%'");
        if (r.rows.length === 0) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(await a.login(ALICE, "wrong", "192.0.2.9"), false);
      assert.ok(await a.login(ALICE, "right", "192.0.2.9"), "one failure after the clear: not locked");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("two serve processes on one database: IMAP failures on node A lock the IP out on node B", async () => {
    const url = await cluster.createDatabase();
    const servers: Server[] = [];
    try {
      const configs = ["a", "b"].map((n) => {
        mkdirSync(join(t.dir, n), { recursive: true });
        return writeServeConfig(join(t.dir, n), {
          pop3: false,
          http: false,
          extraToml:
            `[store]\nbackend = "postgres"\nurl = ${JSON.stringify(url)}\npool_size = 3\n` +
            "[auth]\nmin_password_length = 0\nfailure_delay = 0\nmax_failures_per_ip = 2\nmax_failures_per_user = 0\n",
        });
      });
      const ports: number[] = [];
      for (const c of configs) {
        const s = startServe(["--config", c]);
        servers.push(s);
        ports.push(await listeningPort(s, "imap"));
      }
      assert.equal((await runCli(["domain", "add", "example.com", "--config", configs[0]!])).code, 0);
      const add = await runCli(["user", "add", ALICE, "--config", configs[0]!], { input: "right\n" });
      assert.equal(add.code, 0, add.stderr);
      const login = async (port: number, pw: string) => {
        const c = await ImapClient.connect(port);
        try {
          return (await c.cmd(`LOGIN ${ALICE} ${pw}`)).ok;
        } finally {
          c.destroy();
        }
      };
      assert.ok(await login(ports[1]!, "right"), "node B: not locked yet");
      assert.equal(await login(ports[0]!, "wrong"), false);
      assert.equal(await login(ports[0]!, "wrong"), false);
      assert.equal(await login(ports[1]!, "right"), false, "node B refuses the IP locked on node A");
    } finally {
      for (const s of servers) await s.stop();
    }
  });
});
