/**
 * Webmail sessions on the real server: login (password, app password, wrong, throttled → 429),
 * the cookie's flags over HTTPS, GET /webmail/session, logout ending the session server-side,
 * the cookie as JMAP credentials (CSRF: POST without or with a wrong X-CSRF-Token → 403, with it
 * → 200; GET and EventSource with the cookie alone), CORS never passing the cookie, the idle
 * timeout, and a password change ending the sessions.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type HttpE2E, PASS_A, request, startHttpE2E, USER_A, USER_B } from "./helpers.ts";

const PASS_B = "pw-b Secret";

interface Login {
  cookie: string;
  csrf: string;
  setCookie: string;
}

async function login(e: HttpE2E, username: string, password: string): Promise<Login> {
  const r = await request(e.httpsPort, {
    tls: true,
    method: "POST",
    path: "/webmail/login",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  assert.equal(r.status, 200, r.body);
  const setCookie = String(r.headers["set-cookie"]?.[0] ?? "");
  const body = JSON.parse(r.body) as { username: string; csrf: string };
  assert.equal(body.username, username);
  return { cookie: setCookie.slice(0, setCookie.indexOf(";")), csrf: body.csrf, setCookie };
}

function session(e: HttpE2E, cookie: string) {
  return request(e.httpsPort, { tls: true, path: "/webmail/session", headers: { Cookie: cookie } });
}

const ECHO = JSON.stringify({
  using: ["urn:ietf:params:jmap:core"],
  methodCalls: [["Core/echo", { hello: "webmail" }, "0"]],
});

function api(e: HttpE2E, headers: Record<string, string>, body = ECHO) {
  return request(e.httpsPort, {
    tls: true,
    method: "POST",
    path: "/jmap/api",
    headers: { "Content-Type": "application/json", ...headers },
    body,
  });
}

/** the status and content type of a GET whose answer does not end (EventSource), then hang up */
function streamHead(port: number, path: string, cookie: string): Promise<{ status: number; type: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: "127.0.0.1", port, path, headers: { Cookie: cookie }, rejectUnauthorized: false, agent: false },
      (res) => {
        resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]) });
        res.destroy();
      },
    );
    req.on("error", reject);
  });
}

