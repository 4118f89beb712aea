/**
 * The vendor capability urn:postkontor:params:jmap:account on the real server: announced in the
 * Session; Credentials/changePassword (wrong old password → forbidden, policy → invalidArguments,
 * success → IMAP takes the new password and refuses the old one; the calling webmail session stays,
 * other sessions end); AppPassword/get and /set (create shows the secret once and it logs in to
 * IMAP; destroy revokes it).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { imapClient } from "../e2e/helpers.ts";
import { type HttpE2E, PASS_A, request, startHttpE2E, USER_A } from "../http/helpers.ts";

const ACCOUNT = "urn:postkontor:params:jmap:account";
const USING = ["urn:ietf:params:jmap:core", ACCOUNT];

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are read field by field with asserts
type J = any;

async function imapLogin(e: HttpE2E, pass: string): Promise<boolean> {
  const { client } = imapClient(e, { pass });
  try {
    await client.connect();
    await client.logout();
    return true;
  } catch {
    return false;
  }
}

describe("JMAP account capability", () => {
  let e: HttpE2E;
  let accountId: string;
  let password = PASS_A;
  const basic = () => `Basic ${Buffer.from(`${USER_A}:${password}`).toString("base64")}`;

  async function call(calls: unknown[][], headers: Record<string, string> = { Authorization: basic() }) {
    const r = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/jmap/api",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify({ using: USING, methodCalls: calls }),
    });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body).methodResponses as J[];
  }

  async function webLogin(pass: string): Promise<{ cookie: string; csrf: string }> {
    const r = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/webmail/login",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: USER_A, password: pass }),
    });
    assert.equal(r.status, 200, r.body);
    const c = String(r.headers["set-cookie"]?.[0]);
    return { cookie: c.slice(0, c.indexOf(";")), csrf: JSON.parse(r.body).csrf };
  }

  const sessionStatus = async (cookie: string) =>
    (await request(e.httpsPort, { tls: true, path: "/webmail/session", headers: { Cookie: cookie } })).status;

  before(async () => {
    e = await startHttpE2E({ extraToml: '[auth]\nmin_password_length = 10\nfailure_delay = "0s"\n' });
    const s = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/jmap",
      headers: { Authorization: basic() },
    });
    const session = JSON.parse(s.body);
    accountId = session.primaryAccounts[ACCOUNT];
    assert.deepEqual(session.capabilities[ACCOUNT], {});
    assert.deepEqual(session.accounts[accountId].accountCapabilities[ACCOUNT], {});
  });
  after(async () => {
    await e?.close();
  });

  it("changePassword: a wrong old password is forbidden, a weak new one invalidArguments", async () => {
    const [wrong] = await call([
      [
        "Credentials/changePassword",
        { accountId, oldPassword: "not it", newPassword: "a long good password" },
        "0",
      ],
    ]);
    assert.equal(wrong[0], "error");
    assert.equal(wrong[1].type, "forbidden");
    const [weak] = await call([
      ["Credentials/changePassword", { accountId, oldPassword: password, newPassword: "short" }, "0"],
    ]);
    assert.equal(weak[0], "error");
    assert.equal(weak[1].type, "invalidArguments");
    assert.match(weak[1].description, /too short/);
    const [run] = await call([
      [
        "Credentials/changePassword",
        { accountId, oldPassword: password, newPassword: "abcdefghijklmn" },
        "0",
      ],
    ]);
    assert.equal(run[1].type, "invalidArguments");
    assert.equal(await imapLogin(e, PASS_A), true, "nothing changed");
  });

  it("changePassword: IMAP takes the new password and refuses the old; the calling session stays", async () => {
    const caller = await webLogin(password);
    const other = await webLogin(password);
    const next = "a new and long password";
    const res = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/jmap/api",
      headers: { "Content-Type": "application/json", Cookie: caller.cookie, "X-CSRF-Token": caller.csrf },
      body: JSON.stringify({
        using: USING,
        methodCalls: [
          ["Credentials/changePassword", { accountId, oldPassword: password, newPassword: next }, "0"],
        ],
      }),
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body).methodResponses[0], ["Credentials/changePassword", {}, "0"]);
    const old = password;
    password = next;
    assert.equal(await imapLogin(e, next), true);
    assert.equal(await imapLogin(e, old), false);
    // the calling session is renewed: a new cookie value (same flags), the old value dead
    const set = String(res.headers["set-cookie"]?.[0]);
    assert.match(
      set,
      /^pk_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/,
    );
    const renewed = set.slice(0, set.indexOf(";"));
    assert.notEqual(renewed, caller.cookie);
    assert.equal(await sessionStatus(renewed), 200, "the calling webmail session stays logged in");
    assert.equal(await sessionStatus(caller.cookie), 401, "under a new cookie value only");
    assert.equal(await sessionStatus(other.cookie), 401, "the other session ended");
    // the renewed session keeps its CSRF token and works for JMAP
    const [echo] = await call([["Core/echo", { x: 1 }, "e"]], {
      Cookie: renewed,
      "X-CSRF-Token": caller.csrf,
    });
    assert.deepEqual(echo, ["Core/echo", { x: 1 }, "e"]);
    // over Basic, a password change ends every webmail session
    const third = await webLogin(password);
    const back = "yet another long password";
    const [r2] = await call([
      ["Credentials/changePassword", { accountId, oldPassword: password, newPassword: back }, "0"],
    ]);
    assert.deepEqual(r2, ["Credentials/changePassword", {}, "0"]);
    password = back;
    assert.equal(await sessionStatus(third.cookie), 401);
    assert.equal(await sessionStatus(renewed), 401);
  });

  it("changePassword with an app password as the old one is forbidden", async () => {
    const [created] = await call([["AppPassword/set", { accountId, create: { k: { name: "temp" } } }, "0"]]);
    const secret = created[1].created.k.secret;
    const [r] = await call([
      [
        "Credentials/changePassword",
        { accountId, oldPassword: secret, newPassword: "another long password" },
        "0",
      ],
    ]);
    assert.equal(r[1].type, "forbidden");
    await call([["AppPassword/set", { accountId, destroy: [created[1].created.k.id] }, "0"]]);
  });

  it("AppPassword: create shows the secret once, it logs in to IMAP, get lists it, destroy revokes it", async () => {
    const [set] = await call([["AppPassword/set", { accountId, create: { phone: { name: "Phone" } } }, "0"]]);
    assert.equal(set[0], "AppPassword/set");
    const c = set[1].created.phone;
    assert.match(c.id, /^[A-Za-z0-9_-]+$/);
    assert.equal(c.name, "Phone");
    assert.match(c.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(c.secret, /^[a-z]{4}(-[a-z]{4}){4}$/);
    assert.notEqual(set[1].oldState, set[1].newState);
    assert.equal(await imapLogin(e, c.secret), true);

    const [dup] = await call([["AppPassword/set", { accountId, create: { again: { name: "Phone" } } }, "0"]]);
    assert.equal(dup[1].notCreated.again.type, "invalidProperties");
    const [bad] = await call([
      ["AppPassword/set", { accountId, create: { x: { name: "ok", secret: "mine" } } }, "0"],
    ]);
    assert.equal(bad[1].notCreated.x.type, "invalidProperties");

    const [get] = await call([["AppPassword/get", { accountId, ids: null }, "0"]]);
    assert.equal(typeof get[1].state, "string");
    const listed = get[1].list.find((p: J) => p.id === c.id);
    assert.equal(listed.name, "Phone");
    assert.equal(listed.createdAt, c.createdAt);
    assert.equal(listed.lastUsedBy, "imap", "the IMAP login was recorded");
    assert.match(listed.lastUsedAt, /Z$/);
    assert.equal(listed.secret, undefined, "the secret is never listed");
    assert.deepEqual(get[1].notFound, []);
    const [some] = await call([["AppPassword/get", { accountId, ids: [c.id, "Pnope"] }, "0"]]);
    assert.deepEqual(
      some[1].list.map((p: J) => p.id),
      [c.id],
    );
    assert.deepEqual(some[1].notFound, ["Pnope"]);

    const [upd] = await call([["AppPassword/set", { accountId, update: { [c.id]: { name: "x" } } }, "0"]]);
    assert.equal(upd[1].notUpdated[c.id].type, "forbidden");
    const [del] = await call([["AppPassword/set", { accountId, destroy: [c.id, "Pnope"] }, "0"]]);
    assert.deepEqual(del[1].destroyed, [c.id]);
    assert.equal(del[1].notDestroyed.Pnope.type, "notFound");
    assert.equal(await imapLogin(e, c.secret), false, "revoked at once");
    const [after] = await call([["AppPassword/get", { accountId, ids: null }, "0"]]);
    assert.ok(!after[1].list.some((p: J) => p.id === c.id));
  });

  it("the methods need the capability in using", async () => {
    const r = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/jmap/api",
      headers: { "Content-Type": "application/json", Authorization: basic() },
      body: JSON.stringify({
        using: ["urn:ietf:params:jmap:core"],
        methodCalls: [["AppPassword/get", { accountId, ids: null }, "0"]],
      }),
    });
    assert.equal(JSON.parse(r.body).methodResponses[0][1].type, "unknownMethod");
  });
});
