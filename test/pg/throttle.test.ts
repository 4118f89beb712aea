// Login throttling shared by the nodes of a PostgreSQL store: two authenticators, each on its own
// store and its own counters pool (two nodes) over one database. Failures counted on node A
// refuse or delay logins on node B.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { createAuthenticator } from "../../src/auth/index.ts";
import type { ThrottleOptions } from "../../src/auth/throttle.ts";
import { sharedThrottle } from "../../src/auth/throttle-shared.ts";
import { PgCounters } from "../../src/store/counters/postgres.ts";
import { openPool } from "../../src/store/db/postgres/pg.ts";
import { openPostgresStore } from "../../src/store/postgres.ts";
import type { Store } from "../../src/store/types.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
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
});
