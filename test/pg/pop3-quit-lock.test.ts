/**
 * POP3 QUIT and the maildrop lock (RFC 1939 §6, §8; RFC 2449 §8.1.2 [IN-USE]): the UPDATE state
 * ends the session, so once QUIT's +OK is on the wire the lock is gone — a client that logs in
 * again at that moment is let in, never refused with [IN-USE]. On PostgreSQL the lease is a row
 * (locks/postgres.ts) and its release a database round trip; on SQLite the same test, for symmetry.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openPostgresStore } from "../../src/store/postgres.ts";
import type { Store } from "../../src/store/types.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { PASS, seed, startServer, type TestServer, USER } from "../pop3/helpers.ts";

const ROUNDS = 15;

/** logs in right after each QUIT +OK, on a second connection that already sent USER */
async function reconnectAfterQuit(t: TestServer): Promise<void> {
  await seed(t, ROUNDS + 1);
  let a = await t.login();
  for (let i = 0; i < ROUNDS; i++) {
    const b = await t.connect();
    assert.match(await b.cmd(`USER ${USER}`), /^\+OK/);
    // the UPDATE state has work to do: one message deleted
    assert.match(await a.cmd("DELE 1"), /^\+OK/);
    assert.match(await a.cmd("QUIT"), /^\+OK Bye, 1 message deleted/);
    // sent the moment the +OK arrived
    const reply = await b.cmd(`PASS ${PASS}`);
    assert.match(reply, /^\+OK/, `round ${i}: login right after QUIT's +OK: ${reply}`);
    const stat = await b.cmd("STAT");
    assert.ok(stat.startsWith(`+OK ${ROUNDS - i} `), stat);
    a = b;
  }
  assert.match(await a.cmd("QUIT"), /^\+OK/);
}

describe("POP3 QUIT releases the maildrop lock before its +OK: SQLite", () => {
  test("a login right after QUIT's +OK gets the maildrop", async () => {
    const t = await startServer();
    try {
      await reconnectAfterQuit(t);
    } finally {
      await t.close();
    }
  });
});

describe("POP3 QUIT releases the maildrop lock before its +OK: PostgreSQL", {
  skip: !postgresAvailable() && "PostgreSQL binaries missing",
}, () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  test("a login right after QUIT's +OK gets the maildrop", async () => {
    const url = await cluster.createDatabase();
    const open = (dataDir: string): Promise<Store> =>
      openPostgresStore({ url, dataDir, poolSize: 4, pruneDelayMs: null });
    const t = await startServer({ openStore: open });
    try {
      await reconnectAfterQuit(t);
    } finally {
      await t.close();
    }
  });
});
