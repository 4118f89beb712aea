/**
 * The POP3 maildrop lock through the store's locks port (RFC 1939 §8, RFC 2449 §8.1.2 [IN-USE]):
 * the session renews its lease while it lives, so a short lease time does not let a second
 * session in; after QUIT the lease is free; the lease is the store's, so anyone holding
 * "pop3/<account id>" through store.locks (another node, the CLI) keeps POP3 out.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PASS, startServer, USER } from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a live session keeps renewing its lease; QUIT frees it", async () => {
  const t = await startServer({ lockTtlMs: 150 });
  try {
    const a = await t.login();
    // several lease times pass: without renewal the lease would have expired
    await sleep(600);
    const b = await t.connect();
    await b.cmd(`USER ${USER}`);
    assert.match(await b.cmd(`PASS ${PASS}`), /^-ERR \[IN-USE\]/);
    assert.equal(await a.cmd("QUIT"), "+OK Bye, 0 messages deleted");
    await a.waitClosed();
    await b.cmd(`USER ${USER}`);
    assert.match(await b.cmd(`PASS ${PASS}`), /^\+OK/);
    await b.cmd("QUIT");
  } finally {
    await t.close();
  }
});

test("a lease taken through store.locks keeps POP3 out until released", async () => {
  const t = await startServer();
  try {
    const lease = await t.store.locks.acquire(`pop3/${t.accountId}`, "another-node/1", 60_000);
    assert.ok(lease);
    const c = await t.connect();
    await c.cmd(`USER ${USER}`);
    assert.match(await c.cmd(`PASS ${PASS}`), /^-ERR \[IN-USE\]/);
    await lease.release();
    await c.cmd(`USER ${USER}`);
    assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK/);
    // while POP3 holds it, nobody else gets it
    assert.equal(await t.store.locks.acquire(`pop3/${t.accountId}`, "another-node/1", 60_000), null);
    await c.cmd("QUIT");
  } finally {
    await t.close();
  }
});