describe("webmail sessions", () => {
  let e: HttpE2E;
  before(async () => {
    e = await startHttpE2E({
      extraToml: '[auth]\nmin_password_length = 0\nfailure_delay = "0s"\nmax_failures_per_user = 3\n',
    });
  });
  after(async () => {
    await e?.close();
  });

  it("login sets a HttpOnly, SameSite=Strict, Secure cookie; /webmail/session answers with it", async () => {
    const l = await login(e, USER_A, PASS_A);
    assert.match(l.setCookie, /^pk_session=[A-Za-z0-9_-]{43}; /);
    for (const flag of ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"])
      assert.ok(l.setCookie.split("; ").includes(flag), `${flag} in ${l.setCookie}`);
    assert.match(l.csrf, /^[A-Za-z0-9_-]{43}$/);
    const s = await session(e, l.cookie);
    assert.equal(s.status, 200);
    assert.deepEqual(JSON.parse(s.body), { username: USER_A, csrf: l.csrf });
    assert.equal(s.headers["cache-control"], "no-store");
    assert.equal((await session(e, "pk_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).status, 401);
    assert.equal((await request(e.httpsPort, { tls: true, path: "/webmail/session" })).status, 401);
  });

  it("over plain HTTP from loopback the cookie has no Secure flag", async () => {
    const r = await request(e.httpPort, {
      method: "POST",
      path: "/webmail/login",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: USER_B, password: PASS_B }),
    });
    assert.equal(r.status, 200);
    assert.ok(!String(r.headers["set-cookie"]?.[0]).includes("Secure"));
  });

  it("wrong password → 401 {detail}; bad bodies → 400/415; no cookie", async () => {
    const bad = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/webmail/login",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: USER_B, password: "wrong" }),
    });
    assert.equal(bad.status, 401);
    assert.equal(typeof JSON.parse(bad.body).detail, "string");
    assert.equal(bad.headers["set-cookie"], undefined);
    const form = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/webmail/login",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `username=${USER_B}&password=${PASS_B}`,
    });
    assert.equal(form.status, 415, "a cross-site form can not log in");
    const junk = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/webmail/login",
      headers: { "Content-Type": "application/json" },
      body: "{not json",
    });
    assert.equal(junk.status, 400);
  });

  it("an app password logs in too", async () => {
    const add = await e.cli(["user", "app-password", "add", USER_A, "browser"]);
    assert.equal(add.code, 0, add.stderr);
    const l = await login(e, USER_A, add.stdout.toString().trim());
    assert.equal((await session(e, l.cookie)).status, 200);
  });

  it("the cookie authenticates JMAP: GETs alone, POSTs only with the CSRF token (else 403)", async () => {
    const l = await login(e, USER_A, PASS_A);
    const s = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { Cookie: l.cookie },
    });
    assert.equal(s.status, 200);
    assert.equal(JSON.parse(s.body).username, USER_A);
    assert.equal(s.headers["access-control-allow-origin"], "*");
    assert.equal(s.headers["access-control-allow-credentials"], undefined);

    const none = await api(e, { Cookie: l.cookie });
    assert.equal(none.status, 403);
    assert.match(String(none.headers["content-type"]), /^application\/problem\+json/);
    // its last character changed (a fixed letter would equal it once in 64 runs)
    const last = l.csrf.endsWith("A") ? "B" : "A";
    const wrong = await api(e, { Cookie: l.cookie, "X-CSRF-Token": `${l.csrf.slice(0, -1)}${last}` });
    assert.equal(wrong.status, 403);
    const ok = await api(e, { Cookie: l.cookie, "X-CSRF-Token": l.csrf });
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body).methodResponses[0], ["Core/echo", { hello: "webmail" }, "0"]);
    const upload = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: `/jmap/upload/${JSON.parse(s.body).primaryAccounts["urn:ietf:params:jmap:core"]}/`,
      headers: { Cookie: l.cookie, "Content-Type": "text/plain" },
      body: "hello",
    });
    assert.equal(upload.status, 403, "an upload needs the token too");

    const es = await streamHead(e.httpsPort, "/jmap/eventsource?types=*&closeafter=no&ping=0", l.cookie);
    assert.equal(es.status, 200);
    assert.match(es.type, /^text\/event-stream/);

    // the preflight does not let another origin send the token header
    const pre = await request(e.httpsPort, { tls: true, method: "OPTIONS", path: "/jmap/api" });
    assert.ok(!String(pre.headers["access-control-allow-headers"]).toLowerCase().includes("csrf"));
    assert.equal(pre.headers["access-control-allow-credentials"], undefined);
  });

  it("Basic keeps working (and wins over a cookie); the token of another session is refused", async () => {
    const a = await login(e, USER_A, PASS_A);
    const b = await login(e, USER_B, PASS_B);
    const basic = `Basic ${Buffer.from(`${USER_B}:${PASS_B}`).toString("base64")}`;
    const r = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { Authorization: basic, Cookie: a.cookie },
    });
    assert.equal(JSON.parse(r.body).username, USER_B);
    assert.equal((await api(e, { Cookie: a.cookie, "X-CSRF-Token": b.csrf })).status, 403);
  });

  it("logout (with the token) ends the session server-side: the old cookie gets 401", async () => {
    const l = await login(e, USER_A, PASS_A);
    const noToken = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/webmail/logout",
      headers: { Cookie: l.cookie },
    });
    assert.equal(noToken.status, 403);
    assert.equal((await session(e, l.cookie)).status, 200, "a logout without the token ends nothing");
    const out = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/webmail/logout",
      headers: { Cookie: l.cookie, "X-CSRF-Token": l.csrf },
    });
    assert.equal(out.status, 204);
    assert.match(String(out.headers["set-cookie"]?.[0]), /^pk_session=; .*Max-Age=0/);
    assert.equal((await session(e, l.cookie)).status, 401);
    const s = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { Cookie: l.cookie },
    });
    assert.equal(s.status, 401);
  });

  it("a password change (admin command) ends the account's sessions", async () => {
    const l = await login(e, USER_B, PASS_B);
    const other = await login(e, USER_A, PASS_A);
    const r = await e.cli(["user", "passwd", USER_B], `${PASS_B} new\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await session(e, l.cookie)).status, 401);
    assert.equal((await session(e, other.cookie)).status, 200, "other accounts' sessions stay");
    const back = await e.cli(["user", "passwd", USER_B], `${PASS_B}\n`);
    assert.equal(back.code, 0, back.stderr);
  });

  it("repeated failures are throttled like IMAP logins: 429", async () => {
    const attempt = () =>
      request(e.httpsPort, {
        tls: true,
        method: "POST",
        path: "/webmail/login",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "nobody@example.test", password: "guess" }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt()).status);
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
    assert.equal(statuses[4], 429, statuses.join(","));
  });
});

describe("webmail sessions: idle timeout", () => {
  let e: HttpE2E;
  before(async () => {
    e = await startHttpE2E({ extraToml: '[webmail]\nsession_idle_timeout = "1s"\n' });
  });
  after(async () => {
    await e?.close();
  });

  it("a session unused for longer than session_idle_timeout is gone", async () => {
    const l = await login(e, USER_A, PASS_A);
    assert.equal((await session(e, l.cookie)).status, 200);
    await sleep(1500);
    assert.equal((await session(e, l.cookie)).status, 401);
  });
});
