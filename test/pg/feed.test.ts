// The LISTEN/NOTIFY feed: the port's contract (src/store/feed/contract.ts), then two "nodes" (two
// pools on one database): beacons cross without echo and in order, oversized METADATA names
// degrade, and a listener killed with pg_terminate_backend comes back and delivers a resync.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { beacon, feedContract, until } from "../../src/store/feed/contract.ts";
import type { Beacon } from "../../src/store/feed/port.ts";
import { MAX_PAYLOAD, PgFeed } from "../../src/store/feed/postgres.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { startTcpForwarder } from "../kit/tcp-forward.ts";

const skip = !postgresAvailable() && "PostgreSQL binaries missing";

describe("PostgreSQL feed adapter", { skip }, () => {
  let cluster: PgCluster;
  let url: string;
  const pools: pg.Pool[] = [];
  const node = (name: string) => {
    const p = new pg.Pool({ connectionString: url, max: 3, application_name: name });
    // terminated idle connections: the pool's owner listens (the server logs them)
    p.on("error", () => {});
    pools.push(p);
    return p;
  };
  before(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    // the columns the default catch-up reads (the db adapter owns the real tables)
    const p = node("setup");
    await p.query("CREATE TABLE account (id BIGINT PRIMARY KEY, modseq BIGINT NOT NULL)");
    await p.query(
      "CREATE TABLE mailbox (id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, highestmodseq BIGINT NOT NULL)",
    );
    await p.query("INSERT INTO account VALUES (1, 5), (2, 9)");
    await p.query("INSERT INTO mailbox VALUES (10, 1, 5), (11, 1, 3), (20, 2, 9)");
  });
  after(async () => {
    for (const p of pools) await p.end();
    await cluster?.stop();
  });

  feedContract("postgres", async (opts) => {
    const feed = new PgFeed(node("contract"), opts);
    await feed.ready();
    return feed;
  });

  test("two nodes: beacons cross once, in order, without echo; metadata beyond the payload limit degrades", async () => {
    const a = new PgFeed(node("a1"));
    const b = new PgFeed(node("b1"));
    await Promise.all([a.ready(), b.ready()]);
    assert.ok(a.connected && b.connected);
    const gotA: Beacon[] = [];
    const gotB: Beacon[] = [];
    a.subscribe(1, (x) => gotA.push(x));
    b.subscribe(1, (x) => gotB.push(x));
    b.subscribe(2, (x) => gotB.push(x));
    const sent = Array.from({ length: 50 }, (_, i) => beacon(1 + (i % 2), 10, 100 + i));
    for (const x of sent) a.publish(x);
    await until(() => gotB.length === sent.length);
    assert.deepEqual(gotB, sent, "every beacon, in publish order");
    const big: Beacon = {
      ...beacon(1, 10, 200),
      metadata: Array.from({ length: 400 }, (_, i) => `/private/entry${i}`),
    };
    assert.ok(JSON.stringify(big).length > MAX_PAYLOAD);
    b.publish(big);
    b.publish(beacon(1, 10, 201));
    await until(() => gotA.some((x) => x.modseq === "201"));
    assert.deepEqual(gotB.at(-2), big, "local subscribers get the full beacon");
    assert.deepEqual(
      gotA.filter((x) => x.modseq === "200"),
      [{ ...beacon(1, 10, 200), metadata: [] }],
      "another node gets 'some entries changed'",
    );
    // no echo: a's own 50 beacons reached a once each (locally), b's own two once each
    assert.equal(gotA.filter((x) => Number(x.modseq) < 200).length, 25);
    assert.equal(gotB.filter((x) => x.modseq === "201").length, 1);
    await Promise.all([a.close(), b.close()]);
  });

  test("listener terminated: reconnects, subscribers get the resync, then live beacons again", async () => {
    const a = new PgFeed(node("a2"));
    const b = new PgFeed(node("b2"));
    await Promise.all([a.ready(), b.ready()]);
    const gotB: Beacon[] = [];
    b.subscribe(1, (x) => gotB.push(x));
    const admin = node("admin");
    // a change whose beacon B never got (as if sent while B did not listen)
    await admin.query("UPDATE mailbox SET highestmodseq = 7 WHERE id = 10");
    await admin.query("UPDATE account SET modseq = 7 WHERE id = 1");
    assert.equal(b.resyncs, 0);
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'b2'",
    );
    assert.ok(killed.rows.length >= 1);
    await until(() => b.connected && b.resyncs === 1, 10_000);
    await until(() => gotB.some((x) => x.mailboxId === null));
    const resync = [...gotB];
    assert.ok(
      resync.some((x) => x.mailboxId === 10 && x.modseq === "7"),
      "the mailbox changed in the gap comes at its current modseq",
    );
    assert.ok(
      resync.some((x) => x.mailboxId === 11 && x.modseq === "3"),
      "every mailbox of the account",
    );
    assert.ok(
      resync.some((x) => x.mailboxId === null && x.modseq === "7"),
      "and the account",
    );
    assert.ok(!resync.some((x) => x.accountId === 2), "only subscribed accounts");
    gotB.length = 0;
    a.publish(beacon(1, 11, 8));
    await until(() => gotB.some((x) => x.modseq === "8"));
    assert.deepEqual(gotB, [beacon(1, 11, 8)]);
    await Promise.all([a.close(), b.close()]);
  });

  test("a listening connection that stops answering is found by the heartbeat, replaced, and resyncs", async () => {
    const fwd = await startTcpForwarder(cluster.port);
    const viaFwd = new URL(url);
    viaFwd.port = String(fwd.port);
    const p = new pg.Pool({ connectionString: viaFwd.toString(), max: 3 });
    p.on("error", () => {});
    const errors: unknown[] = [];
    const b = new PgFeed(p, { heartbeatMs: 100, onConnectionError: (e) => errors.push(e) });
    const a = new PgFeed(node("a4"));
    try {
      await Promise.all([a.ready(), b.ready()]);
      const gotB: Beacon[] = [];
      b.subscribe(2, (x) => gotB.push(x));
      a.publish(beacon(2, 20, 40));
      await until(() => gotB.length === 1);
      fwd.freeze(); // the partition: the listener's socket stays open, nothing arrives
      await until(() => b.resyncs === 1, 10_000);
      assert.ok(
        errors.some((e) => /unresponsive/.test(String(e))),
        String(errors),
      );
      await until(() => gotB.some((x) => x.mailboxId === 20 && x.modseq === "9"));
      a.publish(beacon(2, 20, 41));
      await until(() => gotB.some((x) => x.modseq === "41"));
    } finally {
      await Promise.all([a.close(), b.close()]);
      await p.end();
      await fwd.close();
    }
  });

  test("publishing node's pool connections terminated: beacons published afterwards still arrive, in order", async () => {
    const a = new PgFeed(node("a3"));
    const b = new PgFeed(node("b3"));
    await Promise.all([a.ready(), b.ready()]);
    const gotB: Beacon[] = [];
    b.subscribe(1, (x) => gotB.push(x));
    a.publish(beacon(1, 10, 30));
    await until(() => gotB.length === 1);
    await node("admin3").query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'a3'",
    );
    for (let i = 31; i < 36; i++) a.publish(beacon(1, 10, i));
    await until(() => gotB.length === 6, 10_000);
    assert.deepEqual(
      gotB.map((x) => x.modseq),
      ["30", "31", "32", "33", "34", "35"],
    );
    await Promise.all([a.close(), b.close()]);
  });
});
