/**
 * RFC 1939 state rules through the command table (issue 10 item 5): each command answered in each
 * state exactly as before the state became a discriminated union.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PASS, startServer, type TestServer, USER } from "./helpers.ts";

const TRANSACTION_ONLY = ["STAT", "LIST", "UIDL", "RETR 1", "TOP 1 0", "DELE 1", "NOOP", "RSET"];
const AUTHORIZATION_ONLY = ["USER x", "PASS x", "AUTH PLAIN", "STLS", "UTF8"];

describe("POP3 state rules", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ allowPlaintextAuth: true, limits: { maxBadCommands: 100 } });
  });
  after(async () => {
    await t.close();
  });

  test("TRANSACTION commands before login get -ERR Not logged in; USER is kept across them", async () => {
    const c = await t.connect();
    assert.equal(await c.cmd(`USER ${USER}`), "+OK Send your password");
    for (const cmd of TRANSACTION_ONLY) assert.equal(await c.cmd(cmd), "-ERR Not logged in", cmd);
    assert.equal(await c.cmd("FOO"), "-ERR Unknown command");
    assert.equal(await c.cmd(`PASS ${PASS}`), "+OK Logged in, 0 messages");
    assert.equal(await c.cmd("NOOP"), "+OK");
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 0 messages deleted");
  });

  test("AUTHORIZATION commands after login are not valid in this state", async () => {
    const c = await t.login();
    for (const cmd of AUTHORIZATION_ONLY) {
      const kw = cmd.split(" ")[0];
      assert.equal(await c.cmd(cmd), `-ERR ${kw} is not valid in this state`, cmd);
    }
    assert.equal(await c.cmd("RSET"), "+OK Maildrop has 0 messages");
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 0 messages deleted");
  });

  test("QUIT in AUTHORIZATION says Bye without UPDATE; a new login finds the maildrop free", async () => {
    const c = await t.connect();
    assert.equal(await c.cmd(`USER ${USER}`), "+OK Send your password");
    assert.equal(await c.cmd("QUIT"), "+OK Bye");
    const d = await t.login();
    assert.equal(await d.cmd("STAT"), "+OK 0 0");
    assert.equal(await d.cmd("QUIT"), "+OK Bye, 0 messages deleted");
  });
});
