/**
 * JMAP through the real `serve` process's HTTP listeners: Basic with the account password and with
 * an app password (over HTTPS, with curl too, and plain HTTP from loopback), 401 challenges, login
 * throttling shared with IMAP, Bearer tokens from POST /jmap/token, CORS preflight, and jmap-jam
 * (a JMAP client written by others) end to end.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { deliver, message, tryLogin } from "../e2e/helpers.ts";
import { type HttpE2E, PASS_A, request, startHttpE2E, USER_A, USER_B } from "./helpers.ts";

const run = promisify(execFile);
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"];

interface Jam {
  getPrimaryAccount(): Promise<string>;
  // biome-ignore lint/suspicious/noExplicitAny: read field by field with asserts
  api: { Email: { query(args: any): Promise<[any, any]> } };
}
// jmap-jam's declarations pull in .ts sources with enums (see test/jmap/jam.test.ts)
const JAM = "jmap-jam";
const { default: JamClient } = (await import(JAM)) as {
  default: new (o: { sessionUrl: string; bearerToken: string }) => Jam;
};

describe("JMAP in the HTTP service", () => {
  let e: HttpE2E;
  before(async () => {
    e = await startHttpE2E({
      extraToml: '[auth]\nmin_password_length = 0\nfailure_delay = "0s"\nmax_failures_per_user = 3\n',
    });
    await deliver(e, USER_A, Buffer.from(message("hello jmap", "body\r\n")));
  });
  after(async () => {
    await e?.close();
  });

  it("answers the Session over HTTPS with Basic and the account password (curl)", async () => {
    const out = await run("curl", [
      "-sk",
      "-u",
      `${USER_A}:${PASS_A}`,
      `https://127.0.0.1:${e.httpsPort}/.well-known/jmap`,
    ]);
    const session = JSON.parse(out.stdout);
    assert.equal(session.username, USER_A);
    assert.ok(session.capabilities["urn:ietf:params:jmap:core"]);
    assert.ok(session.apiUrl.startsWith(`https://127.0.0.1:${e.httpsPort}/jmap/api`), session.apiUrl);
  });

  it("refuses missing and wrong credentials with 401 and both challenges", async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: basic(USER_A, "wrong") },
      { authorization: "Bearer x.y" },
    ]) {
      const r = await request(e.httpsPort, { tls: true, path: "/.well-known/jmap", headers });
      assert.equal(r.status, 401);
      const challenges = String(r.headers["www-authenticate"]);
      assert.match(challenges, /Basic realm="jmap"/);
      assert.match(challenges, /Bearer realm="jmap"/);
    }
  });

  it("takes an app password for Basic, and the API answers a query", async () => {
    const add = await e.cli(["user", "app-password", "add", USER_A, "jmap-client"]);
    assert.equal(add.code, 0, add.stderr);
    const secret = add.stdout.toString().trim();
    const session = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { authorization: basic(USER_A, secret) },
    });
    assert.equal(session.status, 200);
    const accountId = JSON.parse(session.body).primaryAccounts["urn:ietf:params:jmap:mail"];
    const r = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/jmap/api",
      headers: { authorization: basic(USER_A, secret), "content-type": "application/json" },
      body: JSON.stringify({ using: USING, methodCalls: [["Email/query", { accountId }, "q"]] }),
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).methodResponses[0][1].ids.length, 1);
    const list = await e.cli(["user", "app-password", "list", USER_A]);
    assert.match(list.stdout.toString(), /jmap-client\t.*http/);
  });

  it("counts bad Basic logins in the throttling IMAP uses", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await request(e.httpsPort, {
        tls: true,
        path: "/.well-known/jmap",
        headers: { authorization: basic(USER_B, `bad-${i}`) },
      });
      assert.equal(r.status, 401);
    }
    // locked for b@ from 127.0.0.1: the right password is refused over JMAP and over IMAP
    const right = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { authorization: basic(USER_B, "pw-b Secret") },
    });
    assert.equal(right.status, 401);
    assert.equal((await tryLogin(e, USER_B, "pw-b Secret")).ok, false);
  });

  it("issues Bearer tokens for Basic credentials only; a tampered token is refused", async () => {
    const t = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/jmap/token",
      headers: { authorization: basic(USER_A, PASS_A) },
    });
    assert.equal(t.status, 200, t.body);
    assert.equal(t.headers["cache-control"], "no-store");
    const { accessToken, tokenType, expiresIn } = JSON.parse(t.body);
    assert.equal(tokenType, "Bearer");
    assert.ok(expiresIn > 0);
    const ok = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).username, USER_A);
    // another account id under the same signature
    const forged = String(accessToken).replace(/^pk1\.\d+\./, "pk1.999.");
    const bad = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { authorization: `Bearer ${forged}` },
    });
    assert.equal(bad.status, 401);
    // a token does not buy another token
    const again = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/jmap/token",
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assert.equal(again.status, 401);
  });

  it("voids tokens when the password changes", async () => {
    const t = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/jmap/token",
      headers: { authorization: basic(USER_A, PASS_A) },
    });
    const { accessToken } = JSON.parse(t.body);
    const passwd = await e.cli(["user", "passwd", USER_A], `${PASS_A}\n`);
    assert.equal(passwd.code, 0, passwd.stderr.toString());
    const r = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assert.equal(r.status, 401);
  });

  it("answers a CORS preflight without credentials and marks JMAP answers for any origin", async () => {
    const pre = await request(e.httpsPort, {
      tls: true,
      method: "OPTIONS",
      path: "/jmap/api",
      headers: {
        origin: "https://webmail.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "*");
    assert.match(String(pre.headers["access-control-allow-headers"]), /Authorization/);
    assert.match(String(pre.headers["access-control-allow-methods"]), /POST/);
    const denied = await request(e.httpsPort, { tls: true, path: "/.well-known/jmap" });
    assert.equal(denied.headers["access-control-allow-origin"], "*");
    // not on the other HTTP resources
    const health = await request(e.httpsPort, { tls: true, path: "/healthz" });
    assert.equal(health.headers["access-control-allow-origin"], undefined);
  });

  it("serves plain HTTP from loopback, and jmap-jam works with a Bearer token", async () => {
    const t = await request(e.httpPort, {
      method: "POST",
      path: "/jmap/token",
      headers: { authorization: basic(USER_A, PASS_A) },
    });
    assert.equal(t.status, 200, t.body);
    const jam = new JamClient({
      sessionUrl: `http://127.0.0.1:${e.httpPort}/.well-known/jmap`,
      bearerToken: JSON.parse(t.body).accessToken,
    });
    const accountId = await jam.getPrimaryAccount();
    const [res] = await jam.api.Email.query({ accountId, filter: { subject: "hello jmap" } });
    assert.equal(res.ids.length, 1);
  });
});
