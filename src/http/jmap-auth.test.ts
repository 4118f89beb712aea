import assert from "node:assert/strict";
import { test } from "node:test";
import type { Authenticator } from "../auth/index.ts";
import { fixture } from "../store/testing/helpers.ts";
import { authenticateJmap, bearerToken, JmapTokens } from "./jmap-auth.ts";

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

test("Basic only over TLS or from loopback; Bearer tokens signed, expiring, tied to the credentials", async () => {
  const f = await fixture();
  try {
    const account = (await f.store.getAccountById(f.accountId))!;
    const calls: string[] = [];
    const auth: Authenticator = {
      async verifyPassword(user, password, ctx) {
        calls.push(`${user}:${password}:${ctx.protocol}:${ctx.remoteAddress}`);
        return password === "right" ? account : null;
      },
    };
    const tokens = new JmapTokens(f.store, 60_000);
    const h = basic(account.address, "right");
    assert.equal(await authenticateJmap(h, { remoteAddress: "192.0.2.1", tls: false }, auth, tokens), null);
    assert.equal(calls.length, 0, "the password is not even checked over plain HTTP from afar");
    assert.equal(
      (await authenticateJmap(h, { remoteAddress: "192.0.2.1", tls: true }, auth, tokens))?.id,
      account.id,
    );
    assert.equal(
      (await authenticateJmap(h, { remoteAddress: "::1", tls: false }, auth, tokens))?.id,
      account.id,
    );
    assert.deepEqual(calls, [`${account.address}:right:http:192.0.2.1`, `${account.address}:right:http:::1`]);

    const { token } = await tokens.issue(account);
    assert.equal(bearerToken(`bearer ${token}`), token);
    const client = { remoteAddress: "192.0.2.1", tls: false };
    assert.equal((await authenticateJmap(`Bearer ${token}`, client, auth, tokens))?.id, account.id);
    // another process with the same store (key from the keys port) accepts it too
    assert.equal((await new JmapTokens(f.store, 60_000).verify(token))?.id, account.id);
    const parts = token.split(".");
    for (const bad of [
      [parts[0], parts[1], parts[2], String(Number(parts[3]) + 1), parts[4]].join("."),
      `${token}x`,
      "pk1.1.1.1",
      "",
    ])
      assert.equal(await tokens.verify(bad), null, bad);
    // expired
    const expired = new JmapTokens(f.store, -1000);
    assert.equal(await tokens.verify((await expired.issue(account)).token), null);
    // a password change voids it
    await f.store.setPassword(account.address, "{PLAIN}new");
    assert.equal(await tokens.verify(token), null);
  } finally {
    await f.close();
  }
});
